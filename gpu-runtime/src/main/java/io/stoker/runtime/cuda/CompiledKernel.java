package io.stoker.runtime.cuda;

/**
 * NVRTC's output for one program and device architecture.
 *
 * @param image  CUBIN (when the architecture is one NVRTC knows) or PTX text (for a newer device: the driver
 *               finishes it)
 * @param cubin  true for CUBIN
 * @param target the {@code --gpu-architecture} value used, e.g. {@code sm_90}
 * @param log    compiler messages (warnings), possibly empty
 */
public record CompiledKernel(byte[] image, boolean cubin, String target, String log) {
}
