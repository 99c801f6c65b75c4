package io.stoker.runtime.comm;

import java.util.function.Supplier;

/**
 * What a {@link CpuCommunicator} round does with what the ranks bring: which contributions it accepts, how it
 * combines them once every rank has arrived, and what each rank gets back. The rendezvous around it (sequence spaces
 * per graph and per execution, ranks that will never arrive, circular waits between graphs) is the same for every
 * logic. The default moves primitive arrays through host memory ({@link ArrayRounds}); {@link NcclCommunicator} uses
 * the same rendezvous to agree on its NCCL calls before any rank issues one.
 *
 * <p>{@link #combine} runs once per round, on the thread of the last rank to arrive; {@link #share} runs on each
 * rank's own thread.
 */
interface RoundLogic {
    /**
     * @param buffer what rank {@code rank} passed
     * @return the deposit, or a {@link Throwable} that every rank will receive (so an invalid call still takes its
     * place and the ranks stay in step)
     */
    Object validate(Object buffer, int rank, CollectiveKind kind);

    /**
     * Combines the deposits of a round (none of them a throwable).
     *
     * @param what names the round for messages (built only when one is needed: this runs once per round)
     * @return the combined value, or a {@link Throwable} every rank receives (for example: the calls differ)
     */
    Object combine(Supplier<String> what, Object[] deposits, CollectiveKind[] kinds, ReduceOp[] ops);

    /** @return rank {@code rank}'s result from the combined value (never a throwable here) */
    Object share(Object combined, int rank, int world, CollectiveKind kind, Object ownBuffer, boolean inPlace);

    /** Called on a rank's thread while it waits in a blocking call (for example, to keep issuing device work). */
    default void whileWaiting(int rank) {
    }
}
