package io.stoker.spark.batch;

import io.stoker.spark.llm.Llm;

import java.util.List;

/**
 * What a batch run does. Immutable.
 *
 * @param input           the request file (a Hadoop FS URI or path)
 * @param output          the ONE output file (a Hadoop FS URI or path); its work directory sits next to it
 * @param llm             the call: model, default sampling, engine options (local engine: {@code Llm.model(...)})
 * @param servedModels    model names requests may give (a request without one is answered as the first)
 * @param localEngine     true: refuse body fields the local engine would ignore; false (an HTTP backend): pass them
 * @param overwrite       start over: drop an earlier output and its work directory instead of resuming them
 * @param minPartitions   cut the input into at least this many partitions (0: twice Spark's default parallelism)
 * @param maxLineBytes    longest request line read
 * @param commitRows      rows per committed part (what an interruption can lose per running task, at most)
 * @param commitMillis    longest time a part stays open
 */
public record BatchSpec(String input, String output, Llm llm, List<String> servedModels, boolean localEngine,
                        boolean overwrite, int minPartitions, int maxLineBytes, int commitRows, long commitMillis) {
    public BatchSpec {
        servedModels = List.copyOf(servedModels);
        if (servedModels.isEmpty()) {
            throw new IllegalArgumentException("a batch needs at least one served model name");
        }
        if (commitRows < 1 || commitMillis < 1 || minPartitions < 0 || maxLineBytes < 16) {
            throw new IllegalArgumentException("commitRows, commitMillis and maxLineBytes must be positive and"
                    + " minPartitions >= 0: " + this);
        }
    }

    /** @return a local-engine batch with the defaults of {@code bin/stoker batch} */
    public static BatchSpec local(String input, String output, Llm llm, List<String> servedModels) {
        return new BatchSpec(input, output, llm, servedModels, true, false, 0, ReadOptions.DEFAULT_MAX_LINE_BYTES,
                256, 60_000);
    }

    public BatchSpec withOverwrite(boolean on) {
        return new BatchSpec(input, output, llm, servedModels, localEngine, on, minPartitions, maxLineBytes, commitRows,
                commitMillis);
    }

    public BatchSpec withPartitions(int min) {
        return new BatchSpec(input, output, llm, servedModels, localEngine, overwrite, min, maxLineBytes, commitRows,
                commitMillis);
    }

    public BatchSpec withCommit(int rows, long millis) {
        return new BatchSpec(input, output, llm, servedModels, localEngine, overwrite, minPartitions, maxLineBytes, rows,
                millis);
    }

    public BatchSpec withMaxLineBytes(int bytes) {
        return new BatchSpec(input, output, llm, servedModels, localEngine, overwrite, minPartitions, bytes, commitRows,
                commitMillis);
    }
}
