package io.stoker.spark.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * What a committed part holds (its meta file, see {@link PartDescriptor}): the input file, first and last line, row
 * count, the lines answered with status 200 as inclusive ranges, and the generation of the run that wrote it (0 for
 * an earlier output file taken over, then 1, 2, ... per run). Immutable.
 */
record PartMeta(Path part, String file, long first, long last, long rows, long[] okRanges, int generation) {
    private static final ObjectMapper JSON = new ObjectMapper();

    String toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("file", file);
        o.put("first", first);
        o.put("last", last);
        o.put("rows", rows);
        ArrayNode ok = o.putArray("ok");
        for (int i = 0; i < okRanges.length; i += 2) {
            ok.addArray().add(okRanges[i]).add(okRanges[i + 1]);
        }
        return o.toString();
    }

    static PartMeta parse(String json, Path part, int generation) throws IOException {
        JsonNode o = JSON.readTree(json);
        List<Long> ok = new ArrayList<>();
        for (JsonNode r : o.get("ok")) {
            ok.add(r.get(0).asLong());
            ok.add(r.get(1).asLong());
        }
        long[] ranges = new long[ok.size()];
        for (int i = 0; i < ranges.length; i++) {
            ranges[i] = ok.get(i);
        }
        return new PartMeta(part, o.get("file").asText(), o.get("first").asLong(), o.get("last").asLong(),
                o.get("rows").asLong(), ranges, generation);
    }

    /** @return the number of lines answered with status 200 */
    long okRows() {
        long n = 0;
        for (int i = 0; i < okRanges.length; i += 2) {
            n += okRanges[i + 1] - okRanges[i] + 1;
        }
        return n;
    }
}
