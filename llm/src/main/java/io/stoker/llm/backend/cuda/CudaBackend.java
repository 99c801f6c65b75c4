package io.stoker.llm.backend.cuda;

import io.stoker.llm.backend.Activation;
import io.stoker.llm.backend.Backend;
import io.stoker.llm.backend.TokenSampler;
import io.stoker.llm.kv.KvCache;
import io.stoker.llm.kv.KvCacheDescriptor;
import io.stoker.llm.load.RandomTensor;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.MappedTensor;
import io.stoker.llm.tensor.Tensor;
import io.stoker.runtime.comm.Communicator;
import io.stoker.runtime.comm.NcclCommunicator;
import io.stoker.runtime.comm.ReduceOp;
import io.stoker.runtime.cuda.CudaDataType;
import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaDeviceConfig;
import io.stoker.runtime.cuda.CudaStream;
import io.stoker.runtime.cuda.Cublas;
import io.stoker.runtime.cuda.DeviceArray;
import io.stoker.runtime.cuda.DeviceBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The engine on an NVIDIA GPU: weights uploaded once, activations and the KV cache in device memory, GEMMs through
 * cuBLAS, every other op a kernel of {@code llm_kernels.cu} (compiled by NVRTC for the device, or run by the CUDA
 * simulator), all queued on the device's main stream. The host sees nothing but sampled token ids (and logprobs where
 * asked): a step's only synchronisation is the copy of those ids.
 *
 * <p>Numerics: activations are f32. F32 weights multiply f32 activations (cuBLAS SGEMM-equivalent GemmEx, f32
 * compute); F16/BF16 weights multiply the activations rounded to the weight type, with f32 accumulation and f32
 * output (tensor cores on a GPU), as Hugging Face's half-precision inference does. RMSNorm sums squares in double, RoPE
 * angles are computed in double and SwiGLU's sigmoid in double, like the CPU backend. Every kernel computes a token's
 * outputs from that token's inputs only; the simulator's cuBLAS reduces in a fixed order, so results there are
 * batch-invariant bit for bit. On a GPU, cuBLAS may choose a different algorithm for a different number of tokens.
 *
 * <p>Thread-safety: bound to the thread that opened its device (a GPU actor's thread, or the engine's); one call at a
 * time.
 */
public final class CudaBackend implements Backend {
    private static final Logger LOG = LoggerFactory.getLogger(CudaBackend.class);
    private static final int UPLOAD_CHUNK = 64 << 20;

    private final CudaDevice device;
    private final boolean ownsDevice;
    private final CudaStream stream;
    private final LlmKernels kernels;
    private final Cublas cublas;
    private final List<AutoCloseable> owned = new ArrayList<>(); // closed newest first with the backend
    private final Map<Tensor, CudaTensor> prepared = new IdentityHashMap<>();
    private final Staging batchStaging;
    private final Staging rowStaging;
    private boolean closed;

    // the batch whose index arrays are on the device
    private ForwardBatch uploaded;
    private DeviceBuffer tokens;
    private DeviceBuffer positions;
    private DeviceBuffer tokenSeq;
    private DeviceBuffer logitTokens;
    private DeviceBuffer blockTables;
    private int tableWidth;
    private ForwardBatch checked; // the batch whose block ids were checked against the KV cache

    // rotary inverse frequencies (one array per model)
    private double[] invFreqHost;
    private DeviceBuffer invFreq;

    // activations rounded to a weight type for the GEMMs that read them
    private DeviceBuffer half;
    private CudaActivation halfOf;
    private long halfVersion;
    private int halfRows;
    private CudaDataType halfType;

    /**
     * A backend on an open device.
     *
     * @param ownsDevice close the device with the backend
     */
    public CudaBackend(CudaDevice device, boolean ownsDevice) {
        this.device = device;
        this.ownsDevice = ownsDevice;
        try {
            this.stream = device.stream();
            this.kernels = new LlmKernels(device);
            this.cublas = device.cublas();
            this.batchStaging = own(new Staging(device, stream, "batch-index"));
            this.rowStaging = own(new Staging(device, stream, "row-index"));
        } catch (RuntimeException | Error e) {
            if (ownsDevice) {
                device.close();
            }
            throw e;
        }
        LOG.info("CUDA backend on {}", device);
    }

    /**
     * Opens the device Spark (or the caller) names by {@code address} on the calling thread, with the default device
     * settings ({@link CudaDeviceConfig#defaults()}), and builds a backend that owns it.
     */
    public static CudaBackend open(String address) {
        return open(address, CudaDeviceConfig.defaults());
    }

    /** Opens device {@code address} on the calling thread with {@code config}; the backend owns it. */
    public static CudaBackend open(String address, CudaDeviceConfig config) {
        return new CudaBackend(CudaDevice.open(address, config), true);
    }

    public CudaDevice device() {
        return device;
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int threads() {
        return 1;
    }

    private <T extends AutoCloseable> T own(T r) {
        owned.add(r);
        return r;
    }

    private DeviceBuffer alloc(long bytes, String name) {
        return own(device.allocate(bytes, name));
    }

    // ------------------------------------------------------------------------------------------ memory

    @Override
    public Activation allocate(String name, int maxRows, int cols) {
        if (maxRows < 1 || cols < 1) {
            throw new IllegalArgumentException("activation '" + name + "' of " + maxRows + " x " + cols
                    + " must have at least one row and column");
        }
        return new CudaActivation(name, alloc(4L * maxRows * cols, name), maxRows, cols);
    }

    @Override
    public Tensor prepare(Tensor weight) {
        if (weight instanceof CudaTensor c) {
            return c;
        }
        CudaTensor done = prepared.get(weight);
        if (done != null) {
            return done;
        }
        CudaTensor t = weight.rows() == 1 ? uploadVector(weight) : uploadMatrix(weight);
        prepared.put(weight, t);
        return t;
    }

    private CudaTensor uploadMatrix(Tensor w) {
        CudaDataType type = CudaTensor.cudaType(w.dtype());
        long n = w.elements();
        DeviceBuffer b = alloc(n * type.bytes(), w.name());
        if (w instanceof RandomTensor r) {
            kernels.fillRandom(stream, b, type, n, r.seed(), r.bias(), r.step());
        } else if (w instanceof MappedTensor m) {
            int rowsPerChunk = (int) Math.max(1, UPLOAD_CHUNK / m.rowBytes());
            byte[] chunk = new byte[(int) Math.min((long) rowsPerChunk * m.rowBytes(), m.sizeBytes())];
            for (int r = 0; r < m.rows(); r += rowsPerChunk) {
                int rows = Math.min(rowsPerChunk, m.rows() - r);
                int bytes = (int) (rows * m.rowBytes());
                m.getRowsBytes(r, rows, chunk, 0);
                b.copyFrom(chunk, 0, bytes, r * m.rowBytes());
            }
        } else {
            throw new IllegalArgumentException("tensor '" + w.name() + "' (" + w.getClass().getSimpleName()
                    + ") cannot be uploaded by the CUDA backend; it reads mapped and random: tensors");
        }
        return new CudaTensor(w.name(), w.dtype(), w.shape(), w.rows(), w.cols(), b);
    }

    /** Norms and biases: f32 on the device (widened exactly from their stored type). */
    private CudaTensor uploadVector(Tensor w) {
        long n = w.elements();
        DeviceBuffer b = alloc(4L * n, w.name());
        if (w instanceof RandomTensor r) {
            CudaDataType type = CudaTensor.cudaType(w.dtype());
            if (type == CudaDataType.F32) {
                kernels.fillRandom(stream, b, type, n, r.seed(), r.bias(), r.step());
            } else {
                try (DeviceBuffer tmp = device.allocate(2L * n, w.name() + "#stored")) {
                    kernels.fillRandom(stream, tmp, type, n, r.seed(), r.bias(), r.step());
                    kernels.convert(stream, tmp, type, b, CudaDataType.F32, n);
                    stream.synchronize();
                }
            }
        } else if (w instanceof MappedTensor m) {
            b.copyFrom(m.toFloatArray());
        } else {
            throw new IllegalArgumentException("tensor '" + w.name() + "' (" + w.getClass().getSimpleName()
                    + ") cannot be uploaded by the CUDA backend; it reads mapped and random: tensors");
        }
        return new CudaTensor(w.name(), DType.F32, w.shape(), 1, (int) n, b);
    }

    @Override
    public KvCache createKvCache(int firstLayer, int layers, int numBlocks, int blockSize, int kvHeads, int headDim,
                                 DType dtype) {
        int elem = KvCacheDescriptor.elementBytes(dtype);
        long perLayer = (long) numBlocks * blockSize * kvHeads * headDim * elem;
        DeviceBuffer[] k = new DeviceBuffer[layers];
        DeviceBuffer[] v = new DeviceBuffer[layers];
        for (int l = 0; l < layers; l++) {
            k[l] = alloc(perLayer, "kv-cache.k." + (firstLayer + l));
            v[l] = alloc(perLayer, "kv-cache.v." + (firstLayer + l));
        }
        return new CudaKvCache(firstLayer, k, v, numBlocks, blockSize, kvHeads, headDim, dtype);
    }

    @Override
    public TokenSampler createSampler(int vocab, int slots) {
        return own(new CudaSampler(device, stream, kernels, vocab, slots));
    }

    @Override
    public void copyToHost(Activation a, int rows, float[] dst, int off) {
        CudaActivation c = act(a, rows);
        c.buffer.copyTo(dst, off, rows * c.cols, 0);
    }

    @Override
    public void copyFromHost(float[] src, int off, int rows, Activation a) {
        CudaActivation c = act(a, rows);
        c.buffer.copyFrom(src, off, rows * c.cols, 0);
        c.written();
    }

    // ------------------------------------------------------------------------------------------ batch index arrays

    /** Puts the batch's token ids, positions, sequence ids, logit rows and block tables on the device, once. */
    private void upload(ForwardBatch b) {
        if (b == uploaded) {
            return;
        }
        int n = b.numTokens();
        int m = b.logitTokens().length;
        int seqs = b.blockTables().length;
        int width = 1;
        for (int[] t : b.blockTables()) {
            width = Math.max(width, t.length);
        }
        int ints = 3 * n + m + seqs * width;
        ByteBuffer h = batchStaging.begin(4L * ints);
        int o = 0;
        for (int i = 0; i < n; i++) {
            h.putInt(4 * (o + i), b.tokens()[i]);
            h.putInt(4 * (o + n + i), b.positions()[i]);
            int s = b.tokenSeq()[i];
            if (s < 0 || s >= seqs) {
                throw new IllegalArgumentException("token " + i + " belongs to sequence " + s + " but the batch has "
                        + seqs + " block tables");
            }
            h.putInt(4 * (o + 2 * n + i), s);
        }
        o += 3 * n;
        for (int i = 0; i < m; i++) {
            h.putInt(4 * (o + i), b.logitTokens()[i]);
        }
        o += m;
        for (int s = 0; s < seqs; s++) {
            int[] t = b.blockTables()[s];
            for (int j = 0; j < width; j++) {
                h.putInt(4 * (o + s * width + j), j < t.length ? t[j] : 0);
            }
        }
        DeviceBuffer d = batchStaging.commit(4L * ints);
        tokens = d.slice(0, 4L * Math.max(1, n));
        positions = d.slice(4L * n, 4L * Math.max(1, n));
        tokenSeq = d.slice(8L * n, 4L * Math.max(1, n));
        logitTokens = m == 0 ? null : d.slice(12L * n, 4L * m);
        blockTables = d.slice(4L * (3L * n + m), 4L * seqs * width);
        tableWidth = width;
        uploaded = b;
    }

    /** Checks every token has a KV block and every block a token reaches is in the cache: O(tokens + blocks). */
    private static void checkTables(ForwardBatch b, CudaKvCache c) {
        int n = b.numTokens();
        int[][] tables = b.blockTables();
        int[] reach = new int[tables.length]; // per sequence: how many table entries its tokens reach
        for (int i = 0; i < n; i++) {
            int seq = b.tokenSeq()[i];
            int[] t = tables[seq];
            int pos = b.positions()[i];
            int logical = pos / c.blockSize();
            if (pos < 0 || logical >= t.length) {
                throw new IllegalArgumentException("token " + i + " at position " + pos + " has no KV block: its "
                        + "sequence's table holds " + t.length + " blocks of " + c.blockSize());
            }
            reach[seq] = Math.max(reach[seq], logical + 1);
        }
        for (int s = 0; s < tables.length; s++) {
            for (int j = 0; j < reach[s]; j++) {
                int id = tables[s][j];
                if (id < 0 || id >= c.numBlocks()) {
                    throw new IllegalArgumentException("KV block id " + id + " is outside the cache's "
                            + c.numBlocks() + " blocks");
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------ ops

    @Override
    public void embed(Tensor table, ForwardBatch b, Activation out) {
        CudaTensor t = tensor(table);
        int n = b.numTokens();
        CudaActivation o = act(out, n);
        checkCols(o, t.cols(), "embed");
        if (n == 0) {
            return;
        }
        for (int i = 0; i < n; i++) {
            int id = b.tokens()[i];
            if (id < 0 || id >= t.rows()) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + t.rows()
                        + ") of '" + t.name() + "'");
            }
        }
        upload(b);
        kernels.gatherRows(stream, o.buffer, t.buffer, t.cudaType(), tokens, n, t.cols());
        o.written();
    }

    @Override
    public void rmsNorm(Activation x, Tensor weight, double eps, int n, Activation out) {
        CudaActivation xa = act(x, n);
        CudaActivation oa = act(out, n);
        CudaTensor w = tensor(weight);
        checkCols(oa, xa.cols, "rmsNorm");
        checkVector(w, xa.cols);
        if (n == 0) {
            return;
        }
        kernels.rmsnorm(stream, oa.buffer, xa.buffer, w.buffer, n, xa.cols, eps);
        oa.written();
    }

    @Override
    public void matmul(Tensor w, int row0, int col0, Activation x, int n, Activation y) {
        CudaTensor t = tensor(w);
        CudaActivation xa = act(x, n);
        CudaActivation ya = act(y, n);
        int in = xa.cols;
        int out = ya.cols;
        if (row0 < 0 || col0 < 0 || row0 + out > t.rows() || col0 + in > t.cols()) {
            throw new IllegalArgumentException("matmul: rows [" + row0 + ", " + (row0 + out) + ") x columns [" + col0
                    + ", " + (col0 + in) + ") are outside '" + t.name() + "' of " + t.rows() + " x " + t.cols());
        }
        if (n == 0) {
            return;
        }
        CudaDataType type = t.cudaType();
        long offset = ((long) row0 * t.cols() + col0) * type.bytes();
        DeviceBuffer a = offset == 0 ? t.buffer : t.buffer.slice(offset, t.buffer.bytes() - offset);
        DeviceBuffer b = type == CudaDataType.F32 ? xa.buffer : rounded(xa, n, type);
        cublas.gemm(stream, true, false, out, n, in, 1f, a, type, t.cols(), b, type, in, 0f, ya.buffer,
                CudaDataType.F32, out);
        ya.written();
    }

    /** {@code x}'s first {@code n} rows rounded to {@code type}, converted once per write of {@code x}. */
    private DeviceBuffer rounded(CudaActivation x, int n, CudaDataType type) {
        if (halfOf == x && halfVersion == x.version && halfRows >= n && halfType == type) {
            return half;
        }
        long elements = (long) n * x.cols;
        if (half == null || half.bytes() < 2 * elements) {
            if (half != null) {
                owned.remove(half);
                half.close();
            }
            half = alloc(Math.max(2 * elements, 1 << 16), "gemm-input-half");
        }
        kernels.convert(stream, x.buffer, CudaDataType.F32, half, type, elements);
        halfOf = x;
        halfVersion = x.version;
        halfRows = n;
        halfType = type;
        return half;
    }

    @Override
    public void addBias(Activation y, Tensor bias, int offset, int n) {
        CudaActivation ya = act(y, n);
        CudaTensor b = tensor(bias);
        if (offset < 0 || offset + ya.cols > b.cols()) {
            throw new IllegalArgumentException("bias '" + b.name() + "' of " + b.cols() + " has no columns ["
                    + offset + ", " + (offset + ya.cols) + ")");
        }
        if (n == 0) {
            return;
        }
        kernels.addBias(stream, ya.buffer, b.buffer.slice(4L * offset, 4L * ya.cols), n, ya.cols);
        ya.written();
    }

    @Override
    public void ropeCache(ForwardBatch b, double[] invFreq, Activation cosSin) {
        int n = b.numTokens();
        CudaActivation cs = act(cosSin, n);
        int half = invFreq.length;
        checkCols(cs, 2 * half, "ropeCache");
        if (n == 0) {
            return;
        }
        if (invFreqHost != invFreq) {
            if (this.invFreq != null) {
                owned.remove(this.invFreq);
                this.invFreq.close();
            }
            this.invFreq = alloc(8L * half, "rope-inv-freq");
            this.invFreq.copyFrom(invFreq);
            invFreqHost = invFreq;
        }
        upload(b);
        kernels.ropeCache(stream, cs.buffer, positions, this.invFreq, n, half);
        cs.written();
    }

    @Override
    public void rope(Activation x, int n, int heads, int headDim, Activation cosSin, boolean interleaved) {
        CudaActivation xa = act(x, n);
        CudaActivation cs = act(cosSin, n);
        checkCols(xa, heads * headDim, "rope");
        checkCols(cs, headDim, "rope tables");
        if (n == 0) {
            return;
        }
        kernels.rope(stream, xa.buffer, cs.buffer, n, heads, headDim, interleaved);
        xa.written();
    }

    @Override
    public void kvWrite(KvCache cache, int layer, Activation k, Activation v, ForwardBatch b) {
        CudaKvCache c = kv(cache);
        int n = b.numTokens();
        CudaActivation ka = act(k, n);
        CudaActivation va = act(v, n);
        int kvDim = c.kvHeads() * c.headDim();
        checkCols(ka, kvDim, "kvWrite keys");
        checkCols(va, kvDim, "kvWrite values");
        int l = c.index(layer);
        if (n == 0) {
            return;
        }
        if (checked != b) {
            checkTables(b, c);
            checked = b;
        }
        upload(b);
        kernels.kvWrite(stream, c.cudaType(), c.k[l], c.v[l], ka.buffer, va.buffer, positions, tokenSeq, blockTables,
                n, tableWidth, c.kvHeads(), c.blockSize(), c.headDim());
    }

    @Override
    public void attention(Activation q, int heads, KvCache cache, int layer, int window, ForwardBatch b,
                          Activation out) {
        CudaKvCache c = kv(cache);
        int n = b.numTokens();
        CudaActivation qa = act(q, n);
        CudaActivation oa = act(out, n);
        if (heads % c.kvHeads() != 0) {
            throw new IllegalArgumentException(heads + " query heads do not group over " + c.kvHeads() + " KV heads");
        }
        checkCols(qa, heads * c.headDim(), "attention queries");
        checkCols(oa, heads * c.headDim(), "attention output");
        int l = c.index(layer);
        if (n == 0) {
            return;
        }
        if (checked != b) {
            checkTables(b, c);
            checked = b;
        }
        upload(b);
        kernels.pagedAttention(stream, c.cudaType(), oa.buffer, qa.buffer, c.k[l], c.v[l], positions, tokenSeq,
                blockTables, n, tableWidth, heads, c.kvHeads(), c.headDim(), c.blockSize(), window);
        oa.written();
    }

    @Override
    public void add(Activation x, Activation y, int n) {
        CudaActivation xa = act(x, n);
        CudaActivation ya = act(y, n);
        checkCols(ya, xa.cols, "add");
        if (n == 0) {
            return;
        }
        kernels.add(stream, xa.buffer, ya.buffer, (long) n * xa.cols);
        xa.written();
    }

    @Override
    public void siluMul(Activation gate, Activation up, int n) {
        CudaActivation g = act(gate, n);
        CudaActivation u = act(up, n);
        checkCols(u, g.cols, "siluMul");
        if (n == 0) {
            return;
        }
        kernels.siluMul(stream, g.buffer, g.buffer, u.buffer, (long) n * g.cols);
        g.written();
    }

    @Override
    public void gatherRows(Activation src, int[] rows, int m, Activation dst) {
        CudaActivation s = act(src, 0);
        CudaActivation d = act(dst, m);
        checkCols(d, s.cols, "gatherRows");
        for (int i = 0; i < m; i++) {
            if (rows[i] < 0 || rows[i] >= s.maxRows) {
                throw new IllegalArgumentException("row " + rows[i] + " is outside '" + s.name + "'");
            }
        }
        if (m == 0) {
            return;
        }
        DeviceBuffer idx;
        if (uploaded != null && rows == uploaded.logitTokens()) {
            idx = logitTokens;
        } else {
            ByteBuffer h = rowStaging.begin(4L * m);
            for (int i = 0; i < m; i++) {
                h.putInt(4 * i, rows[i]);
            }
            idx = rowStaging.commit(4L * m);
        }
        kernels.gatherRows(stream, d.buffer, s.buffer, CudaDataType.F32, idx, m, s.cols);
        d.written();
    }

    // ------------------------------------------------------------------------------------------ pipeline stages

    /**
     * Queues a copy of rows {@code [0, rows)} of {@code a} into a new device array that the caller owns (f32,
     * {@code rows * cols} values; one placeholder value when {@code rows} is 0): a pipeline stage's output for a GPU
     * channel to the next stage.
     */
    public DeviceArray exportRows(Activation a, int rows) {
        CudaActivation c = act(a, rows);
        long count = (long) rows * c.cols;
        DeviceArray out = DeviceArray.allocate(device, CudaDataType.F32, Math.max(1, count), c.name + "#export");
        if (count > 0) {
            out.buffer().copyFromAsync(c.buffer, 0, 0, 4 * count, stream);
        }
        return out;
    }

    /**
     * Queues a copy of {@code rows * dst.cols()} f32 values of {@code src} (an array on this backend's device) into
     * rows {@code [0, rows)} of {@code dst}.
     */
    public void importRows(DeviceArray src, int rows, Activation dst) {
        CudaActivation c = act(dst, rows);
        long count = (long) rows * c.cols;
        if (src.device() != device || src.type() != CudaDataType.F32 || src.count() < count) {
            throw new IllegalArgumentException("cannot import " + rows + " rows of " + c.cols + " into '" + c.name
                    + "' from " + src + ": an F32 array of at least " + count + " values on " + device + " is needed");
        }
        if (count > 0) {
            c.buffer.copyFromAsync(src.buffer(), 0, 0, 4 * count, stream);
        }
        c.written();
    }

    // ------------------------------------------------------------------------------------------ tensor parallelism

    /**
     * With an {@link NcclCommunicator}: an in-place NCCL allreduce of the activation's first {@code n} rows on the
     * device (ordered with this backend's stream by the communicator's events; nothing reaches the host). Any other
     * communicator goes through host arrays.
     */
    @Override
    public void allReduceSum(Communicator comm, int rank, Activation x, int n) {
        if (!(comm instanceof NcclCommunicator)) {
            Backend.super.allReduceSum(comm, rank, x, n);
            return;
        }
        CudaActivation a = act(x, n);
        long count = (long) n * a.cols;
        comm.allreduceInPlace(rank, new DeviceArray(a.buffer.slice(0, 4 * count), CudaDataType.F32, count),
                ReduceOp.SUM);
        a.written();
    }

    /**
     * With an {@link NcclCommunicator}: an NCCL allgather of every rank's {@code part} ({@code [world][n][w]} on the
     * device), then one gather kernel puts rank r's row t at row t, columns {@code [r w, (r+1) w)} of {@code out}.
     * Any other communicator goes through host arrays.
     */
    @Override
    public void allGatherColumns(Communicator comm, int rank, int world, Activation part, int n, Activation out) {
        if (!(comm instanceof NcclCommunicator)) {
            Backend.super.allGatherColumns(comm, rank, world, part, n, out);
            return;
        }
        CudaActivation p = act(part, n);
        CudaActivation o = act(out, n);
        int w = p.cols;
        checkCols(o, w * world, "allGatherColumns");
        long count = (long) n * w;
        try (DeviceArray all = (DeviceArray) comm.allgather(rank,
                new DeviceArray(p.buffer.slice(0, 4 * count), CudaDataType.F32, count))) {
            if (n == 0) {
                return;
            }
            // out viewed as (n * world) rows of w: row t * world + r is row r * n + t of the gathered array
            ByteBuffer h = rowStaging.begin(4L * n * world);
            for (int t = 0; t < n; t++) {
                for (int r = 0; r < world; r++) {
                    h.putInt(4 * (t * world + r), r * n + t);
                }
            }
            DeviceBuffer idx = rowStaging.commit(4L * n * world);
            kernels.gatherRows(stream, o.buffer, all.buffer(), CudaDataType.F32, idx, n * world, w);
        } // freed after the queued gather: the pool reuses memory in this stream's order
        o.written();
    }

    // ------------------------------------------------------------------------------------------ lifecycle

    /** Closes what the backend allocated (newest first), then the device if the backend opened it. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException failure = null;
        try {
            stream.synchronize();
        } catch (RuntimeException e) {
            failure = e;
        }
        for (int i = owned.size() - 1; i >= 0; i--) {
            try {
                owned.get(i).close();
            } catch (Exception e) {
                RuntimeException r = e instanceof RuntimeException re ? re : new IllegalStateException(e);
                if (failure == null) {
                    failure = r;
                } else {
                    failure.addSuppressed(r);
                }
            }
        }
        owned.clear();
        prepared.clear();
        if (ownsDevice) {
            try {
                device.close();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    // ------------------------------------------------------------------------------------------ helpers

    private CudaActivation act(Activation a, int rows) {
        if (!(a instanceof CudaActivation c)) {
            throw new IllegalArgumentException("activation " + a + " does not belong to the CUDA backend");
        }
        if (rows > c.maxRows) {
            throw new IllegalArgumentException(rows + " rows exceed activation '" + c.name + "' of " + c.maxRows);
        }
        return c;
    }

    private static CudaTensor tensor(Tensor t) {
        if (!(t instanceof CudaTensor c)) {
            throw new IllegalArgumentException("tensor '" + t.name() + "' was not prepared by the CUDA backend");
        }
        return c;
    }

    private static CudaKvCache kv(KvCache c) {
        if (!(c instanceof CudaKvCache k)) {
            throw new IllegalArgumentException("KV cache " + c + " does not belong to the CUDA backend");
        }
        return k;
    }

    private static void checkCols(CudaActivation a, int cols, String op) {
        if (a.cols != cols) {
            throw new IllegalArgumentException(op + ": activation '" + a.name + "' has " + a.cols + " columns, "
                    + cols + " expected");
        }
    }

    private static void checkVector(CudaTensor w, int n) {
        if (w.rows() != 1 || w.cols() != n) {
            throw new IllegalArgumentException("weight '" + w.name() + "' has " + w.rows() * (long) w.cols()
                    + " values, " + n + " expected");
        }
    }
}
