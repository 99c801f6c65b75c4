package io.stoker.runtime.graph;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/** Small actor classes shared by the graph tests. */
final class Actors {
    private Actors() {
    }

    /** Adds a fixed amount; counts its calls. */
    static final class Adder {
        final int amount;
        int calls;

        Adder(int amount) {
            this.amount = amount;
        }

        Integer add(Integer x) {
            calls++;
            return x + amount;
        }

        Integer sum(Integer a, Integer b) {
            return a + b;
        }

        Integer sum3(Integer a, Integer b, Integer c) {
            return a + b + c;
        }

        Integer calls() {
            return calls;
        }

        Object[] divmod(Integer x) {
            return new Object[]{x / amount, x % amount};
        }

        String nothing(Integer x) {
            return null;
        }

        Integer failIfNegative(Integer x) {
            if (x < 0) {
                throw new IllegalArgumentException("negative input " + x);
            }
            return x;
        }
    }

    /** Records the order of calls across actors. */
    static final class Recorder {
        final String name;
        final List<String> log;

        Recorder(String name, List<String> log) {
            this.name = name;
            this.log = log;
        }

        Integer record(Integer x) {
            synchronized (log) {
                log.add(name + ":" + x);
            }
            return x;
        }
    }

    /** Blocks until released, to hold an execution in flight. */
    static final class Gate {
        volatile CountDownLatch latch = new CountDownLatch(1);
        final AtomicInteger entered = new AtomicInteger();

        Integer pass(Integer x) throws InterruptedException {
            entered.incrementAndGet();
            latch.await();
            return x;
        }

        void open() {
            latch.countDown();
        }
    }

    /** Makes float arrays for collectives. */
    static final class Vec {
        final int rank;

        Vec(int rank) {
            this.rank = rank;
        }

        float[] make(Integer x) {
            return new float[]{x + rank, 10 * rank, 1, -rank};
        }

        float[] identity(float[] v) {
            return v;
        }

        float[] plusOne(float[] v) {
            float[] o = v.clone();
            for (int i = 0; i < o.length; i++) {
                o[i] += 1;
            }
            return o;
        }

        List<Float> toList(float[] v) {
            List<Float> l = new ArrayList<>();
            for (float f : v) {
                l.add(f);
            }
            return l;
        }
    }
}
