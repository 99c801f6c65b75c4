package io.stoker.runtime.actor;

/**
 * What an actor needs from its host: CPU slots (fractional allowed, accounted against the runtime's CPU capacity)
 * and whole GPUs (assigned from the runtime's GPU ids; each GPU goes to one actor at a time).
 *
 * @param cpus CPU slots, {@code >= 0}
 * @param gpus whole GPUs, {@code >= 0}
 */
public record Resources(double cpus, int gpus) {
    /** No reserved CPU slot and no GPU: the default for helper actors. */
    public static final Resources NONE = new Resources(0, 0);

    public Resources {
        if (!(cpus >= 0) || Double.isInfinite(cpus)) {
            throw new IllegalArgumentException("cpus=" + cpus + " must be a finite number >= 0");
        }
        if (gpus < 0) {
            throw new IllegalArgumentException("gpus=" + gpus + " must be >= 0");
        }
    }

    public static Resources cpus(double cpus) {
        return new Resources(cpus, 0);
    }

    public static Resources gpus(int gpus) {
        return new Resources(0, gpus);
    }
}
