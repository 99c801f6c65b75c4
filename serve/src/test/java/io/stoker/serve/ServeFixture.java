package io.stoker.serve;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.ModelLoader;
import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.testkit.RandomModelWriter;
import io.stoker.llm.tensor.DType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.function.UnaryOperator;

/**
 * A random-weight Llama model (hidden 64, 4 layers, vocab 384, byte-level BPE tokenizer, ChatML template) written
 * once under {@code target/test-models}, a started engine over it, and a server on a free loopback port.
 */
final class ServeFixture implements AutoCloseable {
    static final RandomModelWriter.Spec SPEC = new RandomModelWriter.Spec("LlamaForCausalLM", 64, 128, 4, 4, 2, 384,
            512, false, false, 5);
    static final String MODEL = "stoker-test";

    final LoadedModel model;
    final LlmEngine engine;
    final OpenAiServer server;

    ServeFixture(EngineConfig engineConfig, UnaryOperator<ServeConfig> serveConfig) {
        this(engineConfig, serveConfig, true);
    }

    /** @param startEngine false leaves the engine's step loop unstarted: requests are admitted but never run */
    ServeFixture(EngineConfig engineConfig, UnaryOperator<ServeConfig> serveConfig, boolean startEngine) {
        model = ModelLoader.load(modelDir().toString());
        engine = LlmEngine.local(model, engineConfig);
        if (startEngine) {
            engine.start();
        }
        server = OpenAiServer.start(engine, serveConfig.apply(ServeConfig.defaults(MODEL).withPort(0)));
    }

    ServeFixture() {
        this(engineConfig(), c -> c);
    }

    /** 2 MiB of KV (2048 tokens, 128 blocks of 16), 2 threads. */
    static EngineConfig engineConfig() {
        return EngineConfig.defaults().withThreads(2).withKvCacheBytes(2L << 20);
    }

    static synchronized Path modelDir() {
        Path dir = Paths.get("target", "test-models", "serve-llama-h64-l4").toAbsolutePath();
        if (!Files.exists(dir.resolve("tokenizer_config.json"))) {
            try {
                RandomModelWriter.writeHf(SPEC, dir, DType.F32);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return dir;
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.port() + "/v1";
    }

    String root() {
        return "http://127.0.0.1:" + server.port();
    }

    @Override
    public void close() {
        server.close();
        engine.close();
        model.close();
    }
}
