package io.stoker.llm.backend.cuda;

import io.stoker.runtime.cuda.CudaDataType;
import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaFunction;
import io.stoker.runtime.cuda.CudaModule;
import io.stoker.runtime.cuda.CudaProgram;
import io.stoker.runtime.cuda.CudaStream;
import io.stoker.runtime.cuda.DeviceBuffer;
import io.stoker.runtime.cuda.KernelArgs;
import io.stoker.runtime.cuda.LaunchConfig;

/**
 * Launch helpers for the LLM kernels ({@code llm_kernels.cu}): one method per op, in the CPU engine's data layouts,
 * each choosing the launch shape and checking sizes before queueing the kernel on a stream. GEMMs are not here:
 * they go through {@link io.stoker.runtime.cuda.Cublas#linear}.
 *
 * <p>Layouts: activations are row-major f32 {@code (tokens, features)}; {@code positions}, {@code tokenSeq} are
 * int32 per token; {@code blockTables} is int32 {@code (sequences, maxBlocks)}; the KV cache of a layer is one
 * buffer for K and one for V laid out as {@code KvCacheDescriptor} says, f32 or f16.
 *
 * <p>Thread-safety: owner thread of the device only. Steady-state launches allocate nothing.
 */
public final class LlmKernels {
    /** Classpath location of the kernel source (the simulator's kernel library is built from the same file). */
    public static final String SOURCE = "/io/stoker/llm/cuda/llm_kernels.cu";
    /** Threads per block of the sampler; fixed because the reductions' order, hence the result, depends on it. */
    public static final int SAMPLE_THREADS = 256;
    /** Largest head dimension paged attention supports. */
    public static final int MAX_HEAD_DIM = 256;
    private static final int ATTENTION_WARPS = 4;
    private static final int ELEMENTWISE_THREADS = 256;

    private final KernelArgs args = new KernelArgs();
    private final CudaFunction rmsnorm;
    private final CudaFunction rope;
    private final CudaFunction ropeCache;
    private final CudaFunction addBias;
    private final CudaFunction fillRandomF32;
    private final CudaFunction fillRandomBf16;
    private final CudaFunction fillRandomF16;
    private final CudaFunction siluMul;
    private final CudaFunction add;
    private final CudaFunction kvWriteF32;
    private final CudaFunction kvWriteF16;
    private final CudaFunction attentionF32;
    private final CudaFunction attentionF16;
    private final CudaFunction sample;
    private final CudaFunction penalties;
    private final CudaFunction tokenLogprobs;
    private final CudaFunction topLogprobs;
    private final CudaFunction gatherF32;
    private final CudaFunction gatherBf16;
    private final CudaFunction gatherF16;
    private final CudaFunction f32ToBf16;
    private final CudaFunction bf16ToF32;
    private final CudaFunction f32ToF16;
    private final CudaFunction f16ToF32;
    private final int maxBlocks;

    /** The program, for {@link CudaDevice#module}. */
    public static CudaProgram program() {
        return CudaProgram.fromResource(LlmKernels.class, SOURCE);
    }

    /** Compiles (or takes from the cache) and loads the kernels on {@code device}. */
    public LlmKernels(CudaDevice device) {
        CudaModule m = device.module(program());
        rmsnorm = m.function("rmsnorm_f32");
        rope = m.function("rope_f32");
        ropeCache = m.function("rope_cache_f32");
        addBias = m.function("add_bias_f32");
        fillRandomF32 = m.function("fill_random_f32");
        fillRandomBf16 = m.function("fill_random_bf16");
        fillRandomF16 = m.function("fill_random_f16");
        siluMul = m.function("silu_mul_f32");
        add = m.function("add_f32");
        kvWriteF32 = m.function("kv_write_f32");
        kvWriteF16 = m.function("kv_write_f16");
        attentionF32 = m.function("paged_attention_f32");
        attentionF16 = m.function("paged_attention_f16");
        sample = m.function("sample_rows");
        penalties = m.function("apply_penalties");
        tokenLogprobs = m.function("token_logprobs");
        topLogprobs = m.function("top_logprobs");
        gatherF32 = m.function("gather_rows_f32");
        gatherBf16 = m.function("gather_rows_bf16");
        gatherF16 = m.function("gather_rows_f16");
        f32ToBf16 = m.function("f32_to_bf16");
        bf16ToF32 = m.function("bf16_to_f32");
        f32ToF16 = m.function("f32_to_f16");
        f16ToF32 = m.function("f16_to_f32");
        maxBlocks = Math.max(1, device.properties().multiprocessors()) * 8;
    }

    private static void need(DeviceBuffer b, long bytes, String kernel, String what) {
        if (b.bytes() < bytes) {
            throw new IllegalArgumentException(kernel + ": " + what + " needs " + bytes + " bytes but buffer '"
                    + b.name() + "' has " + b.bytes());
        }
    }

    private static void positive(int v, String kernel, String what) {
        if (v <= 0) {
            throw new IllegalArgumentException(kernel + ": " + what + "=" + v + " must be > 0");
        }
    }

    private static int warps(int n, int max) {
        int t = (Math.max(1, n) + 31) / 32 * 32;
        return Math.min(max, t);
    }

    private LaunchConfig elementwise(long n) {
        long blocks = (n + ELEMENTWISE_THREADS - 1) / ELEMENTWISE_THREADS;
        return LaunchConfig.of((int) Math.max(1, Math.min(blocks, maxBlocks)), ELEMENTWISE_THREADS);
    }

    /**
     * {@code out = weight * (x * inv)}, {@code inv = 1 / sqrt(mean(x^2) + eps)} (sum of squares in double, as the CPU
     * engine) over {@code rows} rows of {@code dim}; out may be x.
     */
    public void rmsnorm(CudaStream s, DeviceBuffer out, DeviceBuffer x, DeviceBuffer weight, int rows, int dim,
                        double eps) {
        positive(rows, "rmsnorm", "rows");
        positive(dim, "rmsnorm", "dim");
        need(x, 4L * rows * dim, "rmsnorm", "x (rows x dim f32)");
        need(out, 4L * rows * dim, "rmsnorm", "out (rows x dim f32)");
        need(weight, 4L * dim, "rmsnorm", "weight (dim f32)");
        rmsnorm.launch(s, LaunchConfig.of(rows, warps(dim, 256)),
                args.clear().ptr(out).ptr(x).ptr(weight).i32(dim).f64(eps));
    }

    /**
     * Rotary tables for {@code tokens} positions: row t of {@code cosSin (tokens, 2 * half)} holds
     * {@code cos(positions[t] * invFreq[i])} in columns {@code [0, half)} and the sines after them (angles in f64, as
     * the CPU engine); {@code invFreq} is f64 of {@code half}.
     */
    public void ropeCache(CudaStream s, DeviceBuffer cosSin, DeviceBuffer positions, DeviceBuffer invFreq, int tokens,
                          int half) {
        positive(tokens, "ropeCache", "tokens");
        positive(half, "ropeCache", "half");
        need(cosSin, 8L * tokens * half, "ropeCache", "cosSin (tokens x 2 half f32)");
        need(positions, 4L * tokens, "ropeCache", "positions (tokens int32)");
        need(invFreq, 8L * half, "ropeCache", "invFreq (half f64)");
        ropeCache.launch(s, LaunchConfig.of(tokens, warps(half, 128)),
                args.clear().ptr(cosSin).ptr(positions).ptr(invFreq).i32(half));
    }

    /**
     * Rotary embedding in place on {@code x (tokens, heads, headDim)} with the tables of {@link #ropeCache}
     * ({@code cosSin (tokens, headDim)}); {@code interleaved} pairs (2i, 2i+1) (GGUF), else (i, i + headDim/2) (HF
     * rotate_half).
     */
    public void rope(CudaStream s, DeviceBuffer x, DeviceBuffer cosSin, int tokens, int heads, int headDim,
                     boolean interleaved) {
        positive(tokens, "rope", "tokens");
        positive(heads, "rope", "heads");
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new IllegalArgumentException("rope: headDim=" + headDim + " must be even and > 0");
        }
        need(x, 4L * tokens * heads * headDim, "rope", "x (tokens x heads x headDim f32)");
        need(cosSin, 4L * tokens * headDim, "rope", "cosSin (tokens x headDim f32)");
        rope.launch(s, LaunchConfig.of(tokens, heads, warps(headDim / 2, 128)),
                args.clear().ptr(x).ptr(cosSin).i32(heads).i32(headDim).i32(interleaved ? 1 : 0));
    }

    /** {@code y[t][i] += bias[i]} over {@code rows} rows of {@code cols} floats ({@code bias} at the column offset). */
    public void addBias(CudaStream s, DeviceBuffer y, DeviceBuffer bias, int rows, int cols) {
        positive(cols, "addBias", "cols");
        need(y, 4L * rows * cols, "addBias", "y (rows x cols f32)");
        need(bias, 4L * cols, "addBias", "bias (cols f32)");
        long n = (long) rows * cols;
        addBias.launch(s, elementwise(n), args.clear().ptr(y).ptr(bias).i32(cols).i64(n));
    }

    /**
     * Fills {@code n} elements of {@code out} with the deterministic values of a {@code random:} model tensor (see
     * {@code io.stoker.llm.load.RandomTensor}, which computes the same bits on the CPU).
     *
     * @param type F32, BF16 or F16
     */
    public void fillRandom(CudaStream s, DeviceBuffer out, CudaDataType type, long n, long seed, long bias,
                           float step) {
        need(out, (long) type.bytes() * n, "fillRandom", "out");
        CudaFunction f = switch (type) {
            case F32 -> fillRandomF32;
            case BF16 -> fillRandomBf16;
            case F16 -> fillRandomF16;
            default -> throw new IllegalArgumentException("fillRandom: type " + type + " is not supported (F32, BF16,"
                    + " F16)");
        };
        f.launch(s, elementwise(n), args.clear().ptr(out).i64(n).i64(seed).i64(bias).f32(step));
    }

    /** {@code out = silu(gate) * up} over {@code n} floats; out may be gate. */
    public void siluMul(CudaStream s, DeviceBuffer out, DeviceBuffer gate, DeviceBuffer up, long n) {
        need(out, 4L * n, "siluMul", "out");
        need(gate, 4L * n, "siluMul", "gate");
        need(up, 4L * n, "siluMul", "up");
        siluMul.launch(s, elementwise(n), args.clear().ptr(out).ptr(gate).ptr(up).i64(n));
    }

    /** {@code x += y} over {@code n} floats (the residual adds). */
    public void add(CudaStream s, DeviceBuffer x, DeviceBuffer y, long n) {
        need(x, 4L * n, "add", "x");
        need(y, 4L * n, "add", "y");
        add.launch(s, elementwise(n), args.clear().ptr(x).ptr(y).i64(n));
    }

    /**
     * Writes K and V rows {@code (tokens, kvHeads * headDim)} f32 into the paged cache of one layer at each token's
     * position, through its sequence's block table.
     *
     * @param cacheType F32 or F16 (the cache's element type)
     */
    public void kvWrite(CudaStream s, CudaDataType cacheType, DeviceBuffer kCache, DeviceBuffer vCache, DeviceBuffer k,
                        DeviceBuffer v, DeviceBuffer positions, DeviceBuffer tokenSeq, DeviceBuffer blockTables,
                        int tokens, int maxBlocksPerSeq, int kvHeads, int blockSize, int headDim) {
        positive(tokens, "kvWrite", "tokens");
        positive(kvHeads, "kvWrite", "kvHeads");
        positive(blockSize, "kvWrite", "blockSize");
        positive(headDim, "kvWrite", "headDim");
        need(k, 4L * tokens * kvHeads * headDim, "kvWrite", "k (tokens x kvHeads x headDim f32)");
        need(v, 4L * tokens * kvHeads * headDim, "kvWrite", "v");
        need(positions, 4L * tokens, "kvWrite", "positions");
        need(tokenSeq, 4L * tokens, "kvWrite", "tokenSeq");
        CudaFunction f = cacheFunction(cacheType, kvWriteF32, kvWriteF16, "kvWrite");
        f.launch(s, LaunchConfig.of(tokens, kvHeads, warps(headDim, 128)), args.clear().ptr(kCache).ptr(vCache).ptr(k)
                .ptr(v).ptr(positions).ptr(tokenSeq).ptr(blockTables).i32(maxBlocksPerSeq).i32(kvHeads)
                .i32(blockSize).i32(headDim));
    }

    /**
     * Paged attention for decode and prefill: {@code out (tokens, heads, headDim)} from {@code q} of the same shape
     * and one layer's cache; token t attends positions {@code [max(0, pos - window + 1), pos]} of its sequence
     * (window 0 = all), scaled by 1/sqrt(headDim), query head h reading kv head {@code h / (heads / kvHeads)}.
     */
    public void pagedAttention(CudaStream s, CudaDataType cacheType, DeviceBuffer out, DeviceBuffer q,
                               DeviceBuffer kCache, DeviceBuffer vCache, DeviceBuffer positions, DeviceBuffer tokenSeq,
                               DeviceBuffer blockTables, int tokens, int maxBlocksPerSeq, int heads, int kvHeads,
                               int headDim, int blockSize, int window) {
        positive(tokens, "pagedAttention", "tokens");
        positive(heads, "pagedAttention", "heads");
        positive(kvHeads, "pagedAttention", "kvHeads");
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("pagedAttention: heads=" + heads + " must be a multiple of kvHeads="
                    + kvHeads);
        }
        if (headDim <= 0 || headDim > MAX_HEAD_DIM) {
            throw new IllegalArgumentException("pagedAttention: headDim=" + headDim + " must be in [1, "
                    + MAX_HEAD_DIM + "]");
        }
        need(q, 4L * tokens * heads * headDim, "pagedAttention", "q (tokens x heads x headDim f32)");
        need(out, 4L * tokens * heads * headDim, "pagedAttention", "out");
        need(positions, 4L * tokens, "pagedAttention", "positions");
        need(tokenSeq, 4L * tokens, "pagedAttention", "tokenSeq");
        CudaFunction f = cacheFunction(cacheType, attentionF32, attentionF16, "pagedAttention");
        int shared = ATTENTION_WARPS * (headDim + 2) * 4;
        f.launch(s, LaunchConfig.of(tokens, heads, 32 * ATTENTION_WARPS).withShared(shared),
                args.clear().ptr(out).ptr(q).ptr(kCache).ptr(vCache).ptr(positions).ptr(tokenSeq).ptr(blockTables)
                        .i32(maxBlocksPerSeq).i32(heads).i32(kvHeads).i32(headDim).i32(blockSize).i32(window)
                        .f32((float) (1.0 / Math.sqrt(headDim))));
    }

    private static CudaFunction cacheFunction(CudaDataType t, CudaFunction f32, CudaFunction f16, String kernel) {
        if (t == CudaDataType.F32) {
            return f32;
        }
        if (t == CudaDataType.F16) {
            return f16;
        }
        throw new IllegalArgumentException(kernel + ": KV cache type " + t + " is not supported (F32 or F16)");
    }

    /**
     * One token per row of {@code logits (rows, vocab)} into {@code out} (int32 per row). Per row:
     * {@code invTemperature} (f32, 1/T; 0 = greedy), {@code topK} (int32; 0 = off), {@code topP} (f32; 1 = off),
     * {@code minP} (f32; 0 = off), {@code seeds} (int64), {@code steps} (int64: how many draws the row made before).
     * Deterministic; a row's token depends only on its logits, parameters, seed and step.
     */
    public void sample(CudaStream s, DeviceBuffer out, DeviceBuffer logits, int rows, int vocab,
                       DeviceBuffer invTemperature, DeviceBuffer topK, DeviceBuffer topP, DeviceBuffer minP,
                       DeviceBuffer seeds, DeviceBuffer steps) {
        positive(rows, "sample", "rows");
        positive(vocab, "sample", "vocab");
        need(logits, 4L * rows * vocab, "sample", "logits (rows x vocab f32)");
        need(out, 4L * rows, "sample", "out (rows int32)");
        need(invTemperature, 4L * rows, "sample", "invTemperature");
        need(topK, 4L * rows, "sample", "topK");
        need(topP, 4L * rows, "sample", "topP");
        need(minP, 4L * rows, "sample", "minP");
        need(seeds, 8L * rows, "sample", "seeds");
        need(steps, 8L * rows, "sample", "steps");
        sample.launch(s, LaunchConfig.of(rows, SAMPLE_THREADS), args.clear().ptr(out).ptr(logits).i32(vocab)
                .ptr(invTemperature).ptr(topK).ptr(topP).ptr(minP).ptr(seeds).ptr(steps));
    }

    /**
     * The repetition, presence and frequency penalties, in place on {@code logits (rows, vocab)}, as the CPU
     * Sampler applies them before sampling. Row r's entries are {@code [rowStart[r], rowStart[r + 1])} of
     * {@code tokens} (int32; each token seen in the prompt or output, once) and {@code outputCounts} (int32; how
     * often it was generated, 0 for prompt-only). Per row: {@code repetition} (f32; 1 = off), {@code presence},
     * {@code frequency} (f32).
     */
    public void applyPenalties(CudaStream s, DeviceBuffer logits, int rows, int vocab, DeviceBuffer rowStart,
                               DeviceBuffer tokens, DeviceBuffer outputCounts, DeviceBuffer repetition,
                               DeviceBuffer presence, DeviceBuffer frequency) {
        positive(rows, "applyPenalties", "rows");
        need(logits, 4L * rows * vocab, "applyPenalties", "logits (rows x vocab f32)");
        need(rowStart, 4L * (rows + 1), "applyPenalties", "rowStart (rows + 1 int32)");
        need(repetition, 4L * rows, "applyPenalties", "repetition");
        need(presence, 4L * rows, "applyPenalties", "presence");
        need(frequency, 4L * rows, "applyPenalties", "frequency");
        penalties.launch(s, LaunchConfig.of(rows, 128), args.clear().ptr(logits).i32(vocab).ptr(rowStart).ptr(tokens)
                .ptr(outputCounts).ptr(repetition).ptr(presence).ptr(frequency));
    }

    /** {@code out[r] = log softmax(logits[r])[tokens[r]]} (f32 per row). */
    public void tokenLogprobs(CudaStream s, DeviceBuffer out, DeviceBuffer logits, DeviceBuffer tokens, int rows,
                              int vocab) {
        positive(rows, "tokenLogprobs", "rows");
        need(logits, 4L * rows * vocab, "tokenLogprobs", "logits");
        need(out, 4L * rows, "tokenLogprobs", "out");
        need(tokens, 4L * rows, "tokenLogprobs", "tokens");
        tokenLogprobs.launch(s, LaunchConfig.of(rows, SAMPLE_THREADS),
                args.clear().ptr(out).ptr(logits).ptr(tokens).i32(vocab));
    }

    /** The {@code k} most likely tokens of each row and their logprobs: {@code ids} int32, {@code logprobs} f32, (rows, k). */
    public void topLogprobs(CudaStream s, DeviceBuffer ids, DeviceBuffer logprobs, DeviceBuffer logits, int rows,
                            int vocab, int k) {
        positive(rows, "topLogprobs", "rows");
        if (k < 1 || k > 20) {
            throw new IllegalArgumentException("topLogprobs: k=" + k + " must be in [1, 20]");
        }
        need(logits, 4L * rows * vocab, "topLogprobs", "logits");
        need(ids, 4L * rows * k, "topLogprobs", "ids");
        need(logprobs, 4L * rows * k, "topLogprobs", "logprobs");
        topLogprobs.launch(s, LaunchConfig.of(rows, SAMPLE_THREADS),
                args.clear().ptr(ids).ptr(logprobs).ptr(logits).i32(vocab).i32(k));
    }

    /**
     * {@code out[r] = table[rows[r]]} as f32 for {@code count} rows of {@code width}: embeddings (rows = token ids)
     * or picking hidden rows.
     *
     * @param tableType F32, BF16 or F16
     */
    public void gatherRows(CudaStream s, DeviceBuffer out, DeviceBuffer table, CudaDataType tableType,
                           DeviceBuffer rows, int count, int width) {
        positive(count, "gatherRows", "count");
        positive(width, "gatherRows", "width");
        need(out, 4L * count * width, "gatherRows", "out");
        need(rows, 4L * count, "gatherRows", "rows");
        CudaFunction f = switch (tableType) {
            case F32 -> gatherF32;
            case BF16 -> gatherBf16;
            case F16 -> gatherF16;
            default -> throw new IllegalArgumentException("gatherRows: table type " + tableType
                    + " is not supported (F32, BF16, F16)");
        };
        f.launch(s, LaunchConfig.of(count, warps(width, 256)), args.clear().ptr(out).ptr(table).ptr(rows).i32(width));
    }

    /** Converts {@code n} values between f32 and bf16/f16 (round to nearest even). */
    public void convert(CudaStream s, DeviceBuffer in, CudaDataType from, DeviceBuffer out, CudaDataType to, long n) {
        need(in, (long) from.bytes() * n, "convert", "in");
        need(out, (long) to.bytes() * n, "convert", "out");
        CudaFunction f;
        if (from == CudaDataType.F32 && to == CudaDataType.BF16) {
            f = f32ToBf16;
        } else if (from == CudaDataType.BF16 && to == CudaDataType.F32) {
            f = bf16ToF32;
        } else if (from == CudaDataType.F32 && to == CudaDataType.F16) {
            f = f32ToF16;
        } else if (from == CudaDataType.F16 && to == CudaDataType.F32) {
            f = f16ToF32;
        } else {
            throw new IllegalArgumentException("convert: " + from + " -> " + to + " is not supported");
        }
        f.launch(s, elementwise(n), args.clear().ptr(in).ptr(out).i64(n));
    }
}
