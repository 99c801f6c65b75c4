package io.stoker.runtime.graph;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;
import java.io.Writer;
import java.util.List;

/** Writes recent executions in the Chrome trace event format ({@code traceEvents} with complete "X" events). */
final class ChromeTrace {
    private static final JsonFactory JSON = new JsonFactory();

    private ChromeTrace() {
    }

    static void write(Writer out, String graphName, long originNanos, List<GraphProgram> programs, long[] execSeq,
                      long[] execSubmit, long[] execEnd) throws IOException {
        JsonGenerator g = JSON.createGenerator(out);
        g.writeStartObject();
        g.writeStringField("displayTimeUnit", "ns");
        g.writeArrayFieldStart("traceEvents");
        meta(g, "process_name", 0, "graph " + graphName);
        meta(g, "thread_name", 0, "callers");
        for (int a = 0; a < programs.size(); a++) {
            meta(g, "thread_name", a + 1, "actor " + programs.get(a).actor().name());
        }
        for (int i = 0; i < execSeq.length; i++) {
            if (execSeq[i] >= 0 && execEnd[i] >= execSubmit[i]) {
                span(g, "execution " + execSeq[i], "execution", 0, execSubmit[i] - originNanos,
                        execEnd[i] - execSubmit[i], execSeq[i]);
            }
        }
        for (int a = 0; a < programs.size(); a++) {
            int tid = a + 1;
            programs.get(a).forEachSpan((op, seq, start, end) -> {
                if (end >= start && start > 0) {
                    try {
                        span(g, op.label, "task", tid, start - originNanos, end - start, seq);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            });
        }
        g.writeEndArray();
        g.writeEndObject();
        g.flush();
    }

    private static void meta(JsonGenerator g, String what, int tid, String name) throws IOException {
        g.writeStartObject();
        g.writeStringField("name", what);
        g.writeStringField("ph", "M");
        g.writeNumberField("pid", 1);
        g.writeNumberField("tid", tid);
        g.writeObjectFieldStart("args");
        g.writeStringField("name", name);
        g.writeEndObject();
        g.writeEndObject();
    }

    private static void span(JsonGenerator g, String name, String cat, int tid, long startNanos, long durNanos,
                             long seq) throws IOException {
        g.writeStartObject();
        g.writeStringField("name", name);
        g.writeStringField("cat", cat);
        g.writeStringField("ph", "X");
        g.writeNumberField("pid", 1);
        g.writeNumberField("tid", tid);
        g.writeNumberField("ts", startNanos / 1000.0);
        g.writeNumberField("dur", durNanos / 1000.0);
        g.writeObjectFieldStart("args");
        g.writeNumberField("execution", seq);
        g.writeEndObject();
        g.writeEndObject();
    }
}
