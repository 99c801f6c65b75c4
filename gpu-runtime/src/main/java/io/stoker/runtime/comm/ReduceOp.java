package io.stoker.runtime.comm;

/** Element-wise reduction applied by {@code allreduce} and {@code reducescatter}. */
public enum ReduceOp {
    SUM, PROD, MIN, MAX
}
