package io.stoker.benchmarks.spark.llm;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * CPU time of this JVM's threads, grouped by role (a poor man's profiler for the benchmark): which thread does the
 * work of a way. Take a {@link #snapshot()} before and after a run; {@link #groupsSince} gives the CPU seconds each
 * group used in between (threads that ended in between are not counted; {@code process} includes them, and GC and
 * JIT threads).
 */
public final class ThreadCpu {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /**
     * CPU nanoseconds per live thread id, with names, the process's CPU time, and per Linux thread (tid) its name and
     * run-queue wait ({@code /proc/self/task/TID/schedstat}: time runnable but not running, i.e. waiting for a core).
     */
    public record Snapshot(Map<Long, Long> cpuNanos, Map<Long, String> names, long processNanos,
                           Map<String, Long> waitNanos, Map<String, String> taskNames) {
    }

    private ThreadCpu() {
    }

    public static Snapshot snapshot() {
        Map<Long, Long> cpu = new HashMap<>();
        Map<Long, String> names = new HashMap<>();
        for (ThreadInfo t : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
            if (t == null) {
                continue;
            }
            long ns = THREADS.getThreadCpuTime(t.getThreadId());
            if (ns >= 0) {
                cpu.put(t.getThreadId(), ns);
                names.put(t.getThreadId(), t.getThreadName());
            }
        }
        Map<String, Long> wait = new HashMap<>();
        Map<String, String> comm = new HashMap<>();
        java.io.File[] tasks = new java.io.File("/proc/self/task").listFiles();
        for (java.io.File t : tasks == null ? new java.io.File[0] : tasks) {
            try {
                String[] st = java.nio.file.Files.readString(t.toPath().resolve("schedstat")).trim().split(" ");
                wait.put(t.getName(), Long.parseLong(st[1]));
                comm.put(t.getName(), java.nio.file.Files.readString(t.toPath().resolve("comm")).trim());
            } catch (java.io.IOException | RuntimeException e) {
                // the thread ended, or not Linux
            }
        }
        return new Snapshot(cpu, names, processCpuNanos(), wait, comm);
    }

    /**
     * @return seconds that threads of each group spent runnable but waiting for a core between {@code before} and now
     * (Linux thread names are cut to 15 characters; the JVM's main thread is named {@code java} there)
     */
    public static Map<String, Double> waitSince(Snapshot before) {
        Snapshot now = snapshot();
        Map<String, Long> ns = new java.util.TreeMap<>();
        now.waitNanos().forEach((tid, w) -> {
            String name = now.taskNames().get(tid);
            String g = name.equals("java") ? "main" : name.startsWith("Executor task l") ? "spark_tasks"
                    : group(name);
            ns.merge(g, Math.max(0, w - before.waitNanos().getOrDefault(tid, 0L)), Long::sum);
        });
        Map<String, Double> out = new LinkedHashMap<>();
        ns.forEach((g, v) -> {
            if (v >= 5_000_000) {
                out.put(g, Math.round(v / 1e7) / 100.0);
            }
        });
        return out;
    }

    private static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    /** @return the role of a thread by its name */
    static String group(String name) {
        if (name.equals("stoker-engine")) {
            return "engine_loop";
        }
        if (name.startsWith("stoker-cpu-")) {
            return "kernel_workers";
        }
        if (name.startsWith("stoker-actor-")) {
            if (name.endsWith("-prepare")) {
                return "preparer";
            }
            if (name.endsWith("-assemble")) {
                return "assembler";
            }
            if (name.endsWith("-engine")) {
                return "engine_actor";
            }
            return "other_actors";
        }
        if (name.startsWith("Executor task launch worker")) {
            return "spark_tasks";
        }
        if (name.equals("main")) {
            return "main";
        }
        return "other";
    }

    /** @return CPU seconds per group between {@code before} and now, plus {@code process} (the whole JVM) */
    public static Map<String, Double> groupsSince(Snapshot before) {
        Snapshot now = snapshot();
        Map<String, Long> ns = new LinkedHashMap<>();
        for (String g : new String[]{"engine_loop", "kernel_workers", "preparer", "engine_actor", "assembler",
            "spark_tasks", "main", "other_actors", "other"}) {
            ns.put(g, 0L);
        }
        now.cpuNanos().forEach((id, t) -> {
            long d = t - before.cpuNanos().getOrDefault(id, 0L);
            ns.merge(group(now.names().get(id)), Math.max(0, d), Long::sum);
        });
        Map<String, Double> out = new LinkedHashMap<>();
        ns.forEach((g, v) -> out.put(g, Math.round(v / 1e7) / 100.0));
        out.put("process", Math.round((now.processNanos() - before.processNanos()) / 1e7) / 100.0);
        return out;
    }
}
