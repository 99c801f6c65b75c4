package io.stoker.runtime.channel;

import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.comm.NcclCommunicator;
import io.stoker.runtime.graph.CompiledGraph;
import io.stoker.runtime.graph.GraphBuilder;
import io.stoker.runtime.graph.RemoteEdge;
import io.stoker.runtime.graph.RemoteEdgeSenderMain;
import io.stoker.runtime.comm.ReduceOp;
import io.stoker.runtime.cuda.Cuda;
import io.stoker.runtime.cuda.CudaActors;
import io.stoker.runtime.cuda.CudaDataType;
import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaDeviceConfig;
import io.stoker.runtime.cuda.CudaEvent;
import io.stoker.runtime.cuda.DeviceArray;
import io.stoker.runtime.cuda.DeviceProperties;
import io.stoker.runtime.cuda.Nccl;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The communication half of issue 13's GPU check ({@code benchmarks/gpu-comm-check.sh}): what one GPU can show.
 * NCCL refuses two ranks on one GPU, so it runs
 * <ol>
 *   <li>a single-rank NCCL smoke test: {@link NcclCommunicator} on one GPU actor (allreduce, allgather,
 *       reducescatter; with one rank each returns its input) after the raw shim's {@code ncclGetVersion};</li>
 *   <li>CUDA IPC between two processes on that GPU: a child JVM sends 12 arrays through a {@link CudaIpcChannel}
 *       (2 slots), every value checked;</li>
 *   <li>the channel's throughput for 16 MiB arrays and its small-array round trip, beside raw device-to-device
 *       copies of the same size on one stream (target: CUDA IPC within 10% of the raw copy).</li>
 * </ol>
 * Prints one JSON object; exit code 0 when every check passed, 1 when one failed, 3 when no CUDA device is usable.
 * With {@code --quick} (the simulator) it moves fewer and smaller arrays: timings there say nothing about a GPU.
 */
public final class GpuCommCheckMain {
    private static final long MIB = 1L << 20;

    private GpuCommCheckMain() {
    }

    public static void main(String[] args) {
        boolean quick = Arrays.asList(args).contains("--quick");
        if (!Cuda.isAvailable()) {
            System.out.println("{\"device\":null,\"reason\":" + quote("no CUDA driver or device on this machine ("
                    + (Cuda.isSimulated() ? "simulator" : "stoker.cuda=real") + "); run it on a lent GPU") + "}");
            System.exit(3);
        }
        String json = run(quick);
        System.out.println(json);
        System.exit(passed(json) ? 0 : 1);
    }

    /** @return true when every check in {@code json} (from {@link #run}) passed */
    static boolean passed(String json) {
        return !json.contains("\"status\":\"failed\"");
    }

    /** Runs the three checks on device 0 and returns the JSON object. */
    static String run(boolean quick) {
        StringBuilder json = new StringBuilder("{");
        DeviceProperties p = Cuda.properties(0);
        json.append("\"device\":{\"name\":").append(quote(p.name())).append(",\"simulated\":")
                .append(Cuda.isSimulated()).append("},");
        json.append("\"nccl_single_rank\":").append(check(GpuCommCheckMain::ncclSingleRank)).append(',');
        json.append("\"cuda_ipc_two_processes\":").append(check(GpuCommCheckMain::ipcTwoProcesses)).append(',');
        json.append("\"channel_vs_raw_copy\":").append(check(() -> bandwidth(quick))).append(',');
        json.append("\"graph_edge_per_execute\":").append(check(() -> graphEdge(quick))).append(',');
        json.append("\"not_run\":").append(quote("peer-copy and NCCL channels (need two GPUs / two NCCL ranks)"))
                .append('}');
        return json.toString();
    }

    private interface Check {
        String run() throws Exception;
    }

    /** @return the check's JSON, or {"status":"failed","error":...} */
    private static String check(Check c) {
        try {
            return c.run();
        } catch (Throwable t) {
            return "{\"status\":\"failed\",\"error\":" + quote(t.toString()) + "}";
        }
    }

    /** A GPU actor holding its device; it joins the communicator and runs blocking collectives. */
    static final class Rank implements AutoCloseable {
        final CudaDevice device;
        NcclCommunicator comm;

        Rank(CudaDevice device) {
            this.device = device;
        }

        Boolean join(NcclCommunicator c) {
            comm = c;
            c.join(0, device);
            return true;
        }

        Float first(DeviceArray a) {
            try (a) {
                return a.toFloats()[0];
            }
        }

        float[][] collectives(Integer n) {
            float[] in = new float[n];
            for (int i = 0; i < n; i++) {
                in[i] = i * 0.25f - 3;
            }
            try (DeviceArray a = DeviceArray.of(device, in, "a")) {
                comm.allreduceInPlace(0, a, ReduceOp.SUM);
                try (DeviceArray g = (DeviceArray) comm.allgather(0, a);
                     DeviceArray s = (DeviceArray) comm.reducescatter(0, a, ReduceOp.SUM)) {
                    return new float[][] {in, a.toFloats(), g.toFloats(), s.toFloats()};
                }
            }
        }

        @Override
        public void close() {
            if (comm != null) {
                comm.leave(0);
            }
            device.close();
        }
    }

    private static String ncclSingleRank() throws Exception {
        int version = Nccl.version();
        try (StokerRuntime rt = StokerRuntime.create(RuntimeConfig.defaults().withName("gpu-comm-check")
                .withGpuIds(List.of("0")))) {
            ActorHandle<Rank> a = rt.createActor(ActorSpec.of("rank0", CudaActors.onDevice(
                    new CudaDeviceConfig(256 * MIB, 0.9, null, MIB), (ctx, dev) -> new Rank(dev))).withGpus(1));
            NcclCommunicator comm = NcclCommunicator.create("smoke", List.of(a), 60, TimeUnit.SECONDS);
            a.call(Rank::join, comm).get(60, TimeUnit.SECONDS);
            long t0 = System.nanoTime();
            float[][] r = a.call(Rank::collectives, 1 << 16).get(60, TimeUnit.SECONDS);
            long micros = (System.nanoTime() - t0) / 1000;
            for (int k = 1; k < 4; k++) {
                if (!Arrays.equals(r[0], r[k])) {
                    throw new IllegalStateException(new String[] {"", "allreduce", "allgather", "reducescatter"}[k]
                            + " over one rank changed its input");
                }
            }
            return "{\"status\":\"passed\",\"nccl_version\":" + version + ",\"ops\":[\"allreduce\",\"allgather\","
                    + "\"reducescatter\"],\"elements\":" + (1 << 16) + ",\"micros_all_three\":" + micros + "}";
        }
    }

    private static Process writer(Path dir, CudaIpcChannel.Reader r, int count, int elements, String mode)
            throws Exception {
        return ChildJvm.start(CudaIpcWriterMain.class, dir.resolve("writer.log"), false, r.filledFile().toString(),
                r.freeFile().toString(), Integer.toString(count), Integer.toString(elements), mode);
    }

    /** Polls {@code count} arrays, checking each with {@code verify}, releasing each at once. */
    private static void receive(CudaIpcChannel.Reader r, Process p, Path log, int count, ArrayCheck verify)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        for (int a = 0; a < count; ) {
            DeviceArray view = r.poll();
            if (view == null) {
                if (System.nanoTime() > deadline || (!p.isAlive() && p.exitValue() != 0)) {
                    throw new IllegalStateException("array " + a + " of " + count + " never came; writer: "
                            + Files.readString(log).strip());
                }
                Thread.onSpinWait();
                continue;
            }
            verify.check(a, view);
            r.release(view);
            a++;
        }
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("the writer process failed: " + Files.readString(log).strip());
        }
    }

    private interface ArrayCheck {
        void check(int index, DeviceArray view);
    }

    private static String ipcTwoProcesses() throws Exception {
        Path dir = Files.createTempDirectory("stoker-gpu-comm");
        int count = 12;
        int elements = 3000;
        try (CudaDevice d = CudaDevice.open(0, new CudaDeviceConfig(256 * MIB, 0.9, null, MIB));
             CudaIpcChannel.Reader r = CudaIpcChannel.Reader.create("ipc", d, 2, elements * 4L,
                     SharedMemoryChannel.defaultDirectory())) {
            Process p = writer(dir, r, count, elements, "verify");
            ActorLocation here = ActorLocation.local("0");
            GpuChannelKind kind = GpuChannelPlanner.choose(new ActorLocation(here.host(), p.pid(), "0"), here);
            try {
                receive(r, p, dir.resolve("writer.log"), count, (a, view) -> {
                    float[] got = view.toFloats();
                    for (int i = 0; i < elements; i++) {
                        if (got[i] != a * 1000 + i + 0.5f) {
                            throw new IllegalStateException("array " + a + " element " + i + " is " + got[i]
                                    + ", expected " + (a * 1000 + i + 0.5f));
                        }
                    }
                });
            } finally {
                p.destroyForcibly();
            }
            return "{\"status\":\"passed\",\"planner_kind\":" + quote(kind.label()) + ",\"arrays\":" + count
                    + ",\"floats_each\":" + elements + "}";
        }
    }

    private static String bandwidth(boolean quick) throws Exception {
        Path dir = Files.createTempDirectory("stoker-gpu-comm");
        long bytes = quick ? MIB : 16 * MIB;
        int elements = (int) (bytes / 4);
        int count = quick ? 8 : 200;
        int small = quick ? 20 : 2000;
        StringBuilder out = new StringBuilder("{\"status\":\"passed\",\"array_bytes\":" + bytes + ",\"arrays\":" + count);
        try (CudaDevice d = CudaDevice.open(0, new CudaDeviceConfig(1024 * MIB, 0.9, null, MIB))) {
            // raw device-to-device copies of the same size on one stream, timed by events
            try (DeviceArray src = DeviceArray.allocate(d, CudaDataType.F32, elements, "src");
                 DeviceArray dst = DeviceArray.allocate(d, CudaDataType.F32, elements, "dst");
                 CudaEvent start = d.newEvent(); CudaEvent end = d.newEvent()) {
                src.buffer().fillFloatsAsync(1f, elements, d.stream());
                dst.buffer().copyFromAsync(src.buffer(), 0, 0, bytes, d.stream()); // warm-up
                start.record(d.stream());
                for (int i = 0; i < count; i++) {
                    dst.buffer().copyFromAsync(src.buffer(), 0, 0, bytes, d.stream());
                }
                end.record(d.stream());
                end.synchronize();
                double rawGbs = count * (double) bytes / (end.elapsedMillis(start) / 1e3) / 1e9;
                long t0 = System.nanoTime();
                for (int i = 0; i < small; i++) {
                    dst.buffer().copyFromAsync(src.buffer(), 0, 0, 4, d.stream());
                    d.stream().synchronize();
                }
                double rawSmallUs = (System.nanoTime() - t0) / 1e3 / small;
                out.append(",\"raw_copy_gb_per_s\":").append(fmt(rawGbs))
                        .append(",\"raw_small_copy_and_sync_us\":").append(fmt(rawSmallUs));
                double ipcGbs;
                try (CudaIpcChannel.Reader r = CudaIpcChannel.Reader.create("ipc-bw", d, 4, bytes,
                        SharedMemoryChannel.defaultDirectory())) {
                    Process p = writer(dir, r, count, elements, "bench");
                    try {
                        receive(r, p, dir.resolve("writer.log"), count, (a, view) -> { });
                    } finally {
                        p.destroyForcibly();
                    }
                    ipcGbs = benchGbs(dir.resolve("writer.log"));
                }
                double smallUs;
                try (CudaIpcChannel.Reader r = CudaIpcChannel.Reader.create("ipc-rt", d, 1, 4,
                        SharedMemoryChannel.defaultDirectory())) {
                    Process p = writer(dir, r, small, 1, "bench");
                    try {
                        receive(r, p, dir.resolve("writer.log"), small, (a, view) -> { });
                    } finally {
                        p.destroyForcibly();
                    }
                    String[] f = benchLine(dir.resolve("writer.log"));
                    smallUs = Long.parseLong(f[2]) / 1e3 / small;
                }
                out.append(",\"ipc_channel_gb_per_s\":").append(fmt(ipcGbs))
                        .append(",\"ipc_vs_raw\":").append(fmt(ipcGbs / rawGbs))
                        .append(",\"ipc_within_10_percent\":").append(ipcGbs >= 0.9 * rawGbs)
                        .append(",\"ipc_small_array_round_trip_us\":").append(fmt(smallUs))
                        .append(",\"note\":").append(quote("ipc throughput: the writer process's view (first offer"
                                + " until every copy is published, 4 slots); round trip: 1 slot, 4-byte arrays, each"
                                + " offer waits for the reader's release" + (quick ? "; --quick on the simulator:"
                                + " timings say nothing about a GPU" : "")))
                        .append('}');
                return out.toString();
            }
        }
    }

    /**
     * Per-execute time of compiled graphs joined by a GPU channel: a second JVM runs {@code input -> make a 1-float
     * DeviceArray -> sendTo} ({@code RemoteEdgeSenderMain}), this one {@code receiveFrom -> copy to host}, both one
     * execution at a time; after a warm-up, the time per received execution is what a graph with a GPU channel costs
     * per execute (device work: one 4-byte copy each side). Target (issue 13): under 50 us on a GPU.
     */
    private static String graphEdge(boolean quick) throws Exception {
        Path dir = Files.createTempDirectory("stoker-gpu-comm");
        int count = quick ? 200 : 5000;
        int warm = count / 5;
        try (StokerRuntime rt = StokerRuntime.create(RuntimeConfig.defaults().withName("edge-receiver")
                .withGpuIds(List.of("0")))) {
            ActorHandle<Rank> sink = rt.createActor(ActorSpec.of("sink", CudaActors.onDevice(
                    new CudaDeviceConfig(64 * MIB, 0.9, null, MIB), (ctx, d) -> new Rank(d))).withGpus(1));
            Process p = ChildJvm.start(RemoteEdgeSenderMain.class, dir.resolve("sender.log"), false, "edge",
                    dir.toString(),
                    Long.toString(ProcessHandle.current().pid()), Integer.toString(count), "1", "exit");
            try {
                RemoteEdge edge = RemoteEdge.of("edge", new ActorLocation(ActorLocation.local("0").host(), p.pid(),
                        "0")).withDirectory(dir).withSlots(2).withSlotBytes(4);
                GraphBuilder g = GraphBuilder.on(rt, "edge-receiver");
                g.<Integer>input();
                try (CompiledGraph<Integer, Float> cg = g.compile(g.bind(sink, Rank::first,
                        g.receiveFrom(sink, edge)))) {
                    long t0 = 0;
                    for (int x = 0; x < count; x++) {
                        if (x == warm) {
                            t0 = System.nanoTime();
                        }
                        float v = cg.execute(x).get(60, TimeUnit.SECONDS);
                        if (v != x * 1000 + 0.5f) {
                            throw new IllegalStateException("execution " + x + " got " + v + ", expected "
                                    + (x * 1000 + 0.5f));
                        }
                    }
                    double us = (System.nanoTime() - t0) / 1e3 / (count - warm);
                    return "{\"status\":\"passed\",\"executions\":" + (count - warm) + ",\"micros_per_execute\":"
                            + fmt(us) + ",\"under_50_us\":" + (us < 50) + ",\"note\":" + quote("two graphs in two"
                            + " processes joined by a CUDA IPC edge, one execution at a time each"
                            + (quick ? "; --quick on the simulator: timings say nothing about a GPU" : "")) + "}";
                }
            } finally {
                p.destroyForcibly();
            }
        }
    }

    private static String[] benchLine(Path log) throws Exception {
        for (String line : Files.readAllLines(log)) {
            if (line.startsWith("BENCH ")) {
                return line.split(" ");
            }
        }
        throw new IllegalStateException("the writer printed no BENCH line: " + Files.readString(log).strip());
    }

    private static double benchGbs(Path log) throws Exception {
        String[] f = benchLine(log);
        return Long.parseLong(f[1]) / (Long.parseLong(f[2]) / 1e9) / 1e9;
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
