package io.stoker.spark.plugin;

import java.io.Serializable;
import java.util.Objects;

/**
 * Names one NCCL group whose ranks live on several executors, for the driver's id registry: the driver plugin's
 * session (one per SparkContext, so two applications or two contexts in one JVM never share ids), the group's name
 * (the same on every rank), and its generation (a group formed again after a failure takes the next generation, so a
 * rank never picks up the id of the group's earlier life).
 *
 * @param session    the driver plugin's session token ({@code DriverState.session()})
 * @param group      the group's name, the same on every rank
 * @param generation which life of the group, 0 or more
 */
public record NcclGroupKey(String session, String group, long generation) implements Serializable {
    public NcclGroupKey {
        Objects.requireNonNull(session, "session");
        Objects.requireNonNull(group, "group");
        if (group.isBlank()) {
            throw new IllegalArgumentException("an NCCL group needs a non-blank name (the same on every rank)");
        }
        if (generation < 0) {
            throw new IllegalArgumentException("NCCL group '" + group + "': generation " + generation
                    + " is negative; generations count up from 0");
        }
    }

    @Override
    public String toString() {
        return "NCCL group '" + group + "' (generation " + generation + ")";
    }
}
