package io.stoker.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/** A small JDK HTTP client for the tests: JSON in, status and JSON or server-sent events out. */
final class Http {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    record Reply(int status, String body, java.net.http.HttpHeaders headers) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }

        /** @return the {@code data:} payloads of a server-sent event stream, in order */
        List<String> events() {
            List<String> out = new ArrayList<>();
            for (String block : body.split("\n\n")) {
                if (block.startsWith("data: ")) {
                    out.add(block.substring(6));
                }
            }
            return out;
        }
    }

    private Http() {
    }

    static Reply post(String url, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body(), r.headers());
    }

    static Reply get(String url, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60)).GET();
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body(), r.headers());
    }

    /** @return the concatenated text of a stream's chunks for one choice index */
    static String streamedText(List<String> events, boolean chat, int index) {
        return events.stream().filter(e -> !e.equals("[DONE]")).map(e -> {
            try {
                return JSON.readTree(e);
            } catch (IOException ex) {
                throw new AssertionError(ex);
            }
        }).flatMap(n -> {
            List<JsonNode> cs = new ArrayList<>();
            n.path("choices").forEach(cs::add);
            return cs.stream();
        }).filter(c -> c.path("index").asInt() == index)
                .map(c -> chat ? c.path("delta").path("content").asText("") : c.path("text").asText(""))
                .collect(Collectors.joining());
    }
}
