package io.stoker.llm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.LoadedModel;
import io.stoker.llm.ModelLoader;
import io.stoker.llm.backend.Backends;
import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.parallel.ParallelExecutor;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.sample.TokenLogprobs;
import io.stoker.llm.tokenizer.ChatTemplate;
import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.StokerRuntime;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;

/**
 * {@code bin/stoker generate}: one completion with Stoker's engine.
 *
 * <pre>
 * bin/stoker generate --model PATH (--prompt TEXT | --prompt-ids 1,2,3) --max-tokens N
 *     [--temperature T --top-p P --top-k K --min-p P --seed S --logprobs K --stop STR --chat
 *      --threads N --kv-cache-mb M --device cpu|cuda|cuda:N|cuda-sim
 *      --tensor-parallel N | --pipeline-parallel N] [--json]
 * </pre>
 *
 * {@code --device cuda-sim} runs the CUDA backend on the CUDA simulator (the test double of docs/cuda.md, a CPU
 * implementation of the driver, cuBLAS and NVRTC): the same flags and output as {@code --device cpu}.
 *
 * {@code --tensor-parallel N} / {@code --pipeline-parallel N} run the model over N actors of an in-process runtime
 * ({@link ParallelExecutor}): CPU actors with {@code --device cpu}, GPU actors on devices 0..N-1 with {@code cuda}
 * or {@code cuda-sim} (tensor-parallel ranks then communicate through NCCL, simulated on {@code cuda-sim}).
 *
 * With {@code --json} it prints one JSON object: {@code prompt_ids}, {@code token_ids}, {@code text},
 * {@code finish_reason}, and with {@code --logprobs K} {@code logprobs}: per generated token a list of
 * {@code [token_id, logprob]}, best first. Exit status 2 on bad arguments, 1 on other errors.
 */
public final class GenerateCommand {
    private static final String USAGE = "usage: bin/stoker generate --model PATH (--prompt TEXT | --prompt-ids 1,2,3)"
            + " --max-tokens N\n"
            + "    [--temperature T] [--top-p P] [--top-k K] [--min-p P] [--seed S] [--logprobs K] [--stop STR]...\n"
            + "    [--chat] [--threads N] [--kv-cache-mb M] [--device cpu|cuda|cuda:N|cuda-sim]\n"
            + "    [--tensor-parallel N | --pipeline-parallel N] [--json]\n"
            + "  --model       Hugging Face directory, .gguf file, or Hadoop URI\n"
            + "  --prompt      text (encoded with the tokenizer's special tokens); with --chat, a user message\n"
            + "                rendered through the model's chat template\n"
            + "  --prompt-ids  comma-separated token ids\n"
            + "  --max-tokens  tokens to generate (default 16)\n"
            + "  --temperature 0 = greedy (default); --top-p, --top-k, --min-p filter; --seed fixes the draw\n"
            + "  --logprobs K  report the K most likely tokens per step (max 20)\n"
            + "  --device      cpu (default); cuda or cuda:N: the CUDA backend on GPU N (0); cuda-sim: the CUDA backend\n"
            + "                on the CUDA simulator (no GPU needed; slow, for checking the path)\n"
            + "  --tensor-parallel N    split every layer over N workers (CPU actors, or GPUs 0..N-1 with cuda or\n"
            + "                cuda-sim, communicating through NCCL); heads, KV heads and FFN width must divide by N\n"
            + "  --pipeline-parallel N  split the layers into N stages (CPU actors, or GPUs 0..N-1)\n"
            + "  --json        print one JSON object instead of the text\n";

    private GenerateCommand() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the command; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        String model = null;
        String prompt = null;
        int[] promptIds = null;
        boolean json = false;
        boolean chat = false;
        int threads = Runtime.getRuntime().availableProcessors();
        long kvMb = 256;
        String device = "cpu";
        int tensorParallel = 1;
        int pipelineParallel = 1;
        SamplingParams.Builder sp = SamplingParams.builder();
        List<String> stops = new ArrayList<>();
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--help":
                    case "-h":
                        out.print(USAGE);
                        return 0;
                    case "--json":
                        json = true;
                        break;
                    case "--chat":
                        chat = true;
                        break;
                    case "--model":
                        model = value(args, ++i, a);
                        break;
                    case "--prompt":
                        prompt = value(args, ++i, a);
                        break;
                    case "--prompt-ids":
                        promptIds = parseIds(value(args, ++i, a));
                        break;
                    case "--max-tokens":
                        sp.maxTokens(intValue(args, ++i, a));
                        break;
                    case "--temperature":
                        sp.temperature(doubleValue(args, ++i, a));
                        break;
                    case "--top-p":
                        sp.topP(doubleValue(args, ++i, a));
                        break;
                    case "--top-k":
                        sp.topK(intValue(args, ++i, a));
                        break;
                    case "--min-p":
                        sp.minP(doubleValue(args, ++i, a));
                        break;
                    case "--repetition-penalty":
                        sp.repetitionPenalty(doubleValue(args, ++i, a));
                        break;
                    case "--seed":
                        sp.seed(Long.parseLong(value(args, ++i, a)));
                        break;
                    case "--logprobs":
                        sp.logprobs(intValue(args, ++i, a));
                        break;
                    case "--stop":
                        stops.add(value(args, ++i, a));
                        break;
                    case "--threads":
                        threads = intValue(args, ++i, a);
                        break;
                    case "--device":
                        device = value(args, ++i, a);
                        break;
                    case "--tensor-parallel":
                        tensorParallel = intValue(args, ++i, a);
                        break;
                    case "--pipeline-parallel":
                        pipelineParallel = intValue(args, ++i, a);
                        break;
                    case "--kv-cache-mb":
                        kvMb = intValue(args, ++i, a);
                        break;
                    default:
                        throw new IllegalArgumentException("unknown option '" + a + "'");
                }
            }
            if (model == null) {
                throw new IllegalArgumentException("--model is required");
            }
            if ((prompt == null) == (promptIds == null)) {
                throw new IllegalArgumentException("give exactly one of --prompt or --prompt-ids");
            }
            if (chat && prompt == null) {
                throw new IllegalArgumentException("--chat needs --prompt");
            }
            sp.stop(stops);
            if (!device.equals("cpu") && !device.equals("cuda-sim") && !Backends.isCuda(device)) {
                throw new IllegalArgumentException("--device " + device + " is not known; use cpu, cuda, cuda:N or"
                        + " cuda-sim");
            }
            if (tensorParallel < 1 || pipelineParallel < 1) {
                throw new IllegalArgumentException("--tensor-parallel and --pipeline-parallel must be >= 1");
            }
            if (tensorParallel > 1 && pipelineParallel > 1) {
                throw new IllegalArgumentException("give --tensor-parallel or --pipeline-parallel, not both: combining"
                        + " them is not supported");
            }
            if ((tensorParallel > 1 || pipelineParallel > 1) && device.startsWith("cuda:")) {
                throw new IllegalArgumentException("--device " + device + " names one GPU; with --tensor-parallel or"
                        + " --pipeline-parallel use --device cuda (GPUs 0..N-1; choose them with CUDA_VISIBLE_DEVICES)"
                        + " or cuda-sim");
            }
        } catch (IllegalArgumentException e) {
            err.println("stoker generate: " + e.getMessage());
            err.print(USAGE);
            return 2;
        }
        try {
            SamplingParams params = sp.build();
            if (device.equals("cuda-sim")) {
                SimulatedCuda.select();
            }
            EngineConfig cfg = EngineConfig.defaults().withThreads(threads).withKvCacheBytes(kvMb << 20)
                    .withBackend(device.equals("cuda-sim") ? "cuda" : device);
            int workers = Math.max(tensorParallel, pipelineParallel);
            try (LoadedModel m = ModelLoader.load(model); StokerRuntime rt = workers > 1 ? runtime(cfg, workers) : null;
                 LlmEngine engine = workers == 1 ? LlmEngine.local(m, cfg)
                         : new LlmEngine(m, tensorParallel > 1 ? ParallelExecutor.tensorParallel(rt, m, cfg, workers)
                                 : ParallelExecutor.pipelineParallel(rt, m, cfg, workers), cfg)) {
                GenerationRequest req = promptIds != null ? GenerationRequest.ofIds(promptIds, params)
                        : chat ? GenerationRequest.ofChat(List.of(new ChatTemplate.Message("user", prompt)), params)
                        : GenerationRequest.ofText(prompt, params);
                var future = engine.submit(req);
                engine.runUntilIdle();
                GenerationResult r = future.get();
                if (json) {
                    out.println(toJson(r, params.logprobs() > 0));
                } else {
                    out.println(r.text());
                }
            }
            return 0;
        } catch (IllegalArgumentException e) {
            err.println("stoker generate: " + e.getMessage());
            return 2;
        } catch (ExecutionException e) {
            err.println("stoker generate: " + e.getCause());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } catch (RuntimeException e) {
            err.println("stoker generate: " + e.getMessage());
            return 1;
        }
    }

    /** An in-process runtime for the workers: GPU ids 0..workers-1 when the backend is CUDA. */
    private static StokerRuntime runtime(EngineConfig cfg, int workers) {
        RuntimeConfig rc = RuntimeConfig.defaults().withName("generate");
        if (Backends.isCuda(cfg.backend())) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < workers; i++) {
                ids.add(Integer.toString(i));
            }
            rc = rc.withGpuIds(ids);
        }
        return StokerRuntime.create(rc);
    }

    static String toJson(GenerationResult r, boolean logprobs) {
        ObjectMapper m = new ObjectMapper();
        ObjectNode o = m.createObjectNode();
        ArrayNode p = o.putArray("prompt_ids");
        for (int id : r.promptIds()) {
            p.add(id);
        }
        ArrayNode t = o.putArray("token_ids");
        for (int id : r.tokenIds()) {
            t.add(id);
        }
        o.put("text", r.text());
        o.put("finish_reason", r.finishReason().label());
        if (logprobs) {
            ArrayNode lp = o.putArray("logprobs");
            for (TokenLogprobs tl : r.logprobs()) {
                ArrayNode step = lp.addArray();
                for (int i = 0; i < tl.topTokens().length; i++) {
                    step.addArray().add(tl.topTokens()[i]).add(tl.topLogprobs()[i]);
                }
            }
        }
        try {
            return m.writeValueAsString(o);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String value(String[] args, int i, String opt) {
        if (i >= args.length) {
            throw new IllegalArgumentException(opt + " needs a value");
        }
        return args[i];
    }

    private static int intValue(String[] args, int i, String opt) {
        String v = value(args, i, opt);
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(opt + "=" + v + " is not an integer");
        }
    }

    private static double doubleValue(String[] args, int i, String opt) {
        String v = value(args, i, opt);
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(opt + "=" + v + " is not a number");
        }
    }

    static int[] parseIds(String s) {
        String[] parts = s.split(",");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--prompt-ids element '" + parts[i] + "' is not an integer");
            }
        }
        return ids;
    }
}
