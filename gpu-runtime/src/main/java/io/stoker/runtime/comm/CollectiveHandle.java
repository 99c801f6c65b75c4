package io.stoker.runtime.comm;

/**
 * One rank's part in one collective, advanced without blocking so an actor can keep serving other work while its
 * peers arrive.
 */
public interface CollectiveHandle {
    /**
     * Makes progress if possible.
     *
     * @return true once this rank's result is available
     */
    boolean poll();

    /**
     * @return this rank's result (a new array owned by the caller, or the caller's buffer for in-place calls), or the
     * {@link Throwable} a rank contributed instead of a buffer
     * @throws IllegalStateException before {@link #poll()} returned true
     */
    Object result();
}
