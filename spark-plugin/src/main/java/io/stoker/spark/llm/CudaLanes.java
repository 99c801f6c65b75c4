package io.stoker.spark.llm;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.backend.DeviceErrors;
import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.runtime.cuda.Cuda;
import io.stoker.runtime.cuda.DeviceOutOfMemoryException;

/**
 * The CUDA side of an executor's LLM processor, kept in its own class: only a processor that runs on GPUs calls it,
 * so a CPU executor never loads a GPU class.
 */
final class CudaLanes {
    private CudaLanes() {
    }

    /** @return null when a CUDA device (or the simulator, {@code -Dstoker.cuda=sim}) is usable; else why not */
    static String unavailableReason() {
        try {
            if (Cuda.isAvailable()) {
                return null;
            }
            return "the CUDA driver reports " + Cuda.deviceCount() + " devices";
        } catch (RuntimeException | LinkageError e) {
            return e.getMessage();
        }
    }

    /**
     * Builds an engine on the GPU with this Spark address; the calling thread (the lane's engine actor) becomes the
     * owner of the device and must run every step.
     */
    static LlmEngine newEngine(LoadedModel model, EngineConfig cfg, String gpuAddress) {
        return LlmEngine.local(model, cfg.withBackend("cuda:" + gpuAddress).withThreads(1));
    }

    /** @return true for a sticky CUDA error after which this process cannot use the device */
    static boolean isFatal(Throwable t) {
        return DeviceErrors.isFatal(t);
    }

    /** @return the error of a row whose engine step failed on the device with a non-fatal error */
    static String stepError(Throwable e, String device) {
        boolean oom = false;
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            oom |= c instanceof DeviceOutOfMemoryException
                    || (c.getMessage() != null && c.getMessage().contains("OUT_OF_MEMORY"));
        }
        String what = oom ? "ran out of device memory" : "failed";
        return "the engine step running this row " + what + " on " + device + " (" + e + "); this row was not"
                + " generated, the other rows are unaffected"
                + (oom ? "; lower max_num_seqs, max_batch_tokens or kv_cache_mb, or use a GPU with more free memory"
                : "; rerun the row");
    }
}
