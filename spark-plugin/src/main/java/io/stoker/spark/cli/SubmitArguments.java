package io.stoker.spark.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A spark-submit command line split the way Spark's SparkSubmit reads it: options (each with its value, or none for
 * a switch) up to the first argument that is not an option, which is the primary resource (the application jar);
 * everything after it belongs to the application. {@code --name=value} is read as {@code --name value}, and for an
 * option given twice the last one counts, as in spark-submit.
 *
 * <p>Immutable; the {@code with*} methods return copies.
 */
final class SubmitArguments {
    /** spark-submit's options that take a value (Spark 4.x). */
    private static final Set<String> WITH_VALUE = Set.of("--archives", "--class", "--conf", "-c", "--deploy-mode",
            "--driver-class-path", "--driver-cores", "--driver-java-options", "--driver-library-path",
            "--driver-memory", "--exclude-packages", "--executor-cores", "--executor-memory", "--files", "--jars",
            "--keytab", "--kill", "--master", "--name", "--num-executors", "--packages", "--principal",
            "--properties-file", "--proxy-user", "--py-files", "--queue", "--remote", "--repositories", "--status",
            "--total-executor-cores");
    private static final Pattern EQ_SEPARATED = Pattern.compile("(--[^=]+)=(.+)", Pattern.DOTALL);

    /** One option as given; {@code value} is null for a switch. */
    record Option(String name, String value) {
        boolean isConf() {
            return name.equals("--conf") || name.equals("-c");
        }

        /** @return the key of a {@code --conf key=value}, or null */
        String confKey() {
            if (!isConf() || value == null) {
                return null;
            }
            int eq = value.indexOf('=');
            return eq < 0 ? value : value.substring(0, eq);
        }

        /** @return the value of a {@code --conf key=value}, or null */
        String confValue() {
            int eq = value == null ? -1 : value.indexOf('=');
            return isConf() && eq >= 0 ? value.substring(eq + 1) : null;
        }
    }

    private final List<Option> options;
    private final String primaryResource;
    private final List<String> appArgs;

    private SubmitArguments(List<Option> options, String primaryResource, List<String> appArgs) {
        this.options = List.copyOf(options);
        this.primaryResource = primaryResource;
        this.appArgs = List.copyOf(appArgs);
    }

    /** Splits {@code args}; an option that needs a value but ends the line keeps a null value (spark-submit reports it). */
    static SubmitArguments parse(List<String> args) {
        List<Option> opts = new ArrayList<>();
        int i = 0;
        while (i < args.size()) {
            String a = args.get(i);
            String name = a;
            String value = null;
            Matcher m = EQ_SEPARATED.matcher(a);
            if (m.matches()) {
                name = m.group(1);
                value = m.group(2);
            }
            if (WITH_VALUE.contains(name)) {
                if (value == null && i + 1 < args.size()) {
                    value = args.get(++i);
                }
                opts.add(new Option(name, value));
            } else if (a.startsWith("-")) {
                opts.add(new Option(a, null));
            } else {
                return new SubmitArguments(opts, a, args.subList(i + 1, args.size()));
            }
            i++;
        }
        return new SubmitArguments(opts, null, List.of());
    }

    List<Option> options() {
        return options;
    }

    /** @return the application jar (or other primary resource), or null when none was given */
    String primaryResource() {
        return primaryResource;
    }

    List<String> appArgs() {
        return appArgs;
    }

    /** @return true when the switch (e.g. {@code --verbose}) was given before the primary resource */
    boolean has(String switchName) {
        return options.stream().anyMatch(o -> o.name().equals(switchName));
    }

    /** @return the value of the last {@code name} option, or null */
    String value(String name) {
        String v = null;
        for (Option o : options) {
            if (o.name().equals(name)) {
                v = o.value();
            }
        }
        return v;
    }

    /** @return the value of the last {@code --conf key=...}, or null */
    String conf(String key) {
        String v = null;
        for (Option o : options) {
            if (key.equals(o.confKey())) {
                v = o.confValue();
            }
        }
        return v;
    }

    /**
     * @param translations spark-submit options that set a Spark property (e.g. {@code --driver-memory} sets
     *                     {@code spark.driver.memory}), by option name
     * @return every Spark property this command line sets, in order, the last setting of each winning
     */
    Map<String, String> sparkProperties(Map<String, String> translations) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Option o : options) {
            if (o.isConf() && o.confValue() != null) {
                out.put(o.confKey(), o.confValue());
            } else if (translations.containsKey(o.name()) && o.value() != null) {
                out.put(translations.get(o.name()), o.value());
            }
        }
        return out;
    }

    /** @return a copy without the switch {@code name} */
    SubmitArguments without(String name) {
        List<Option> opts = new ArrayList<>(options);
        opts.removeIf(o -> o.name().equals(name));
        return new SubmitArguments(opts, primaryResource, appArgs);
    }

    /** @return a copy whose last {@code name} option has {@code value}, or with the option added when absent */
    SubmitArguments withValue(String name, String value) {
        List<Option> opts = new ArrayList<>(options);
        for (int i = opts.size() - 1; i >= 0; i--) {
            if (opts.get(i).name().equals(name)) {
                opts.set(i, new Option(name, value));
                return new SubmitArguments(opts, primaryResource, appArgs);
            }
        }
        opts.add(new Option(name, value));
        return new SubmitArguments(opts, primaryResource, appArgs);
    }

    /** @return a copy whose last {@code --conf key=...} has {@code value}, or with {@code --conf key=value} added */
    SubmitArguments withConf(String key, String value) {
        List<Option> opts = new ArrayList<>(options);
        for (int i = opts.size() - 1; i >= 0; i--) {
            if (key.equals(opts.get(i).confKey())) {
                opts.set(i, new Option(opts.get(i).name(), key + "=" + value));
                return new SubmitArguments(opts, primaryResource, appArgs);
            }
        }
        opts.add(new Option("--conf", key + "=" + value));
        return new SubmitArguments(opts, primaryResource, appArgs);
    }

    /** @return the command line: options (each as {@code name value}), the primary resource, the application's args */
    List<String> toList() {
        List<String> out = new ArrayList<>();
        for (Option o : options) {
            out.add(o.name());
            if (o.value() != null) {
                out.add(o.value());
            }
        }
        if (primaryResource != null) {
            out.add(primaryResource);
        }
        out.addAll(appArgs);
        return out;
    }
}
