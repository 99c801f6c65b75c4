package io.stoker.spark.batch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Request lines of OpenAI Batch input files for tests. */
final class Requests {
    private Requests() {
    }

    static String chat(String id, String content, String extraBody) {
        return "{\"custom_id\": \"" + id + "\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", \"body\":"
                + " {\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"" + content + "\"}]"
                + (extraBody.isEmpty() ? "" : ", " + extraBody) + "}}";
    }

    static String completion(String id, String prompt, String extraBody) {
        return "{\"custom_id\": \"" + id + "\", \"method\": \"POST\", \"url\": \"/v1/completions\", \"body\":"
                + " {\"model\": \"tiny\", \"prompt\": \"" + prompt + "\"" + (extraBody.isEmpty() ? "" : ", "
                + extraBody) + "}}";
    }

    static Path write(Path file, List<String> lines) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
