package io.stoker.spark.batch;

/**
 * Layout of the part files results are written to before they are merged into one output file.
 *
 * <pre>
 * part file  &lt;dir&gt;/part-&lt;partition&gt;-&lt;attempt&gt;-&lt;seq&gt;.jsonl: results of ONE input file, in ascending line order
 *   ┌────────────────┬────┬─────┬────┬──────────────────────────────┬────┐
 *   │ line (decimal) │ \t │ 1|0 │ \t │ output line (OpenAI JSON)    │ \n │
 *   └────────────────┴────┴─────┴────┴──────────────────────────────┴────┘
 *     the input line     ok: status 200     what the output file gets
 *
 * meta file  &lt;dir&gt;/part-….meta, written BEFORE the part file is renamed into place from &lt;dir&gt;/_tmp/:
 *   {"file": "&lt;input URI&gt;", "first": 12, "last": 400, "rows": 389, "ok": [[12, 200], [202, 400]]}
 *   ok: the lines answered with status 200, as inclusive ranges
 * </pre>
 *
 * A part file is committed by its rename: it either exists whole or not at all; a meta file without its part file is
 * ignored. JSON output never contains a raw tab or line break, so the fields split unambiguously.
 */
final class PartDescriptor {
    static final String PART_SUFFIX = ".jsonl";
    static final String META_SUFFIX = ".meta";
    static final String TMP_DIR = "_tmp";

    private PartDescriptor() {
    }

    /** One record of a part file. */
    record Record(long line, boolean ok, String json) {
    }

    static String encode(long line, boolean ok, String json) {
        return line + "\t" + (ok ? '1' : '0') + "\t" + json + "\n";
    }

    /** @throws IllegalStateException when the text is not a part record */
    static Record decode(String text, String where) {
        int t1 = text.indexOf('\t');
        int t2 = t1 < 0 ? -1 : text.indexOf('\t', t1 + 1);
        if (t1 <= 0 || t2 != t1 + 2) {
            throw new IllegalStateException(where + " is not a Stoker batch part file (record: "
                    + (text.length() > 80 ? text.substring(0, 80) + "..." : text) + ")");
        }
        return new Record(Long.parseLong(text, 0, t1, 10), text.charAt(t1 + 1) == '1', text.substring(t2 + 1));
    }
}
