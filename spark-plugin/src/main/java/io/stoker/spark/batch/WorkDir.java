package io.stoker.spark.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The state of a batch run that lets a rerun resume, next to the output file:
 *
 * <pre>
 * results.jsonl.stoker-batch/
 *   input.json       the input it belongs to: {"input": URI, "length": bytes, "modified": ms}
 *   base/            generation 0: the lines of an earlier output file, keyed by their input line
 *   run-0001/        generation 1: the committed parts of the first run (see PartDescriptor)
 *   run-0002/ ...
 * </pre>
 *
 * The directory is made complete under {@code <name>.stoker-batch.init/} and then renamed into place, so it exists
 * only with its input fingerprint and (when there was an earlier output) its whole base. It is deleted after the
 * output file has been written from it.
 */
final class WorkDir {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern RUN = Pattern.compile("run-(\\d+)");
    static final String SUFFIX = ".stoker-batch";

    private final FileSystem fs;
    private final Path dir;

    /** The input a work directory belongs to. */
    record Fingerprint(String input, long length, long modified) {
        static Fingerprint of(FileStatus s) {
            return new Fingerprint(s.getPath().toString(), s.getLen(), s.getModificationTime());
        }
    }

    WorkDir(FileSystem fs, Path output) {
        this.fs = fs;
        this.dir = new Path(output.getParent(), output.getName() + SUFFIX);
    }

    Path path() {
        return dir;
    }

    Path initPath() {
        return new Path(dir.getParent(), dir.getName() + ".init");
    }

    boolean exists() throws IOException {
        return fs.exists(new Path(dir, "input.json"));
    }

    private Fingerprint saved() throws IOException {
        JsonNode o;
        try (FSDataInputStream in = fs.open(new Path(dir, "input.json"))) {
            o = JSON.readTree(in);
        }
        return new Fingerprint(o.get("input").asText(), o.get("length").asLong(), o.get("modified").asLong());
    }

    boolean belongsTo(Fingerprint f) throws IOException {
        return saved().equals(f);
    }

    /** @throws IllegalStateException when the directory belongs to another input (or the input changed) */
    void requireInput(Fingerprint f) throws IOException {
        Fingerprint saved = saved();
        if (!saved.equals(f)) {
            throw new IllegalStateException("the resume directory " + dir + " belongs to a run over " + saved.input()
                    + " (" + saved.length() + " bytes, modified " + saved.modified() + "), not over " + f.input() + " ("
                    + f.length() + " bytes, modified " + f.modified() + "): its answers are keyed by line number, so"
                    + " it only resumes the same input. Rerun with that input, or pass --overwrite to start over (its"
                    + " answers are dropped), or delete " + dir);
        }
    }

    /** Starts {@code <name>.stoker-batch.init/} with the fingerprint; {@link #commitInit()} puts it in place. */
    Path beginInit(Fingerprint f) throws IOException {
        Path init = initPath();
        fs.delete(init, true);
        fs.mkdirs(init);
        ObjectNode o = JSON.createObjectNode();
        o.put("input", f.input());
        o.put("length", f.length());
        o.put("modified", f.modified());
        try (FSDataOutputStream out = fs.create(new Path(init, "input.json"), true)) {
            out.write(o.toString().getBytes(StandardCharsets.UTF_8));
        }
        return init;
    }

    void commitInit() throws IOException {
        fs.delete(dir, true);
        if (!fs.rename(initPath(), dir)) {
            throw new IOException("cannot rename " + initPath() + " to " + dir);
        }
    }

    /** @return every committed part: the base (generation 0) and each run's (generation n) */
    List<PartMeta> parts() throws IOException {
        List<PartMeta> out = new ArrayList<>(PartsJob.committed(fs, new Path(dir, "base"), 0));
        for (FileStatus s : fs.listStatus(dir)) {
            Matcher m = RUN.matcher(s.getPath().getName());
            if (s.isDirectory() && m.matches()) {
                out.addAll(PartsJob.committed(fs, s.getPath(), Integer.parseInt(m.group(1))));
            }
        }
        return out;
    }

    /** @return the directory of the next run (not created) */
    Path nextRun() throws IOException {
        int max = 0;
        for (FileStatus s : fs.listStatus(dir)) {
            Matcher m = RUN.matcher(s.getPath().getName());
            if (m.matches()) {
                max = Math.max(max, Integer.parseInt(m.group(1)));
            }
        }
        return new Path(dir, String.format("run-%04d", max + 1));
    }

    void delete() throws IOException {
        fs.delete(dir, true);
        fs.delete(initPath(), true);
    }
}
