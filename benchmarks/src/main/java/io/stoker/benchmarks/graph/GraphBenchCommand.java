package io.stoker.benchmarks.graph;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.runner.format.OutputFormat;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.VerboseMode;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code bin/stoker bench graph}: runs {@link GraphBenchmark} under JMH (one fork, GC profiler on) and prints one
 * line per shape, mode and caller count; with {@code --json} each line is a JSON object with {@code shape},
 * {@code mode}, {@code callers}, {@code p50_us}, {@code p99_us}, {@code per_sec} and {@code alloc_bytes_per_op}.
 * JMH's own log goes to stderr.
 */
public final class GraphBenchCommand {
    /** JMH's human-readable log goes to stderr, keeping stdout for the result lines. */
    private static final OutputFormat LOG = OutputFormatFactory.createFormatInstance(System.err, VerboseMode.NORMAL);

    private GraphBenchCommand() {
    }

    public static void main(String[] args) throws RunnerException {
        boolean json = false;
        boolean quick = false;
        String shapes = "single,chain4,scatter_gather4";
        String modes = "compiled,eager";
        String idle = "backoff";
        boolean twoCallers = true;
        boolean pingPong = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--json": json = true; break;
                case "--quick": quick = true; break;
                case "--shapes": shapes = args[++i]; break;
                case "--modes": modes = args[++i]; break;
                case "--idle": idle = args[++i]; break;
                case "--no-two-callers": twoCallers = false; break;
                case "--no-pingpong": pingPong = false; break;
                case "--help":
                case "-h":
                    System.out.println("usage: bin/stoker bench graph [--json] [--quick] [--shapes single,chain4,"
                            + "scatter_gather4] [--modes compiled,eager] [--idle spin|yield|backoff|park]"
                            + " [--no-two-callers] [--no-pingpong]  (--idle takes a comma-separated list)");
                    return;
                default:
                    System.err.println("stoker bench graph: unknown option '" + args[i] + "' (try --help)");
                    System.exit(2);
            }
        }
        String methods = twoCallers ? "(latency|pipelined|latencyTwoCallers|pipelinedTwoCallers)" : "(latency|pipelined)";
        ChainedOptionsBuilder opt = new OptionsBuilder()
                .include(GraphBenchmark.class.getName() + "\\." + methods + "$")
                .param("shape", shapes.split(","))
                .param("mode", modes.split(","))
                .param("idle", idle.split(","))
                .forks(1)
                .warmupIterations(quick ? 1 : 3).warmupTime(TimeValue.seconds(1))
                .measurementIterations(quick ? 2 : 5).measurementTime(TimeValue.seconds(quick ? 1 : 2))
                .addProfiler(GCProfiler.class);
        Collection<RunResult> results = new Runner(opt.build(), LOG).run();

        Map<String, ObjectNode> rows = new LinkedHashMap<>();
        ObjectMapper mapper = new ObjectMapper();
        for (RunResult r : results) {
            String method = r.getParams().getBenchmark().replaceAll(".*\\.", "");
            String shape = r.getParams().getParam("shape");
            String mode = r.getParams().getParam("mode");
            int callers = method.endsWith("TwoCallers") ? 2 : 1;
            String idleKind = r.getParams().getParam("idle");
            ObjectNode row = rows.computeIfAbsent(shape + "/" + mode + "/" + callers + "/" + idleKind, k -> {
                ObjectNode o = mapper.createObjectNode();
                o.put("shape", shape);
                o.put("mode", mode);
                o.put("callers", callers);
                o.put("idle", r.getParams().getParam("idle"));
                return o;
            });
            Double alloc = alloc(r);
            if (method.startsWith("latency")) {
                var stats = r.getPrimaryResult().getStatistics();
                row.put("p50_us", round(stats.getPercentile(50)));
                row.put("p99_us", round(stats.getPercentile(99)));
                if (alloc != null) {
                    row.put("alloc_bytes_per_op", round(alloc));
                }
            } else {
                row.put("per_sec", Math.round(r.getPrimaryResult().getScore()));
                if (alloc != null) {
                    row.put("pipelined_alloc_bytes_per_op", round(alloc));
                }
            }
        }
        if (pingPong) {
            Collection<RunResult> pp = new Runner(new OptionsBuilder()
                    .include(PingPongBenchmark.class.getName() + "\\.roundTrip$")
                    .forks(1)
                    .warmupIterations(quick ? 1 : 3).warmupTime(TimeValue.seconds(1))
                    .measurementIterations(quick ? 2 : 5).measurementTime(TimeValue.seconds(quick ? 1 : 2))
                    .build(), LOG).run();
            for (RunResult r : pp) {
                var stats = r.getPrimaryResult().getStatistics();
                ObjectNode o = mapper.createObjectNode();
                o.put("shape", "pingpong");
                o.put("mode", "bare");
                o.put("callers", 1);
                o.put("idle", "spin");
                o.put("p50_us", round(stats.getPercentile(50)));
                o.put("p99_us", round(stats.getPercentile(99)));
                rows.put("pingpong", o);
            }
        }
        List<ObjectNode> ordered = new ArrayList<>(rows.values());
        for (ObjectNode o : ordered) {
            if (json) {
                System.out.println(o.toString());
            } else {
                System.out.printf("%-16s %-8s %-8s callers=%d  p50=%8.2f us  p99=%8.2f us  %,12d/s  alloc=%.1f B/op%n",
                        o.path("shape").asText(), o.path("mode").asText(), o.path("idle").asText(),
                        o.path("callers").asInt(),
                        o.path("p50_us").asDouble(), o.path("p99_us").asDouble(), o.path("per_sec").asLong(),
                        o.path("alloc_bytes_per_op").asDouble());
            }
        }
    }

    private static Double alloc(RunResult r) {
        for (Map.Entry<String, Result> e : r.getSecondaryResults().entrySet()) {
            if (e.getKey().endsWith("gc.alloc.rate.norm")) {
                return e.getValue().getScore();
            }
        }
        return null;
    }

    private static double round(double v) {
        return Math.round(v * 100.0) / 100.0;
    }
}
