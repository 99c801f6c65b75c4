package io.stoker.shell;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The options {@code bin/stoker shell} and {@code bin/stoker sql} share: {@code --master M}, {@code --conf k=v}
 * (repeatable) and {@code --verbose}. Immutable.
 *
 * @param master  the Spark master; null means {@code spark.master} from the confs, else {@code local[*]}
 * @param conf    Spark confs in the order given
 * @param verbose Spark's warnings and full stack traces instead of short error messages
 * @param rest    the arguments these options do not cover, in order, for the command to parse
 */
public record SessionOptions(String master, Map<String, String> conf, boolean verbose, List<String> rest) {
    public SessionOptions {
        conf = Collections.unmodifiableMap(new LinkedHashMap<>(conf));
        rest = List.copyOf(rest);
    }

    /**
     * @param command the command's name for error messages ({@code "stoker sql"})
     * @throws UsageException for a missing value or a {@code --conf} without {@code =}
     */
    public static SessionOptions parse(String command, String[] args) {
        String master = null;
        Map<String, String> conf = new LinkedHashMap<>();
        boolean verbose = false;
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--master") || a.startsWith("--master=")) {
                master = a.equals("--master") ? value(command, args, ++i, "--master") : a.substring(9);
            } else if (a.equals("--conf") || a.startsWith("--conf=")) {
                String kv = a.equals("--conf") ? value(command, args, ++i, "--conf") : a.substring(7);
                int eq = kv.indexOf('=');
                if (eq <= 0) {
                    throw new UsageException(command + ": --conf takes key=value, got '" + kv + "'");
                }
                conf.put(kv.substring(0, eq).strip(), kv.substring(eq + 1));
            } else if (a.equals("--verbose") || a.equals("-v")) {
                verbose = true;
            } else {
                rest.add(a);
            }
        }
        return new SessionOptions(master, conf, verbose, rest);
    }

    /** @return the value following option {@code args[i - 1]} */
    static String value(String command, String[] args, int i, String option) {
        if (i >= args.length) {
            throw new UsageException(command + ": " + option + " needs a value");
        }
        return args[i];
    }

    /** @return the master to use: {@code --master}, else {@code spark.master} from the confs, else local[*] */
    public String effectiveMaster() {
        if (master != null) {
            return master;
        }
        return conf.getOrDefault("spark.master", "local[*]");
    }

    /** A bad command line: the message says which option and what is expected. */
    public static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public UsageException(String message) {
            super(message);
        }
    }
}
