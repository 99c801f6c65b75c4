package io.stoker.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;

/** A Spark GPU discovery script for local-cluster workers that have no GPUs: each worker claims two fake addresses. */
final class FakeGpus {
    private FakeGpus() {
    }

    /**
     * Writes {@code target/<dirName>/discover-gpus.sh} in a fresh directory. Each call of the script (one per worker)
     * atomically claims the next pair of addresses: the first worker gets 0 and 1, the second 2 and 3, and so on.
     */
    static Path discoveryScript(String dirName) throws IOException {
        Path dir = Path.of("target", dirName).toAbsolutePath();
        if (Files.exists(dir)) {
            try (var s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        Files.createDirectories(dir);
        Path script = dir.resolve("discover-gpus.sh");
        Files.writeString(script, String.join("\n",
                "#!/bin/sh",
                "# Each caller (one per worker) atomically claims the next pair of fake GPU addresses.",
                "dir=\"$(dirname \"$0\")/claims\"",
                "mkdir -p \"$dir\"",
                "i=0",
                "while ! mkdir \"$dir/$i\" 2>/dev/null; do i=$((i+1)); done",
                "echo \"{\\\"name\\\":\\\"gpu\\\",\\\"addresses\\\":[\\\"$((i*2))\\\",\\\"$((i*2+1))\\\"]}\"",
                ""));
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }
}
