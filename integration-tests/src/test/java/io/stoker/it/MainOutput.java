package io.stoker.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.ToIntFunction;

import static org.assertj.core.api.Assertions.assertThat;

/** Runs a command's {@code run(String[])} in this JVM, capturing stdout, and reads its last line as JSON. */
final class MainOutput {
    private MainOutput() {
    }

    /** Asserts the command exits 0 (printing its whole output otherwise) and returns its last stdout line as JSON. */
    static JsonNode lastJsonLine(ToIntFunction<String[]> command, String... args) throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int rc;
        try (PrintStream tee = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
            System.setOut(tee);
            rc = command.applyAsInt(args);
        } finally {
            System.setOut(original);
        }
        String out = captured.toString(StandardCharsets.UTF_8).trim();
        original.println(out);
        assertThat(rc).as("exit code; output:\n" + out).isZero();
        String[] lines = out.split("\n");
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }
}
