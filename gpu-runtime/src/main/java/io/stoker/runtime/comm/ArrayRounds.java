package io.stoker.runtime.comm;

import java.util.function.Supplier;

/** The {@link RoundLogic} of host collectives: primitive arrays, reduced or concatenated once, copied out per rank. */
final class ArrayRounds implements RoundLogic {
    private final String name;

    ArrayRounds(String name) {
        this.name = name;
    }

    @Override
    public Object validate(Object buffer, int rank, CollectiveKind kind) {
        if (buffer instanceof Throwable || ArrayMath.isSupported(buffer)) {
            return buffer;
        }
        try {
            ArrayMath.checkSupported(buffer, "communicator '" + name + "' rank " + rank + " " + kind.label());
            return buffer;
        } catch (CollectiveException e) {
            return e;
        }
    }

    @Override
    public Object combine(Supplier<String> what, Object[] parts, CollectiveKind[] kinds, ReduceOp[] ops) {
        for (int i = 1; i < parts.length; i++) {
            if (kinds[i] != kinds[0] || (kinds[0] != CollectiveKind.ALLGATHER && ops[i] != ops[0])
                    || parts[i].getClass() != parts[0].getClass()
                    || ArrayMath.length(parts[i]) != ArrayMath.length(parts[0])) {
                return new CollectiveException("communicator '" + name + "' " + what.get() + ": rank 0 called "
                        + kinds[0].label() + "(" + ops[0] + ", " + ArrayMath.describe(parts[0]) + ") but rank " + i
                        + " called " + kinds[i].label() + "(" + ops[i] + ", " + ArrayMath.describe(parts[i])
                        + "); every rank must make the same calls in the same order");
            }
        }
        switch (kinds[0]) {
            case ALLGATHER:
                return ArrayMath.concat(parts);
            case REDUCESCATTER:
                if (ArrayMath.length(parts[0]) % parts.length != 0) {
                    return new CollectiveException("communicator '" + name + "' reducescatter: length "
                            + ArrayMath.length(parts[0]) + " is not divisible by world size " + parts.length);
                }
                return ArrayMath.reduce(ops[0], parts);
            default:
                return ArrayMath.reduce(ops[0], parts);
        }
    }

    @Override
    public Object share(Object scratch, int rank, int world, CollectiveKind kind, Object buffer, boolean inPlace) {
        switch (kind) {
            case REDUCESCATTER: {
                int chunk = ArrayMath.length(scratch) / world;
                return ArrayMath.slice(scratch, rank * chunk, chunk);
            }
            case ALLREDUCE:
                if (inPlace) {
                    System.arraycopy(scratch, 0, buffer, 0, ArrayMath.length(scratch));
                    return buffer;
                }
                return ArrayMath.copy(scratch);
            default:
                return ArrayMath.copy(scratch);
        }
    }
}
