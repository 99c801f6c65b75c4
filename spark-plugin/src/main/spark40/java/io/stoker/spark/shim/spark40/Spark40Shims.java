package io.stoker.spark.shim.spark40;

import io.stoker.spark.shim.BaseSparkShims;

/** Shims for Spark 4.0.x (built and tested against 4.0.4). */
public final class Spark40Shims extends BaseSparkShims {
    @Override
    public boolean supports(String sparkVersion) {
        return sparkVersion.startsWith("4.0.");
    }

    @Override
    public String line() {
        return "4.0";
    }
}
