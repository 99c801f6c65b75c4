package io.stoker.benchmarks.graph;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The floor for any cross-thread call on this machine: a bare two-thread spin ping-pong through two volatile
 * counters (no runtime at all). Reported next to the graph benchmarks so their numbers can be read against it.
 */
@State(Scope.Benchmark)
public class PingPongBenchmark {
    private final AtomicLong ping = new AtomicLong();
    private final AtomicLong pong = new AtomicLong();
    private volatile boolean running;
    private Thread echo;
    private long next;

    @Setup(Level.Trial)
    public void start() {
        running = true;
        echo = new Thread(() -> {
            long seen = 0;
            while (running) {
                long p = ping.get();
                if (p != seen) {
                    seen = p;
                    pong.lazySet(p);
                } else {
                    Thread.onSpinWait();
                }
            }
        }, "pingpong-echo");
        echo.setDaemon(true);
        echo.start();
    }

    @TearDown(Level.Trial)
    public void stop() throws InterruptedException {
        running = false;
        echo.join();
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long roundTrip() {
        long n = ++next;
        ping.lazySet(n);
        while (pong.get() != n) {
            Thread.onSpinWait();
        }
        return n;
    }
}
