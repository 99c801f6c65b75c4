package io.stoker.runtime.cuda;

/** NVRTC rejected a program; {@link #log()} holds the compiler's messages (also in the exception message). */
public final class NvrtcCompileException extends CudaException {
    private static final long serialVersionUID = 1L;

    private final String program;
    private final String log;

    public NvrtcCompileException(String program, int code, String errorName, String log) {
        super("NVRTC could not compile " + program + ": " + errorName + "\n" + log, "nvrtc", "nvrtcCompileProgram",
                code, errorName);
        this.program = program;
        this.log = log;
    }

    public String program() {
        return program;
    }

    public String log() {
        return log;
    }
}
