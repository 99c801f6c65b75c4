package io.stoker.serve;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.ModelLoader;
import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.LlmEngine;

import java.io.PrintStream;
import java.util.concurrent.CountDownLatch;

/**
 * {@code bin/stoker serve}: an OpenAI-compatible server over Stoker's engine, until interrupted.
 *
 * <pre>
 * bin/stoker serve --model PATH [--host 127.0.0.1] [--port 8000] [--api-key-env VAR] [--served-model-name NAME]
 *     [--max-pending 256] [--max-n 16] [--max-body-mb 32] [--io-threads 2]
 *     [--threads N] [--kv-cache-mb 256] [--max-batch-tokens 512] [--max-num-seqs 64] [--max-model-len 0]
 * </pre>
 *
 * Prints {@code stoker serve: serving NAME at http://HOST:PORT/v1} on stdout once it listens. Exit status 2 on bad
 * arguments, 1 when the model cannot be loaded or the port bound.
 */
public final class ServeCommand {
    static final String USAGE = "usage: bin/stoker serve --model PATH [--host 127.0.0.1] [--port 8000]"
            + " [--api-key-env VAR]\n"
            + "    [--served-model-name NAME] [--max-pending 256] [--max-n 16] [--max-body-mb 32] [--io-threads 2]\n"
            + "    [--threads N] [--kv-cache-mb 256] [--max-batch-tokens 512] [--max-num-seqs 64]"
            + " [--max-model-len 0]\n"
            + "  --model              Hugging Face directory, .gguf file, or Hadoop URI (needs a tokenizer)\n"
            + "  --host, --port       where to listen; a non-loopback host requires --api-key-env\n"
            + "  --api-key-env VAR    require 'Authorization: Bearer <key>' with the key read from $VAR\n"
            + "  --served-model-name  the id clients send as \"model\" (default: the --model argument)\n"
            + "  --max-pending        generations admitted at once (running or waiting); more get 429\n"
            + "  --max-n              largest n (choices per prompt)\n"
            + "  engine: --threads, --kv-cache-mb, --max-batch-tokens, --max-num-seqs, --max-model-len"
            + " (0 = the model's)\n";

    private ServeCommand() {
    }

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err, new CountDownLatch(1));
        if (rc != 0) {
            System.exit(rc);
        }
    }

    /** Parsed command line. */
    record Options(String model, ServeConfig serve, EngineConfig engine) {
    }

    /**
     * Runs the server until {@code stop} counts down (the JVM's shutdown also stops it).
     *
     * @return the exit status
     */
    static int run(String[] args, PrintStream out, PrintStream err, CountDownLatch stop) {
        Options o;
        try {
            o = parse(args);
            if (o == null) {
                out.print(USAGE);
                return 0;
            }
        } catch (IllegalArgumentException e) {
            err.println("stoker serve: " + e.getMessage());
            err.print(USAGE);
            return 2;
        }
        LoadedModel model;
        try {
            model = ModelLoader.load(o.model());
            model.requireTokenizer();
        } catch (RuntimeException e) {
            err.println("stoker serve: cannot load --model " + o.model() + ": " + e.getMessage());
            return 1;
        }
        LlmEngine engine = LlmEngine.local(model, o.engine()).start();
        OpenAiServer server;
        try {
            server = OpenAiServer.start(engine, o.serve());
        } catch (RuntimeException e) {
            err.println("stoker serve: " + e.getMessage());
            engine.close();
            model.close();
            return 1;
        }
        Thread hook = new Thread(() -> {
            server.close();
            engine.close();
            model.close();
        }, "stoker-serve-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        out.println("stoker serve: serving " + o.serve().servedModelName() + " at http://"
                + server.address().getAddress().getHostAddress() + ":" + server.port() + "/v1");
        out.flush();
        try {
            stop.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Runtime.getRuntime().removeShutdownHook(hook);
        hook.run();
        return 0;
    }

    /** @return the options, or null for --help */
    static Options parse(String[] args) {
        String model = null;
        String host = "127.0.0.1";
        int port = 8000;
        String keyEnv = null;
        String name = null;
        ServeConfig d = ServeConfig.defaults("x");
        int maxPending = d.maxPending();
        int maxN = d.maxN();
        int maxBodyMb = d.maxBodyBytes() >> 20;
        int ioThreads = d.ioThreads();
        EngineConfig ec = EngineConfig.defaults();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--help":
                case "-h":
                    return null;
                case "--model":
                    model = value(args, ++i, a);
                    break;
                case "--host":
                    host = value(args, ++i, a);
                    break;
                case "--port":
                    port = intValue(args, ++i, a);
                    break;
                case "--api-key-env":
                    keyEnv = value(args, ++i, a);
                    break;
                case "--served-model-name":
                    name = value(args, ++i, a);
                    break;
                case "--max-pending":
                    maxPending = intValue(args, ++i, a);
                    break;
                case "--max-n":
                    maxN = intValue(args, ++i, a);
                    break;
                case "--max-body-mb":
                    maxBodyMb = intValue(args, ++i, a);
                    if (maxBodyMb < 1 || maxBodyMb > 1024) {
                        throw new IllegalArgumentException("--max-body-mb " + maxBodyMb + " must be in [1, 1024]");
                    }
                    break;
                case "--io-threads":
                    ioThreads = intValue(args, ++i, a);
                    break;
                case "--threads":
                    ec = ec.withThreads(intValue(args, ++i, a));
                    break;
                case "--kv-cache-mb":
                    ec = ec.withKvCacheBytes((long) intValue(args, ++i, a) << 20);
                    break;
                case "--max-batch-tokens":
                    ec = ec.withMaxBatchTokens(intValue(args, ++i, a));
                    break;
                case "--max-num-seqs":
                    ec = ec.withMaxNumSeqs(intValue(args, ++i, a));
                    break;
                case "--max-model-len":
                    ec = ec.withMaxModelLen(intValue(args, ++i, a));
                    break;
                default:
                    throw new IllegalArgumentException("unknown option '" + a + "'");
            }
        }
        if (model == null) {
            throw new IllegalArgumentException("--model is required");
        }
        ApiKey key = keyEnv == null ? null : ApiKey.fromEnv(keyEnv);
        ServeConfig sc = new ServeConfig(host, port, name == null ? model : name, key, maxPending, maxN,
                maxBodyMb << 20, ioThreads);
        return new Options(model, sc, ec);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static int intValue(String[] args, int i, String option) {
        String v = value(args, i, option);
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " " + v + " is not an integer");
        }
    }
}
