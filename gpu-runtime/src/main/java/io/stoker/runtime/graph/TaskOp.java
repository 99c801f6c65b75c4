package io.stoker.runtime.graph;

import io.stoker.runtime.channel.ChannelReader;
import io.stoker.runtime.channel.ChannelWriter;
import io.stoker.runtime.comm.CollectiveHandle;

/**
 * One step of an actor's schedule for one graph: read every distinct upstream value, compute (a method call, a
 * function, or this rank's part of a collective), write the result to every downstream channel and graph output.
 * All arrays are allocated at compile time and reused for every execution. Used only by the actor's thread; the
 * fields it writes per execution are padded off the neighbouring ops, which may belong to other actors
 * ({@link io.stoker.runtime.internal.CacheLines}).
 */
final class TaskOp extends TaskOpStatePad {
    final int nodeId;
    final String label;
    final String actorName;
    final String methodName;

    final ChannelReader<Object>[] sources;
    final String[] sourceLabels;
    final Object[] sourceValues;

    /**
     * Per argument: index into {@link #sources} and the projection to apply (null: the whole value), or -1 and the
     * constant in {@link #argConstant}.
     */
    final int[] argSource;
    final Projection[] argProjection;
    final Object[] argConstant;
    final Object[] args;

    final Invoker invoker;
    final CollectiveGroup collective;
    final int rank;

    final ChannelWriter<Object>[] outputs;
    final String[] outputLabels;
    final int[] resultIndex;
    final Projection[] resultProjection;
    /** This op's end of a cross-process edge, released when the program is removed; or null. */
    final RemoteEnd remoteEnd;

    TaskOp(int nodeId, String label, String actorName, String methodName, ChannelReader<Object>[] sources,
           String[] sourceLabels, int[] argSource, Projection[] argProjection, Object[] argConstant, Invoker invoker,
           CollectiveGroup collective, int rank, ChannelWriter<Object>[] outputs, String[] outputLabels,
           int[] resultIndex, Projection[] resultProjection, RemoteEnd remoteEnd) {
        this.nodeId = nodeId;
        this.label = label;
        this.actorName = actorName;
        this.methodName = methodName;
        this.sources = sources;
        this.sourceLabels = sourceLabels;
        this.sourceValues = new Object[sources.length];
        this.argSource = argSource;
        this.argProjection = argProjection;
        this.argConstant = argConstant;
        this.args = new Object[argSource.length];
        this.invoker = invoker;
        this.collective = collective;
        this.rank = rank;
        this.outputs = outputs;
        this.outputLabels = outputLabels;
        this.resultIndex = resultIndex;
        this.resultProjection = resultProjection;
        this.remoteEnd = remoteEnd;
    }

    /**
     * Reads upstream values in order, keeping what was read across calls.
     *
     * @return true once every source was read for the current execution
     */
    boolean readInputs(long seq) {
        int i = sourcesRead;
        ChannelReader<Object>[] src = sources;
        while (i < src.length) {
            Object v;
            try {
                v = src[i].poll();
            } catch (RuntimeException e) {
                // a GPU channel could not deliver (e.g. no device memory for the copy): this execution fails here
                v = new TaskFailure(actorName, methodName, label, seq, new IllegalStateException("reading "
                        + sourceLabels[i] + ": " + e.getMessage(), e));
            }
            if (v == null) {
                sourcesRead = i;
                return false;
            }
            sourceValues[i++] = v;
        }
        sourcesRead = i;
        return true;
    }

    boolean hasPendingInput() {
        return pending != null || (sourcesRead < sources.length && sources[sourcesRead].hasValue());
    }

    /** @return the first failure among the inputs, or null */
    TaskFailure upstreamFailure() {
        for (Object v : sourceValues) {
            if (v instanceof TaskFailure) {
                return (TaskFailure) v;
            }
        }
        return null;
    }

    /** Fills {@link #args} from the source values; a projection error becomes this task's failure. */
    TaskFailure bindArgs(long seq) {
        for (int a = 0; a < args.length; a++) {
            if (argSource[a] < 0) {
                args[a] = argConstant[a];
                continue;
            }
            Object v = NullValue.unwrap(sourceValues[argSource[a]]);
            Projection p = argProjection[a];
            if (p != null) {
                try {
                    v = p.apply(v);
                } catch (RuntimeException e) {
                    return new TaskFailure(actorName, methodName, label, seq,
                            new IllegalArgumentException("argument " + a + " (" + sourceLabels[argSource[a]]
                                    + p.describe() + "): " + e.getMessage(), e));
                }
            }
            args[a] = v;
        }
        return null;
    }

    /** Drops references to this execution's values so large payloads are not retained. */
    void reset() {
        sourcesRead = 0;
        java.util.Arrays.fill(sourceValues, null);
        java.util.Arrays.fill(args, null);
    }
}

/** Padding before {@link TaskOpState}. */
abstract class TaskOpPad {
    @SuppressWarnings("unused")
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
}

/** What a {@link TaskOp} writes per execution. */
abstract class TaskOpState extends TaskOpPad {
    int sourcesRead;
    CollectiveHandle pending;
    long startNanos;
}

/** Padding after {@link TaskOpState}. */
abstract class TaskOpStatePad extends TaskOpState {
    @SuppressWarnings("unused")
    long q00, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11, q12, q13, q14, q15;
}
