package io.stoker.shell;

import io.stoker.spark.cli.LocalSparkHome;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code bin/stoker sql -e "STATEMENTS;..." [-f FILE] [--master M] [--conf k=v] [--max-rows N] [--verbose]}: runs SQL
 * statements on a SparkSession with Stoker's plugin (so {@code llm_generate} is there) and prints each result as a
 * table, as spark-sql's command line does. {@code -e} and {@code -f} may be repeated and mixed; they run in the order
 * given. Without either, the statements come from standard input. Statements that return no columns (DDL, temp
 * views) print nothing. The first failing statement stops the run: its number, line and a short message go to
 * stderr (the stack trace too with {@code --verbose}) and the exit code is 1; a bad command line exits with 2.
 */
public final class SqlCommand {
    static final String NAME = "stoker sql";
    static final int DEFAULT_MAX_ROWS = 1000;

    private SqlCommand() {
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args));
    }

    /** @return the exit code: 0 when every statement ran, 1 when one failed, 2 for a bad command line */
    public static int run(String[] args) throws IOException, InterruptedException {
        SessionOptions options;
        List<Source> sources = new ArrayList<>();
        int maxRows = DEFAULT_MAX_ROWS;
        try {
            options = SessionOptions.parse(NAME, args);
            List<String> rest = options.rest();
            for (int i = 0; i < rest.size(); i++) {
                String a = rest.get(i);
                switch (a) {
                    case "-e" -> sources.add(new Source("-e", value(rest, ++i, "-e")));
                    case "-f" -> {
                        String file = value(rest, ++i, "-f");
                        sources.add(new Source(file, read(Path.of(file))));
                    }
                    case "--max-rows" -> maxRows = positive(value(rest, ++i, "--max-rows"));
                    case "--help", "-h" -> {
                        System.out.println(usage());
                        return 0;
                    }
                    default -> throw new SessionOptions.UsageException(NAME + ": unknown option '" + a
                            + "' (try --help)");
                }
            }
            if (sources.isEmpty()) {
                sources.add(new Source("<stdin>", readStdin()));
            }
        } catch (SessionOptions.UsageException e) {
            System.err.println(e.getMessage());
            return 2;
        }
        if (ShellSessions.needsRelaunch(options)) {
            return LocalSparkHome.relaunch(SqlCommand.class.getName(), args);
        }
        ShellSessions.configureLogging(options.verbose());
        SparkSession spark = ShellSessions.start("Stoker SQL", options, null);
        try {
            return runAll(spark, sources, maxRows, options.verbose());
        } finally {
            spark.stop();
        }
    }

    /** Runs every statement of {@code sources} in order; stops at the first failure. */
    static int runAll(SparkSession spark, List<Source> sources, int maxRows, boolean verbose) {
        int number = 0;
        for (Source source : sources) {
            for (SqlScript.Statement st : SqlScript.split(source.text())) {
                number++;
                try {
                    Dataset<Row> result = spark.sql(st.text());
                    if (result.schema().nonEmpty()) {
                        result.show(maxRows, false);
                    }
                } catch (Exception e) {
                    System.out.flush();
                    System.err.println(NAME + ": statement " + number + " (" + source.name() + ", line " + st.line()
                            + ") failed: " + ErrorText.brief(e));
                    if (verbose) {
                        e.printStackTrace();
                    }
                    return 1;
                }
            }
        }
        return 0;
    }

    /** SQL text and where it came from ({@code -e}, a file name, {@code <stdin>}). */
    record Source(String name, String text) {
    }

    private static String value(List<String> rest, int i, String option) {
        if (i >= rest.size()) {
            throw new SessionOptions.UsageException(NAME + ": " + option + " needs a value");
        }
        return rest.get(i);
    }

    private static int positive(String s) {
        try {
            int n = Integer.parseInt(s);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new SessionOptions.UsageException(NAME + ": --max-rows must be a whole number >= 1, got '" + s + "'");
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new SessionOptions.UsageException(NAME + ": -f " + file + ": no such file");
        } catch (IOException e) {
            throw new SessionOptions.UsageException(NAME + ": -f " + file + ": cannot read it (" + e.getMessage() + ")");
        }
    }

    private static String readStdin() throws IOException {
        InputStream in = System.in;
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    static String usage() {
        return """
                usage: bin/stoker sql [-e "STATEMENT; ..."]... [-f FILE]... [--master M] [--conf key=value]...
                                      [--max-rows N] [--verbose]
                  Runs SQL statements with Stoker's plugin (llm_generate is there) and prints each result as a table.
                  -e SQL          statements separated by ';' (repeatable; -e and -f run in the order given)
                  -f FILE         statements from a file; without -e or -f they are read from standard input
                  --master M      Spark master (default local[*]; local-cluster[N,C,MB] works without Spark installed)
                  --conf k=v      a Spark conf (repeatable), e.g. --conf spark.sql.shuffle.partitions=4
                  --max-rows N    rows printed per result (default %d)
                  --verbose       Spark's warnings and full stack traces
                  Exit code: 0 when all statements ran, 1 at the first failing one (named on stderr), 2 for bad options.
                example:
                  bin/stoker sql -e "CREATE TEMP VIEW q AS SELECT * FROM VALUES (1, 'What is 2+3?') AS t(id, question);
                                     SELECT id, llm_generate(question, 'model', 'demo', 'max_tokens', 16).generated_text
                                     FROM q"
                """.formatted(DEFAULT_MAX_ROWS);
    }
}
