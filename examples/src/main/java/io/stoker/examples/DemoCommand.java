package io.stoker.examples;

import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.channel.IdleKind;
import io.stoker.runtime.graph.CompiledGraph;
import io.stoker.runtime.graph.ExecutionRef;
import io.stoker.runtime.graph.GraphOptions;

import java.util.Arrays;
import java.util.Locale;

/**
 * {@code bin/stoker demo}: compiles the 3-actor demo pipeline once, executes it many times, and prints throughput
 * and per-execute overhead next to the eager (future-per-call) path.
 */
public final class DemoCommand {
    private DemoCommand() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        if (Arrays.asList(args).contains("--master")) { // the Spark demo: graphs inside real executors
            return io.stoker.examples.spark.SparkDemo.run(args);
        }
        int executions = 200_000;
        boolean json = false;
        IdleKind idle = IdleKind.BACKOFF;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--json":
                    json = true;
                    break;
                case "--executions":
                    executions = Integer.parseInt(args[++i]);
                    break;
                case "--idle":
                    idle = IdleKind.parse("--idle", args[++i]);
                    break;
                case "--help":
                case "-h":
                    System.out.println("usage: bin/stoker demo [--executions N] [--idle spin|yield|backoff|park] [--json]");
                    return 0;
                default:
                    System.err.println("stoker demo: unknown option '" + args[i] + "' (try --help)");
                    return 2;
            }
        }
        if (executions < 1000) {
            System.err.println("stoker demo: --executions=" + executions + " must be >= 1000");
            return 2;
        }
        String[] texts = new String[1024];
        for (int i = 0; i < texts.length; i++) {
            texts[i] = "  The Quick Brown Fox " + i + " Jumps Over The Lazy Dog  ";
        }
        try (StokerRuntime rt = StokerRuntime.create(RuntimeConfig.defaults().withName("demo").withIdle(idle));
             DemoPipeline p = new DemoPipeline(rt)) {
            int lat = Math.min(executions, 50_000);
            // Eager baseline first, while no graph is installed: one future per actor call.
            int eagerN = Math.min(executions, 20_000);
            for (int i = 0; i < 5_000; i++) {
                p.eager(texts[i & 1023]);
            }
            long[] eager = new long[eagerN];
            for (int i = 0; i < eagerN; i++) {
                long s = System.nanoTime();
                p.eager(texts[i & 1023]);
                eager[i] = System.nanoTime() - s;
            }
            CompiledGraph<String, Double> graph = p.compile(GraphOptions.defaults().withName("demo").withMaxInFlight(64));
            for (int i = 0; i < 20_000; i++) {
                graph.execute(texts[i & 1023]).get();
            }
            // Compiled, one at a time: latency and where it goes.
            long[] latency = new long[lat];
            long overheadSum = 0;
            for (int i = 0; i < lat; i++) {
                ExecutionRef<Double> ref = graph.execute(texts[i & 1023]);
                ref.get();
                latency[i] = ref.timings().totalNanos();
                overheadSum += ref.timings().totalNanos() - ref.timings().computeNanos();
            }
            // Compiled, pipelined: keep the graph's capacity in flight.
            long t0 = System.nanoTime();
            int window = graph.capacity();
            long[] seqs = new long[window];
            for (int i = 0; i < executions; i++) {
                int w = i % window;
                if (i >= window) {
                    graph.await(seqs[w]);
                }
                seqs[w] = graph.submit(texts[i & 1023]);
            }
            for (int i = Math.max(0, executions - window); i < executions; i++) {
                graph.await(seqs[i % window]);
            }
            double pipelinedPerSec = executions / ((System.nanoTime() - t0) / 1e9);
            double compiledP50 = percentile(latency, 50) / 1000.0;
            double compiledP99 = percentile(latency, 99) / 1000.0;
            double eagerP50 = percentile(eager, 50) / 1000.0;
            double overhead = overheadSum / (double) lat / 1000.0;
            long seen = p.normalized();
            if (json) {
                System.out.printf(Locale.ROOT, "{\"pipeline\":\"normalize->tokenize->score\",\"actors\":3,"
                                + "\"executions\":%d,\"compiled_per_sec\":%.0f,\"compiled_p50_us\":%.2f,"
                                + "\"compiled_p99_us\":%.2f,\"overhead_us\":%.2f,\"eager_p50_us\":%.2f,"
                                + "\"speedup_p50\":%.1f,\"normalizer_seen\":%d}%n",
                        executions, pipelinedPerSec, compiledP50, compiledP99, overhead, eagerP50,
                        eagerP50 / compiledP50, seen);
            } else {
                System.out.printf(Locale.ROOT, "stoker demo: 3-actor pipeline normalize -> tokenize -> score,"
                        + " compiled once, executed %,d times pipelined + %,d one at a time%n", executions, lat);
                System.out.printf(Locale.ROOT, "  compiled: %,.0f executes/s pipelined; one at a time p50 %.2f us,"
                        + " p99 %.2f us; runtime overhead %.2f us per execute (latency minus compute)%n",
                        pipelinedPerSec, compiledP50, compiledP99, overhead);
                System.out.printf(Locale.ROOT, "  eager:    p50 %.2f us per execute (a future per actor call, actors"
                        + " idle between calls) -> compiled is %.1fx faster%n", eagerP50, eagerP50 / compiledP50);
                System.out.printf(Locale.ROOT, "  the normalize actor was constructed once and processed %,d texts%n",
                        seen);
            }
            return 0;
        }
    }

    static long percentile(long[] values, double p) {
        long[] s = values.clone();
        Arrays.sort(s);
        int idx = (int) Math.ceil(p / 100.0 * s.length) - 1;
        return s[Math.max(0, Math.min(s.length - 1, idx))];
    }
}
