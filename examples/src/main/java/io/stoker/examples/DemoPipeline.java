package io.stoker.examples;

import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.graph.CompiledGraph;
import io.stoker.runtime.graph.GraphBuilder;
import io.stoker.runtime.graph.GraphOptions;
import io.stoker.runtime.graph.InputNode;
import io.stoker.runtime.graph.Node;

import java.util.Locale;

/**
 * The demo's three actors — normalize, tokenize, score — and the compiled graph that chains them. Each actor keeps
 * state across executions (a count of what it processed), as a model-holding actor would.
 */
public final class DemoPipeline implements AutoCloseable {
    /** Lower-cases and trims text. */
    public static final class Normalizer {
        private long seen;

        public String normalize(String text) {
            seen++;
            return text.trim().toLowerCase(Locale.ROOT);
        }

        public long seen() {
            return seen;
        }
    }

    /** Splits on spaces and maps each word to a stable id (a stand-in for a tokenizer). */
    public static final class Tokenizer {
        public int[] encode(String text) {
            String[] words = text.split(" ");
            int[] ids = new int[words.length];
            for (int i = 0; i < words.length; i++) {
                ids[i] = Math.floorMod(words[i].hashCode(), 50_000);
            }
            return ids;
        }
    }

    /** Scores a token sequence (a stand-in for a model forward pass). */
    public static final class Scorer {
        public Double score(int[] ids) {
            double s = 0;
            for (int id : ids) {
                s += Math.sqrt(id);
            }
            return s / Math.max(1, ids.length);
        }
    }

    private final StokerRuntime runtime;
    private final ActorHandle<Normalizer> normalizer;
    private final ActorHandle<Tokenizer> tokenizer;
    private final ActorHandle<Scorer> scorer;
    private CompiledGraph<String, Double> graph;

    /** Creates the three actors; {@link #compile} builds the graph over them. */
    public DemoPipeline(StokerRuntime runtime) {
        this.runtime = runtime;
        normalizer = runtime.createActor(ActorSpec.ofSupplier("normalize", Normalizer::new));
        tokenizer = runtime.createActor(ActorSpec.ofSupplier("tokenize", Tokenizer::new));
        scorer = runtime.createActor(ActorSpec.ofSupplier("score", Scorer::new));
    }

    /** Declares and compiles normalize -> tokenize -> score. */
    public CompiledGraph<String, Double> compile(GraphOptions options) {
        GraphBuilder g = GraphBuilder.on(runtime, "demo");
        InputNode<String> text = g.input();
        Node<String> clean = g.bind(normalizer, Normalizer::normalize, text);
        Node<int[]> ids = g.bind(tokenizer, Tokenizer::encode, clean);
        Node<Double> score = g.bind(scorer, Scorer::score, ids);
        graph = g.compile(score, options);
        return graph;
    }

    public CompiledGraph<String, Double> graph() {
        return graph;
    }

    /**
     * The same three steps through eager actor calls, each hop a future completed by the next actor. While no graph is
     * installed the actors sleep until called, as classic RPC workers do.
     */
    public Double eager(String text) {
        return normalizer.call(Normalizer::normalize, text)
                .thenCompose(c -> tokenizer.call(Tokenizer::encode, c))
                .thenCompose(ids -> scorer.call(Scorer::score, ids))
                .join();
    }

    /** @return how many texts the normalizer actor has seen (its state survives across executions) */
    public long normalized() {
        return normalizer.call(Normalizer::seen).join();
    }

    public StokerRuntime runtime() {
        return runtime;
    }

    @Override
    public void close() {
        if (graph != null) {
            graph.close();
        }
    }
}
