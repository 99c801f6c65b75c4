package io.stoker.llm.backend.cpu;

import io.stoker.llm.backend.Activation;
import io.stoker.llm.backend.Backend;
import io.stoker.llm.backend.TokenSampler;
import io.stoker.llm.kv.KvCache;
import io.stoker.llm.load.RandomTensor;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.MappedTensor;
import io.stoker.llm.tensor.Tensor;
import io.stoker.runtime.channel.IdleKind;
import io.stoker.runtime.comm.Communicator;
import io.stoker.runtime.comm.ReduceOp;

import java.util.HashMap;
import java.util.Map;

/**
 * CPU backend: memory-mapped weights, heap activations, a {@link WorkerPool}, and Vector API kernels
 * ({@link CpuKernels}, {@link CpuMatmul}, {@link CpuAttention}). Element-wise ops are plain Java loops; they are the
 * scalar reference a device backend is held to.
 *
 * <p>Thread-safety: one thread calls it at a time; the pool's threads run the kernels.
 */
public final class CpuBackend implements Backend {
    private final WorkerPool pool;
    private final Scratch[] scratch;
    private final Map<Integer, float[]> reduceBuffers = new HashMap<>(); // by length; collectives need exact lengths

    public CpuBackend(int threads) {
        this(threads, IdleKind.BACKOFF);
    }

    /** @param idle how the worker threads wait between kernels */
    public CpuBackend(int threads, IdleKind idle) {
        this.pool = new WorkerPool(threads, "stoker-cpu", idle);
        this.scratch = new Scratch[threads];
        for (int i = 0; i < threads; i++) {
            scratch[i] = new Scratch();
        }
    }

    /** A backend with one thread per available processor. */
    public static CpuBackend create() {
        return new CpuBackend(Runtime.getRuntime().availableProcessors());
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int threads() {
        return pool.threads();
    }

    // ------------------------------------------------------------------------------------------ memory

    @Override
    public Activation allocate(String name, int maxRows, int cols) {
        return new CpuActivation(name, maxRows, cols);
    }

    @Override
    public Tensor prepare(Tensor weight) {
        if (weight instanceof CpuVector) {
            return weight;
        }
        MappedTensor m = weight instanceof RandomTensor r ? r.materialize() : mapped(weight);
        if (m.rows() == 1) {
            return new CpuVector(m.name(), m.shape(), m.toFloatArray());
        }
        return m;
    }

    @Override
    public KvCache createKvCache(int firstLayer, int layers, int numBlocks, int blockSize, int kvHeads, int headDim,
                                 DType dtype) {
        return new CpuKvCache(firstLayer, layers, numBlocks, blockSize, kvHeads, headDim, dtype);
    }

    @Override
    public TokenSampler createSampler(int vocab, int slots) {
        return new CpuSampler(pool, vocab, slots);
    }

    @Override
    public void copyToHost(Activation a, int rows, float[] dst, int off) {
        CpuActivation c = act(a, rows);
        System.arraycopy(c.data, 0, dst, off, rows * c.cols);
    }

    @Override
    public void copyFromHost(float[] src, int off, int rows, Activation a) {
        CpuActivation c = act(a, rows);
        System.arraycopy(src, off, c.data, 0, rows * c.cols);
    }

    // ------------------------------------------------------------------------------------------ ops

    @Override
    public void embed(Tensor table, ForwardBatch b, Activation out) {
        MappedTensor t = mapped(table);
        CpuActivation o = act(out, b.numTokens());
        int dim = t.cols();
        checkCols(o, dim, "embed");
        for (int i = 0; i < b.numTokens(); i++) {
            int id = b.tokens()[i];
            if (id < 0 || id >= t.rows()) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + t.rows()
                        + ") of '" + t.name() + "'");
            }
            t.dequantizeRow(id, o.data, i * dim);
        }
    }

    @Override
    public void rmsNorm(Activation x, Tensor weight, double eps, int n, Activation out) {
        CpuActivation xa = act(x, n);
        CpuActivation oa = act(out, n);
        float[] w = vector(weight);
        int dim = xa.cols;
        checkCols(oa, dim, "rmsNorm");
        checkLen(w, dim, weight);
        float[] xs = xa.data;
        float[] os = oa.data;
        for (int t = 0; t < n; t++) {
            int o = t * dim;
            double ss = 0;
            for (int i = 0; i < dim; i++) {
                ss += (double) xs[o + i] * xs[o + i];
            }
            float inv = (float) (1.0 / Math.sqrt(ss / dim + eps));
            for (int i = 0; i < dim; i++) {
                os[o + i] = w[i] * (xs[o + i] * inv);
            }
        }
    }

    @Override
    public void matmul(Tensor w, int row0, int col0, Activation x, int n, Activation y) {
        CpuActivation xa = act(x, n);
        CpuActivation ya = act(y, n);
        CpuMatmul.run(pool, scratch, mapped(w), row0, ya.cols, col0, xa.cols, xa.data, xa.cols, n, ya.data, ya.cols);
    }

    @Override
    public void addBias(Activation y, Tensor bias, int offset, int n) {
        CpuActivation ya = act(y, n);
        float[] b = vector(bias);
        int w = ya.cols;
        if (offset < 0 || offset + w > b.length) {
            throw new IllegalArgumentException("bias '" + bias.name() + "' of " + b.length + " has no columns ["
                    + offset + ", " + (offset + w) + ")");
        }
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < w; i++) {
                ya.data[t * w + i] += b[offset + i];
            }
        }
    }

    @Override
    public void ropeCache(ForwardBatch b, double[] invFreq, Activation cosSin) {
        int n = b.numTokens();
        CpuActivation cs = act(cosSin, n);
        int half = invFreq.length;
        checkCols(cs, 2 * half, "ropeCache");
        for (int t = 0; t < n; t++) {
            int o = t * 2 * half;
            for (int i = 0; i < half; i++) {
                double angle = b.positions()[t] * invFreq[i];
                cs.data[o + i] = (float) Math.cos(angle);
                cs.data[o + half + i] = (float) Math.sin(angle);
            }
        }
    }

    @Override
    public void rope(Activation x, int n, int heads, int headDim, Activation cosSin, boolean interleaved) {
        CpuActivation xa = act(x, n);
        CpuActivation cs = act(cosSin, n);
        checkCols(xa, heads * headDim, "rope");
        checkCols(cs, headDim, "rope tables");
        int half = headDim / 2;
        float[] v = xa.data;
        for (int t = 0; t < n; t++) {
            int c0 = t * headDim;
            for (int h = 0; h < heads; h++) {
                int o = (t * heads + h) * headDim;
                for (int i = 0; i < half; i++) {
                    float c = cs.data[c0 + i];
                    float sn = cs.data[c0 + half + i];
                    int i0 = interleaved ? o + 2 * i : o + i;
                    int i1 = interleaved ? i0 + 1 : i0 + half;
                    float x0 = v[i0];
                    float x1 = v[i1];
                    v[i0] = x0 * c - x1 * sn;
                    v[i1] = x1 * c + x0 * sn;
                }
            }
        }
    }

    @Override
    public void kvWrite(KvCache cache, int layer, Activation k, Activation v, ForwardBatch b) {
        CpuKvCache c = kv(cache);
        CpuActivation ka = act(k, b.numTokens());
        CpuActivation va = act(v, b.numTokens());
        int kvDim = c.kvHeads() * c.headDim();
        checkCols(ka, kvDim, "kvWrite keys");
        checkCols(va, kvDim, "kvWrite values");
        CpuAttention.write(c, layer, ka.data, va.data, kvDim, b);
    }

    @Override
    public void attention(Activation q, int heads, KvCache cache, int layer, int window, ForwardBatch b,
                          Activation out) {
        CpuKvCache c = kv(cache);
        CpuActivation qa = act(q, b.numTokens());
        CpuActivation oa = act(out, b.numTokens());
        if (heads % c.kvHeads() != 0) {
            throw new IllegalArgumentException(heads + " query heads do not group over " + c.kvHeads() + " KV heads");
        }
        checkCols(qa, heads * c.headDim(), "attention queries");
        checkCols(oa, heads * c.headDim(), "attention output");
        CpuAttention.attend(pool, scratch, qa.data, heads, c, layer, window, b, oa.data);
    }

    @Override
    public void add(Activation x, Activation y, int n) {
        CpuActivation xa = act(x, n);
        CpuActivation ya = act(y, n);
        checkCols(ya, xa.cols, "add");
        int len = n * xa.cols;
        for (int i = 0; i < len; i++) {
            xa.data[i] += ya.data[i];
        }
    }

    @Override
    public void siluMul(Activation gate, Activation up, int n) {
        CpuActivation g = act(gate, n);
        CpuActivation u = act(up, n);
        checkCols(u, g.cols, "siluMul");
        int len = n * g.cols;
        for (int i = 0; i < len; i++) {
            float x = g.data[i];
            g.data[i] = (float) (x / (1.0 + Math.exp(-x))) * u.data[i];
        }
    }

    @Override
    public void gatherRows(Activation src, int[] rows, int m, Activation dst) {
        CpuActivation s = (CpuActivation) src;
        CpuActivation d = act(dst, m);
        checkCols(d, s.cols, "gatherRows");
        for (int i = 0; i < m; i++) {
            if (rows[i] < 0 || rows[i] >= s.maxRows) {
                throw new IllegalArgumentException("row " + rows[i] + " is outside '" + s.name + "'");
            }
            System.arraycopy(s.data, rows[i] * s.cols, d.data, i * s.cols, s.cols);
        }
    }

    // ------------------------------------------------------------------------------------------ collectives

    @Override
    public void allReduceSum(Communicator comm, int rank, Activation x, int n) {
        CpuActivation xa = act(x, n);
        int len = n * xa.cols;
        float[] buf = reduceBuffers.computeIfAbsent(len, float[]::new);
        System.arraycopy(xa.data, 0, buf, 0, len);
        comm.allreduceInPlace(rank, buf, ReduceOp.SUM);
        System.arraycopy(buf, 0, xa.data, 0, len);
    }

    @Override
    public void close() {
        pool.close();
    }

    // ------------------------------------------------------------------------------------------ helpers

    private static CpuActivation act(Activation a, int rows) {
        if (!(a instanceof CpuActivation)) {
            throw new IllegalArgumentException("activation " + a + " does not belong to the CPU backend");
        }
        CpuActivation c = (CpuActivation) a;
        if (rows > c.maxRows) {
            throw new IllegalArgumentException(rows + " rows exceed activation '" + c.name + "' of " + c.maxRows);
        }
        return c;
    }

    private static MappedTensor mapped(Tensor t) {
        if (!(t instanceof MappedTensor)) {
            throw new IllegalArgumentException("tensor '" + t.name() + "' is not a mapped tensor the CPU backend reads");
        }
        return (MappedTensor) t;
    }

    private static float[] vector(Tensor t) {
        if (t instanceof CpuVector) {
            return ((CpuVector) t).data;
        }
        return mapped(t).toFloatArray();
    }

    private static CpuKvCache kv(KvCache c) {
        if (!(c instanceof CpuKvCache)) {
            throw new IllegalArgumentException("KV cache " + c + " does not belong to the CPU backend");
        }
        return (CpuKvCache) c;
    }

    private static void checkCols(CpuActivation a, int cols, String op) {
        if (a.cols != cols) {
            throw new IllegalArgumentException(op + ": activation '" + a.name + "' has " + a.cols + " columns, "
                    + cols + " expected");
        }
    }

    private static void checkLen(float[] w, int n, Tensor t) {
        if (w.length != n) {
            throw new IllegalArgumentException("weight '" + t.name() + "' has " + w.length + " values, " + n
                    + " expected");
        }
    }
}
