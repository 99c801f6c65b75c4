package io.stoker.spark.batch;

import io.stoker.spark.llm.Llm;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The command line of {@code bin/stoker batch}, parsed and validated. Names follow {@code vllm run-batch} where they
 * overlap ({@code -i/--input-file}, {@code -o/--output-file}, {@code --model}, {@code --served-model-name}).
 * Immutable.
 */
record BatchArguments(String input, String output, String model, List<String> servedModelNames, String baseUrl,
                      String apiKeyEnv, int maxTokens, double temperature, Long seed, Map<String, String> llmOptions,
                      String master, Map<String, String> sparkConf, int partitions, int commitRows, int maxLineBytes,
                      boolean overwrite, boolean json, boolean quiet, boolean verbose, boolean help) {

    static final String USAGE = """
            usage: bin/stoker batch -i requests.jsonl -o results.jsonl --model M [options]
              Runs an OpenAI Batch input file through Spark (a distributed vllm run-batch) and writes ONE output
              file of OpenAI Batch output lines, in input order. Rerunning with the same -o resumes: lines answered
              before are kept, the rest (errors included) are run. Paths are Hadoop FS URIs (file:, hdfs:, s3a:...).

              -i, --input-file PATH        request JSONL: {"custom_id", "method": "POST", "url", "body"} per line;
                                           url /v1/chat/completions or /v1/completions
              -o, --output-file PATH       the output JSONL file (its resume state: PATH.stoker-batch/ while running)
              --model M                    the model: a local path, a file:/hdfs:/s3a: URI, or 'demo'
              --served-model-name N,...    model names requests may give (default: the --model value); others get
                                           404 model_not_found
              --base-url URL               send the requests to an OpenAI-compatible server instead (HTTP backend)
              --api-key-env VAR            with --base-url: the environment variable holding the API key
              --max-tokens N               max_tokens of requests that set none (default 128)
              --temperature T              temperature of requests that set none (default 1, as OpenAI)
              --seed S                     requests without a seed get one derived from S and their prompt
              --llm-option KEY=VALUE       any llmMap option (kv_cache_mb, max_num_seqs, threads, ...), repeatable
              --master URL                 Spark master (default: spark-submit's, else local[*])
              --conf KEY=VALUE             a Spark setting, repeatable
              --partitions N               cut the input into at least N partitions (default: 2 x the cores)
              --commit-rows N              rows per committed part (default 256): the most an interruption loses
                                           per running task
              --max-line-bytes N           longest request line (default 8388608); longer lines get an error line
              --overwrite                  start over: replace the output instead of resuming it
              --json                       print the summary as one JSON object
              --quiet                      no progress lines on stderr
              --verbose                    Spark's and Stoker's INFO logs on stderr
            """;

    static BatchArguments parse(List<String> args) {
        String input = null;
        String output = null;
        String model = null;
        List<String> served = new ArrayList<>();
        String baseUrl = null;
        String apiKeyEnv = null;
        int maxTokens = 128;
        double temperature = 1.0;
        Long seed = null;
        Map<String, String> llmOptions = new LinkedHashMap<>();
        String master = null;
        Map<String, String> conf = new LinkedHashMap<>();
        int partitions = 0;
        int commitRows = 256;
        int maxLineBytes = ReadOptions.DEFAULT_MAX_LINE_BYTES;
        boolean overwrite = false;
        boolean json = false;
        boolean quiet = false;
        boolean verbose = false;
        boolean help = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String v = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                v = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            switch (a) {
                case "-h", "--help" -> help = true;
                case "--overwrite" -> overwrite = true;
                case "--json" -> json = true;
                case "--quiet" -> quiet = true;
                case "--verbose" -> verbose = true;
                default -> {
                    if (v == null) {
                        if (i + 1 >= args.size()) {
                            throw new IllegalArgumentException(a + " needs a value");
                        }
                        v = args.get(++i);
                    }
                    switch (a) {
                        case "-i", "--input-file" -> input = v;
                        case "-o", "--output-file" -> output = v;
                        case "--model" -> model = v;
                        case "--served-model-name" -> {
                            for (String s : v.split(",")) {
                                if (!s.isBlank()) {
                                    served.add(s.trim());
                                }
                            }
                        }
                        case "--base-url" -> baseUrl = v;
                        case "--api-key-env" -> apiKeyEnv = v;
                        case "--max-tokens" -> maxTokens = (int) whole(a, v, 1, Integer.MAX_VALUE);
                        case "--temperature" -> temperature = number(a, v);
                        case "--seed" -> seed = whole(a, v, Long.MIN_VALUE, Long.MAX_VALUE);
                        case "--llm-option" -> put(llmOptions, a, v);
                        case "--master" -> master = v;
                        case "--conf" -> put(conf, a, v);
                        case "--partitions" -> partitions = (int) whole(a, v, 1, 1_000_000);
                        case "--commit-rows" -> commitRows = (int) whole(a, v, 1, Integer.MAX_VALUE);
                        case "--max-line-bytes" -> maxLineBytes = (int) whole(a, v, 16, Integer.MAX_VALUE - 16);
                        default -> throw new IllegalArgumentException("unknown option " + a);
                    }
                }
            }
        }
        if (!help) {
            List<String> missing = new ArrayList<>();
            if (input == null) {
                missing.add("-i (the request file)");
            }
            if (output == null) {
                missing.add("-o (the output file)");
            }
            if (model == null) {
                missing.add("--model");
            }
            if (!missing.isEmpty()) {
                throw new IllegalArgumentException("missing " + String.join(", ", missing));
            }
            if (apiKeyEnv != null && baseUrl == null) {
                throw new IllegalArgumentException("--api-key-env goes with --base-url (the HTTP backend)");
            }
        }
        return new BatchArguments(input, output, model, List.copyOf(served), baseUrl, apiKeyEnv, maxTokens,
                temperature, seed, Map.copyOf(llmOptions), master, Map.copyOf(conf), partitions, commitRows,
                maxLineBytes, overwrite, json, quiet, verbose, help);
    }

    /**
     * The call this command makes. With {@code --base-url} only this changes: an OpenAI-compatible server instead of
     * the local engine (the key from {@code --api-key-env}, read on the executors).
     *
     * @throws io.stoker.spark.llm.LlmConfigException naming every bad {@code --llm-option}
     */
    Llm llm() {
        Llm llm = baseUrl != null ? Llm.openai(baseUrl, model) : Llm.model(localModelPath(model));
        if (baseUrl != null && apiKeyEnv != null) {
            llm = llm.apiKeyEnv(apiKeyEnv);
        }
        llm = llm.maxTokens(maxTokens).temperature(temperature);
        if (seed != null) {
            llm = llm.seed(seed);
        }
        for (Map.Entry<String, String> e : llmOptions.entrySet()) {
            llm = llm.option(e.getKey(), e.getValue());
        }
        llm.spec();
        return llm;
    }

    /** @return a relative path of a local model made absolute (executors do not share the driver's directory) */
    static String localModelPath(String model) {
        if (model.contains(":")) {
            return model; // a URI (file:, hdfs:, ...)
        }
        java.nio.file.Path p = java.nio.file.Path.of(model);
        return java.nio.file.Files.exists(p) ? p.toAbsolutePath().normalize().toString() : model;
    }

    BatchSpec spec() {
        return new BatchSpec(input, output, llm(), servedModelNames.isEmpty() ? List.of(model) : servedModelNames,
                baseUrl == null, overwrite, partitions, maxLineBytes, commitRows, 60_000);
    }

    private static void put(Map<String, String> m, String option, String kv) {
        int eq = kv.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException(option + " takes KEY=VALUE, not " + kv);
        }
        m.put(kv.substring(0, eq).trim(), kv.substring(eq + 1));
    }

    private static long whole(String option, String v, long min, long max) {
        try {
            long n = Long.parseLong(v.trim());
            if (n < min || n > max) {
                throw new IllegalArgumentException(option + " " + v + " must be in [" + min + ", " + max + "]");
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " " + v + " is not a whole number");
        }
    }

    private static double number(String option, String v) {
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " " + v + " is not a number");
        }
    }
}
