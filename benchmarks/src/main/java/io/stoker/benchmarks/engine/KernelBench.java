package io.stoker.benchmarks.engine;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.backend.Activation;
import io.stoker.llm.backend.Backend;
import io.stoker.llm.backend.cpu.CpuBackend;
import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.MappedTensor;
import io.stoker.llm.tensor.Q8;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.SplittableRandom;

/**
 * {@code bin/stoker bench engine --kernels}: the CPU backend's matrix product alone, on one thread, at SmolLM-135M's
 * shapes (q/o 576x576, gate/up 1536x576, down 576x1536, a 8192-row slice of the LM head) for 1 to 32 tokens. Reports
 * GFLOP per second of the thread's CPU time (steady on a shared machine: other processes take CPU time away, not
 * speed) and of wall time. Weights sit in direct buffers like a mapped file's, so each call copies tiles as in the
 * engine.
 */
final class KernelBench {
    private KernelBench() {
    }

    static void run(List<String> dtypes, boolean json) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        int[][] shapes = {{576, 576}, {1536, 576}, {576, 1536}, {8192, 576}};
        int[] tokens = {1, 4, 16, 32};
        try (Backend be = new CpuBackend(1)) {
            for (String d : dtypes) {
                DType dt = DType.valueOf(d.toUpperCase(java.util.Locale.ROOT));
                for (int[] sh : shapes) {
                    MappedTensor w = tensor(dt, sh[0], sh[1]);
                    for (int n : tokens) {
                        Activation x = be.allocate("x", n, sh[1]);
                        float[] xs = new float[n * sh[1]];
                        for (int i = 0; i < xs.length; i++) {
                            xs[i] = (float) Math.sin(i);
                        }
                        be.copyFromHost(xs, 0, n, x);
                        Activation y = be.allocate("y", n, sh[0]);
                        double flops = 2.0 * sh[0] * sh[1] * n;
                        int iters = (int) Math.max(5, 2e9 / flops);
                        for (int i = 0; i < iters; i++) {
                            be.matmul(w, 0, 0, x, n, y); // warm-up
                        }
                        double bestCpu = 0;
                        double bestWall = 0;
                        for (int rep = 0; rep < 3; rep++) {
                            long c0 = mx.getCurrentThreadCpuTime();
                            long t0 = System.nanoTime();
                            for (int i = 0; i < iters; i++) {
                                be.matmul(w, 0, 0, x, n, y);
                            }
                            long cpu = mx.getCurrentThreadCpuTime() - c0;
                            long wall = System.nanoTime() - t0;
                            bestCpu = Math.max(bestCpu, flops * iters / cpu);
                            bestWall = Math.max(bestWall, flops * iters / wall);
                        }
                        ObjectNode o = BenchResult.line("stoker-kernel", d, n, sh[0] + "x" + sh[1], 0);
                        o.remove("tokens_per_s");
                        o.put("gflops_per_cpu_s", BenchResult.round(bestCpu));
                        o.put("gflops", BenchResult.round(bestWall));
                        if (json) {
                            System.out.println(BenchResult.json(o));
                        } else {
                            System.out.printf("%-6s %-9s %3d tokens %8.1f GFLOP/cpu-s %8.1f GFLOP/s%n", d,
                                    sh[0] + "x" + sh[1], n, bestCpu, bestWall);
                        }
                    }
                }
            }
        }
    }

    /** Random weights of {@code rows x cols} in a direct little-endian buffer (F32 or Q8_0). */
    private static MappedTensor tensor(DType dt, int rows, int cols) {
        SplittableRandom r = new SplittableRandom(1);
        int rowBytes = (int) dt.bytesFor(cols);
        ByteBuffer b = ByteBuffer.allocateDirect(rows * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
        float[] row = new float[cols];
        byte[] q = new byte[rowBytes];
        for (int i = 0; i < rows; i++) {
            for (int c = 0; c < cols; c++) {
                row[c] = (float) (r.nextDouble() - 0.5);
            }
            if (dt == DType.F32) {
                for (float v : row) {
                    b.putFloat(v);
                }
            } else if (dt == DType.Q8_0) {
                Q8.quantize(row, 0, cols, q, 0);
                b.put(q);
            } else {
                throw new IllegalArgumentException("--kernels measures f32 and q8_0, not " + dt);
            }
        }
        b.flip();
        return new MappedTensor("w", dt, new long[]{rows, cols}, new ByteBuffer[]{b}, rows);
    }
}
