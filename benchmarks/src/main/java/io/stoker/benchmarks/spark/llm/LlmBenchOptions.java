package io.stoker.benchmarks.spark.llm;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Options of {@code bin/stoker bench spark llm}; immutable. {@link #parse} reads the command line (every error names
 * the option and what is allowed), {@link #toArgs} writes it back for the worker JVMs.
 *
 * @param prompts       prompts per timed run
 * @param maxTokens     tokens generated per prompt (greedy, ignore_eos: every prompt generates exactly this many)
 * @param model         a model path (GGUF file or HF directory), or null for the random model
 * @param random        the random model's shape (smollm-135m)
 * @param dtype         the random model's weight type: q8_0 or f32
 * @param master        a local[N] master
 * @param partitions    input partitions; 0 = the master's task slots
 * @param repeat        rounds; each round runs every way once, rotating the order
 * @param ways          the ways to run, in order
 * @param json          print JSON lines only
 * @param warmupPrompts prompts of the untimed warm-up run in each JVM (JIT, engines that persist)
 * @param warmupTokens  tokens per warm-up prompt
 * @param kvCacheMb     KV budget of every engine, MiB
 * @param peerThreads   kernel threads of each engine of ways c and d; 0 = cores / task slots
 * @param engineThreads kernel threads of the engine of way a and of each engine of ways b and e; 0 = auto (cores, or
 *                      the executor's cores divided by its engines)
 * @param llmEngines    engines per executor of ways b and e (the {@code engines} option; they share one loaded
 *                      model); 0 = auto (one CPU engine)
 * @param udfBatchSize  rows per batch of way d (predict_batch_udf's batch_size)
 * @param workerHeap    -Xmx of every worker JVM
 * @param equalizer     run a thread in every worker that wakes every millisecond, as an idle Stoker actor does (see
 *                      {@link LlmWayWorker}): on a shared Linux host this gives every way the same scheduler share
 */
public record LlmBenchOptions(int prompts, int maxTokens, String model, String random, String dtype, String master,
                              int partitions, int repeat, List<Way> ways, boolean json, int warmupPrompts,
                              int warmupTokens, int kvCacheMb, int peerThreads, int engineThreads, int llmEngines,
                              int udfBatchSize, String workerHeap, boolean equalizer) {
    private static final Pattern LOCAL = Pattern.compile("local\\[(\\d+)]");

    public static final String USAGE = String.join("\n",
            "usage: bin/stoker bench spark llm [--prompts 64] [--max-tokens 32] [--model PATH | --random smollm-135m]",
            "         [--dtype q8_0|f32] [--master local[2]] [--partitions N] [--ways a,b,c,d,e] [--repeat 1] [--json]",
            "         [--warmup-prompts 8] [--warmup-tokens 8] [--kv-cache-mb 256] [--peer-threads 0]",
            "         [--engine-threads 0] [--llm-engines 0] [--udf-batch-size 64] [--worker-heap 2g]",
            "         [--no-wakeup-equalizer]",
            "  Runs the same prompts (greedy, ignore_eos) five ways, each in its own JVM:",
            "    a=engine (LlmEngine alone), b=llmMap, c=per-partition (mapPartitions loading an engine per partition),",
            "    d=per-task (one unshared engine per concurrent task, batch by batch, as predict_batch_udf),",
            "    e=sql (llm_generate).",
            "  The issue's full size: --prompts 256 --max-tokens 64 (one round of five ways: about 40 min on a shared",
            "  2-core machine; the default takes about 8 min).",
            "  --random writes a random-weight model once under target/bench-models; --partitions 0 = task slots;",
            "  --peer-threads 0 = cores / task slots (ways c and d); --engine-threads 0 = auto (ways a, b, e);",
            "  --llm-engines N: engines per executor for ways b and e (sharing one model); --repeat R runs R rounds",
            "  in rotating order.",
            "  Each worker runs a thread that wakes every 1 ms, as Stoker's idle actors do, so that on a shared host",
            "  Linux gives every way's JVM the same CPU share; --no-wakeup-equalizer turns it off.",
            "");

    public LlmBenchOptions {
        ways = List.copyOf(ways);
    }

    /** @throws IllegalArgumentException naming the option and what is allowed */
    public static LlmBenchOptions parse(String[] args) {
        int prompts = 64;
        int maxTokens = 32;
        String model = null;
        String random = "smollm-135m";
        String dtype = "q8_0";
        String master = "local[2]";
        int partitions = 0;
        int repeat = 1;
        List<Way> ways = List.of(Way.values());
        boolean json = false;
        int warmupPrompts = 8;
        int warmupTokens = 8;
        int kvCacheMb = 256;
        int peerThreads = 0;
        int engineThreads = 0;
        int llmEngines = 0;
        int udfBatchSize = 64;
        String heap = "2g";
        boolean equalizer = true;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--prompts" -> prompts = positive(a, value(args, ++i, a), 1);
                case "--max-tokens" -> maxTokens = positive(a, value(args, ++i, a), 1);
                case "--model" -> model = value(args, ++i, a);
                case "--random" -> random = value(args, ++i, a);
                case "--dtype" -> dtype = value(args, ++i, a).toLowerCase(Locale.ROOT);
                case "--master" -> master = value(args, ++i, a);
                case "--partitions" -> partitions = positive(a, value(args, ++i, a), 0);
                case "--repeat" -> repeat = positive(a, value(args, ++i, a), 1);
                case "--ways" -> {
                    List<Way> w = new ArrayList<>();
                    for (String s : value(args, ++i, a).split(",")) {
                        w.add(Way.parse(s));
                    }
                    ways = w;
                }
                case "--json" -> json = true;
                case "--warmup-prompts" -> warmupPrompts = positive(a, value(args, ++i, a), 1);
                case "--warmup-tokens" -> warmupTokens = positive(a, value(args, ++i, a), 1);
                case "--kv-cache-mb" -> kvCacheMb = positive(a, value(args, ++i, a), 1);
                case "--peer-threads" -> peerThreads = positive(a, value(args, ++i, a), 0);
                case "--engine-threads" -> engineThreads = positive(a, value(args, ++i, a), 0);
                case "--llm-engines" -> llmEngines = positive(a, value(args, ++i, a), 0);
                case "--udf-batch-size" -> udfBatchSize = positive(a, value(args, ++i, a), 1);
                case "--worker-heap" -> heap = value(args, ++i, a);
                case "--no-wakeup-equalizer" -> equalizer = false;
                default -> throw new IllegalArgumentException("unknown option '" + a + "'");
            }
        }
        if (!random.equals("smollm-135m")) {
            throw new IllegalArgumentException("--random " + random + " is not known; use smollm-135m");
        }
        if (!dtype.equals("q8_0") && !dtype.equals("f32")) {
            throw new IllegalArgumentException("--dtype " + dtype + " must be q8_0 or f32");
        }
        if (!LOCAL.matcher(master).matches()) {
            throw new IllegalArgumentException("--master " + master + " must be local[N] (N >= 1): the benchmark"
                    + " reads the executor's memory and threads in its own JVM");
        }
        if (!heap.matches("\\d+[kKmMgG]")) {
            throw new IllegalArgumentException("--worker-heap " + heap + " must be a JVM size such as 2g or 1536m");
        }
        return new LlmBenchOptions(prompts, maxTokens, model, random, dtype, master, partitions, repeat, ways, json,
                warmupPrompts, warmupTokens, kvCacheMb, peerThreads, engineThreads, llmEngines, udfBatchSize, heap, equalizer);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static int positive(String option, String v, int min) {
        try {
            int x = Integer.parseInt(v.trim());
            if (x >= min) {
                return x;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(option + " " + v + " must be a whole number >= " + min);
    }

    /** @return task slots of the local[N] master */
    public int slots() {
        Matcher m = LOCAL.matcher(master);
        if (!m.matches()) {
            throw new IllegalStateException(master);
        }
        return Math.max(1, Integer.parseInt(m.group(1)));
    }

    /** @return input partitions: the option, or the task slots */
    public int effectivePartitions() {
        return partitions > 0 ? partitions : slots();
    }

    /** @return kernel threads per engine of ways c and d: the option, or cores / task slots (at least 1) */
    public int effectivePeerThreads() {
        return peerThreads > 0 ? peerThreads : Math.max(1, Runtime.getRuntime().availableProcessors() / slots());
    }

    /** @return a copy whose model is this path (the workers get the resolved model) */
    public LlmBenchOptions withModel(String path) {
        return new LlmBenchOptions(prompts, maxTokens, path, random, dtype, master, partitions, repeat, ways, json,
                warmupPrompts, warmupTokens, kvCacheMb, peerThreads, engineThreads, llmEngines, udfBatchSize, workerHeap,
                equalizer);
    }

    /** @return the command line that {@link #parse} reads back to an equal record */
    public List<String> toArgs() {
        List<String> a = new ArrayList<>(List.of("--prompts", str(prompts), "--max-tokens", str(maxTokens),
                "--random", random, "--dtype", dtype, "--master", master, "--partitions", str(partitions),
                "--repeat", str(repeat), "--warmup-prompts", str(warmupPrompts), "--warmup-tokens", str(warmupTokens),
                "--kv-cache-mb", str(kvCacheMb), "--peer-threads", str(peerThreads), "--engine-threads",
                str(engineThreads), "--llm-engines", str(llmEngines), "--udf-batch-size",
                str(udfBatchSize), "--worker-heap", workerHeap));
        if (model != null) {
            a.addAll(List.of("--model", model));
        }
        List<String> w = new ArrayList<>();
        ways.forEach(x -> w.add(x.id()));
        a.addAll(List.of("--ways", String.join(",", w)));
        if (json) {
            a.add("--json");
        }
        if (!equalizer) {
            a.add("--no-wakeup-equalizer");
        }
        return a;
    }

    private static String str(int x) {
        return Integer.toString(x);
    }
}
