package io.stoker.spark.config;

/**
 * Options of one actor pool declared in configuration: {@code spark.stoker.pool.<name>.<suffix>}. Pool names use
 * letters, digits, '_' and '-'.
 */
public enum PoolOption {
    CLASS("class", "",
            "Actor class (required). Public constructor taking io.stoker.spark.actor.ActorEnv, "
                    + "io.stoker.runtime.actor.ActorContext, or nothing (tried in that order)."),
    COUNT("count", "auto",
            "Actors per executor: a number >= 1, or auto (one per gpus-sized group of the executor's GPUs; 1 without"
                    + " GPUs)."),
    GPUS("gpus", "0",
            "GPUs pinned to each actor when the executor has GPUs; with none configured the actors run on CPU."),
    CPUS("cpus", "0",
            "CPU slots each actor reserves against spark.stoker.runtime.cpus."),
    EAGER("eager", "false",
            "true: construct the pool when the executor starts (a failure there fails the application); false: at"
                    + " the first task that uses it."),
    ARTIFACTS("artifacts", "",
            "Comma-separated alias=URI list of files or directories (file://, hdfs://, s3a://...) fetched once per"
                    + " executor before the actors start; append #sha256=<hex> to a file URI to pin its checksum."),
    PROPERTY("property.<key>", "",
            "Free-form string passed to the actors (ActorEnv.properties(), ActorContext.properties()).");

    /** {@code spark.stoker.pool.} */
    public static final String PREFIX = StokerOption.PREFIX + "pool.";

    private final String suffix;
    private final String defaultValue;
    private final String doc;

    PoolOption(String suffix, String defaultValue, String doc) {
        this.suffix = suffix;
        this.defaultValue = defaultValue;
        this.doc = doc;
    }

    /** @return the part after {@code spark.stoker.pool.<name>.} */
    public String suffix() {
        return suffix;
    }

    public String defaultValue() {
        return defaultValue;
    }

    public String doc() {
        return doc;
    }

    /** @return the full key for pool {@code pool} */
    public String key(String pool) {
        return PREFIX + pool + "." + suffix;
    }

    /** @return the option with this suffix (or "property.*"), or null */
    public static PoolOption bySuffix(String suffix) {
        if (suffix.startsWith("property.") && suffix.length() > "property.".length()) {
            return PROPERTY;
        }
        for (PoolOption o : values()) {
            if (o != PROPERTY && o.suffix.equals(suffix)) {
                return o;
            }
        }
        return null;
    }
}
