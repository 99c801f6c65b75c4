package io.stoker.benchmarks.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;

import java.nio.file.Files;
import java.nio.file.Paths;

/**
 * What llama.cpp (de.kherud:llama) makes of a GGUF file, for {@link LlamaCppCrossCheckTest}; always run in its own JVM
 * (see FIELD-NOTES: its native code keeps the JVM alive after close, so this ends with {@code System.exit}).
 *
 * <p>args: model.gguf request.json. The request holds {@code texts} (tokenized without BOS, special tokens parsed) and
 * {@code prompts} (completed greedily for {@code n} tokens, ignoring EOS; the prompt is tokenized as llama.cpp's
 * server does, BOS by the vocabulary's rule). Prints one JSON object: {@code tokens} per text and {@code pieces} (the
 * streamed text of each generated token) per prompt.
 */
public final class LlamaCppProbe {
    private LlamaCppProbe() {
    }

    public static void main(String[] args) {
        int status = 0;
        try {
            run(args[0], args[1]);
        } catch (Throwable t) {
            t.printStackTrace();
            status = 1;
        }
        System.out.flush();
        System.exit(status);
    }

    private static void run(String model, String request) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode req = (ObjectNode) json.readTree(Files.readAllBytes(Paths.get(request)));
        LlamaModel.setLogger(LogFormat.TEXT, (level, msg) -> { });
        ModelParameters mp = new ModelParameters().setModel(model).setThreads(1).setThreadsBatch(1).setCtxSize(512)
                .setBatchSize(512).setParallel(1).setGpuLayers(0);
        ObjectNode out = json.createObjectNode();
        try (LlamaModel llm = new LlamaModel(mp)) {
            ArrayNode tokens = out.putArray("tokens");
            for (var t : req.get("texts")) {
                ArrayNode ids = tokens.addArray();
                for (int id : llm.encode(t.asText())) {
                    ids.add(id);
                }
            }
            ArrayNode pieces = out.putArray("pieces");
            int n = req.get("n").asInt();
            for (var p : req.get("prompts")) {
                ArrayNode ps = pieces.addArray();
                InferenceParameters ip = new InferenceParameters(p.asText()).setNPredict(n).setTemperature(0f)
                        .setTopK(1).setIgnoreEos(true).setCachePrompt(false).setSeed(1);
                for (LlamaOutput o : llm.generate(ip)) {
                    ps.add(o.text);
                }
            }
        }
        System.out.println(json.writeValueAsString(out));
    }

}
