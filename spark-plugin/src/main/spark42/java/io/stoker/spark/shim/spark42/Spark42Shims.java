package io.stoker.spark.shim.spark42;

import io.stoker.spark.shim.BaseSparkShims;

/** Shims for Spark 4.2.x (built and tested against 4.2.0). */
public final class Spark42Shims extends BaseSparkShims {
    @Override
    public boolean supports(String sparkVersion) {
        return sparkVersion.startsWith("4.2.");
    }

    @Override
    public String line() {
        return "4.2";
    }
}
