// Stoker's LLM kernels: the non-GEMM ops of a Llama forward pass and the sampler, in the data layouts of the CPU
// engine (LlamaModel, KvCacheDescriptor, Sampler). Compiled at run time by NVRTC for the device, and as C++ onto CPU
// threads for the CUDA simulator (cudasim/build.sh); one source for both. The Java launch helpers are
// io.stoker.llm.backend.cuda.LlmKernels, which state each kernel's launch shape.
//
// Conventions: activations are row-major float32 (tokens, features); token-indexed int arrays (positions, tokenSeq)
// have one entry per token; blockTables is (sequences, maxBlocks) int32, row-major. Every kernel that reduces
// across a block needs blockDim.x to be a multiple of 32 (whole warps).
#include "stoker_device.h"

#define FULL_MASK 0xffffffffu
#define POS_INF __int_as_float(0x7f800000)
#define MAX_HEAD_DIM 256        // paged attention keeps headDim / 32 values per lane in registers
#define DIMS_PER_LANE (MAX_HEAD_DIM / 32)

// ------------------------------------------------------------------------------------------------ reductions

__device__ __forceinline__ float warp_sum_f(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ double warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ int warp_sum_i(int v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

// Block-wide sums, identical on every thread. Fixed order for a given blockDim: deterministic.
__device__ float block_sum_f(float v) {
    __shared__ float red_f[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum_f(v);
    __syncthreads();
    if (lane == 0) red_f[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float r = lane < warps ? red_f[lane] : 0.0f;
        r = warp_sum_f(r);
        if (lane == 0) red_f[0] = r;
    }
    __syncthreads();
    return red_f[0];
}

__device__ double block_sum_d(double v) {
    __shared__ double red_d[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum_d(v);
    __syncthreads();
    if (lane == 0) red_d[warp] = v;
    __syncthreads();
    if (warp == 0) {
        double r = lane < warps ? red_d[lane] : 0.0;
        r = warp_sum_d(r);
        if (lane == 0) red_d[0] = r;
    }
    __syncthreads();
    return red_d[0];
}

__device__ int block_sum_i(int v) {
    __shared__ int red_i[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum_i(v);
    __syncthreads();
    if (lane == 0) red_i[warp] = v;
    __syncthreads();
    if (warp == 0) {
        int r = lane < warps ? red_i[lane] : 0;
        r = warp_sum_i(r);
        if (lane == 0) red_i[0] = r;
    }
    __syncthreads();
    return red_i[0];
}

// (value, index) ordered by value descending, then index ascending; NaN never wins.
__device__ __forceinline__ bool better(float v, int i, float bv, int bi) {
    if (v != v) return false;
    if (bi < 0 || bv != bv) return true;
    return v > bv || (v == bv && i < bi);
}

__device__ __forceinline__ void warp_best(float *v, int *i) {
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(FULL_MASK, *v, o);
        int oi = __shfl_xor_sync(FULL_MASK, *i, o);
        if (oi >= 0 && better(ov, oi, *v, *i)) {
            *v = ov;
            *i = oi;
        }
    }
}

// The best (value, index) over the block, identical on every thread; index -1 when no candidate.
__device__ void block_best(float *v, int *i) {
    __shared__ float best_v[32];
    __shared__ int best_i[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    warp_best(v, i);
    __syncthreads();
    if (lane == 0) {
        best_v[warp] = *v;
        best_i[warp] = *i;
    }
    __syncthreads();
    if (warp == 0) {
        float rv = lane < warps ? best_v[lane] : 0.0f;
        int ri = lane < warps ? best_i[lane] : -1;
        warp_best(&rv, &ri);
        if (lane == 0) {
            best_v[0] = rv;
            best_i[0] = ri;
        }
    }
    __syncthreads();
    *v = best_v[0];
    *i = best_i[0];
}

// Order-preserving map of a float to an unsigned key (a < b  <=>  key(a) < key(b), NaN aside).
__device__ __forceinline__ unsigned float_key(float f) {
    unsigned u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ float key_float(unsigned k) {
    return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

// ------------------------------------------------------------------------------------------------ conversions

STOKER_KERNEL void f32_to_bf16(const float *in, stoker_bf16 *out, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x)
        out[i] = stoker_f32_to_bf16(in[i]);
}

STOKER_KERNEL void bf16_to_f32(const stoker_bf16 *in, float *out, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x)
        out[i] = stoker_bf16_to_f32(in[i]);
}

STOKER_KERNEL void f32_to_f16(const float *in, stoker_f16 *out, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x)
        out[i] = stoker_f32_to_f16(in[i]);
}

STOKER_KERNEL void f16_to_f32(const stoker_f16 *in, float *out, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x)
        out[i] = stoker_f16_to_f32(in[i]);
}

// ------------------------------------------------------------------------------------------------ elementwise

// x += y (the residual adds)
STOKER_KERNEL void add_f32(float *x, const float *y, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x)
        x[i] += y[i];
}

// out = silu(gate) * up, silu(g) = g / (1 + e^-g) in double as the CPU engine computes it, rounded to float, then
// times up; out may be gate (SwiGLU: down_proj(act_fn(gate_proj(x)) * up_proj(x)))
STOKER_KERNEL void silu_mul_f32(float *out, const float *gate, const float *up, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        double g = (double) gate[i];
        out[i] = (float) (g / (1.0 + exp(-g))) * up[i];
    }
}

// y[t][i] += bias[i] for rows t < n of width cols (bias already at the caller's column offset)
STOKER_KERNEL void add_bias_f32(float *y, const float *bias, int cols, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x)
        y[i] += bias[i % cols];
}

// out[r] = table[rows[r]] as float32, for embeddings (rows = token ids) and for picking hidden rows (rows = token
// indices). grid = count rows; width floats per row. Table of f32, bf16 or f16.
STOKER_KERNEL void gather_rows_f32(float *out, const float *table, const int *rows, int width) {
    const float *src = table + (long long) rows[blockIdx.x] * width;
    float *dst = out + (long long) blockIdx.x * width;
    for (int i = threadIdx.x; i < width; i += blockDim.x) dst[i] = src[i];
}

STOKER_KERNEL void gather_rows_bf16(float *out, const stoker_bf16 *table, const int *rows, int width) {
    const stoker_bf16 *src = table + (long long) rows[blockIdx.x] * width;
    float *dst = out + (long long) blockIdx.x * width;
    for (int i = threadIdx.x; i < width; i += blockDim.x) dst[i] = stoker_bf16_to_f32(src[i]);
}

STOKER_KERNEL void gather_rows_f16(float *out, const stoker_f16 *table, const int *rows, int width) {
    const stoker_f16 *src = table + (long long) rows[blockIdx.x] * width;
    float *dst = out + (long long) blockIdx.x * width;
    for (int i = threadIdx.x; i < width; i += blockDim.x) dst[i] = stoker_f16_to_f32(src[i]);
}

// ------------------------------------------------------------------------------------------------ RMSNorm

// out = x * inv * weight per row, inv = 1 / sqrt(mean(x^2) + eps) with the sum of squares in double (as the CPU
// engine sums it) and inv rounded to float. grid = rows; blockDim a multiple of 32.
STOKER_KERNEL void rmsnorm_f32(float *out, const float *x, const float *weight, int dim, double eps) {
    const float *row = x + (long long) blockIdx.x * dim;
    float *dst = out + (long long) blockIdx.x * dim;
    double ss = 0.0;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) ss += (double) row[i] * (double) row[i];
    ss = block_sum_d(ss);
    float inv = (float) (1.0 / sqrt(ss / (double) dim + eps));
    for (int i = threadIdx.x; i < dim; i += blockDim.x) dst[i] = weight[i] * (row[i] * inv);
}

// ------------------------------------------------------------------------------------------------ RoPE

// Rotary tables for each token's position: row t of cosSin (tokens, 2 * half) holds cos(pos * invFreq[i]) in columns
// [0, half) and the sines in [half, 2 half); angles in double (as the CPU engine), stored as float. grid = tokens.
STOKER_KERNEL void rope_cache_f32(float *cosSin, const int *positions, const double *invFreq, int half) {
    int t = blockIdx.x;
    double pos = (double) positions[t];
    float *row = cosSin + (long long) t * 2 * half;
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        double angle = pos * invFreq[i];
        row[i] = (float) cos(angle);
        row[half + i] = (float) sin(angle);
    }
}

// Rotates each head of x (tokens, heads, headDim) in place with the token's row of cosSin (tokens, headDim: cos in
// the first half, sin in the second, from rope_cache_f32). interleaved = 0: HF rotate_half pairs (i, i + headDim/2);
// 1: GGUF pairs (2i, 2i + 1). grid = (tokens, heads); any blockDim.
STOKER_KERNEL void rope_f32(float *x, const float *cosSin, int heads, int headDim, int interleaved) {
    int t = blockIdx.x, h = blockIdx.y, half = headDim / 2;
    float *v = x + ((long long) t * heads + h) * headDim;
    const float *cs = cosSin + (long long) t * headDim;
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        float c = cs[i];
        float s = cs[half + i];
        int i0 = interleaved ? 2 * i : i;
        int i1 = interleaved ? i0 + 1 : i0 + half;
        float x0 = v[i0], x1 = v[i1];
        v[i0] = x0 * c - x1 * s;
        v[i1] = x1 * c + x0 * s;
    }
}

// ------------------------------------------------------------------------------------------------ paged KV cache

__device__ __forceinline__ float load_kv(const float *p) { return *p; }
__device__ __forceinline__ float load_kv(const stoker_f16 *p) { return stoker_f16_to_f32(*p); }
__device__ __forceinline__ void store_kv(float *p, float v) { *p = v; }
__device__ __forceinline__ void store_kv(stoker_f16 *p, float v) { *p = stoker_f32_to_f16(v); }

// offset(block, head, slot) = ((block * kvHeads + head) * blockSize + slot) * headDim   (KvCacheDescriptor)
__device__ __forceinline__ long long kv_offset(const int *table, int pos, int head, int kvHeads, int blockSize,
                                               int headDim) {
    int block = table[pos / blockSize];
    return (((long long) block * kvHeads + head) * blockSize + pos % blockSize) * headDim;
}

// Stores each token's K and V rows (tokens, kvHeads * headDim) at its position in its sequence's blocks.
// grid = (tokens, kvHeads); any blockDim.
template <typename C>
__device__ void kv_write(C *kCache, C *vCache, const float *k, const float *v, const int *positions,
                         const int *tokenSeq, const int *blockTables, int maxBlocks, int kvHeads, int blockSize,
                         int headDim) {
    int t = blockIdx.x, h = blockIdx.y;
    const int *table = blockTables + (long long) tokenSeq[t] * maxBlocks;
    long long o = kv_offset(table, positions[t], h, kvHeads, blockSize, headDim);
    long long src = ((long long) t * kvHeads + h) * headDim;
    for (int i = threadIdx.x; i < headDim; i += blockDim.x) {
        store_kv(kCache + o + i, k[src + i]);
        store_kv(vCache + o + i, v[src + i]);
    }
}

STOKER_KERNEL void kv_write_f32(float *kCache, float *vCache, const float *k, const float *v, const int *positions,
                                const int *tokenSeq, const int *blockTables, int maxBlocks, int kvHeads,
                                int blockSize, int headDim) {
    kv_write(kCache, vCache, k, v, positions, tokenSeq, blockTables, maxBlocks, kvHeads, blockSize, headDim);
}

STOKER_KERNEL void kv_write_f16(stoker_f16 *kCache, stoker_f16 *vCache, const float *k, const float *v,
                                const int *positions, const int *tokenSeq, const int *blockTables, int maxBlocks,
                                int kvHeads, int blockSize, int headDim) {
    kv_write(kCache, vCache, k, v, positions, tokenSeq, blockTables, maxBlocks, kvHeads, blockSize, headDim);
}

// ------------------------------------------------------------------------------------------------ paged attention

// out[t, h] = softmax(q[t, h] . K^T * scale) V over the keys of token t's sequence at positions
// [max(0, pos - window + 1), pos] (window 0 = all), K and V from kv head h / (heads / kvHeads) (GQA). Decode and
// prefill alike: a prefill token sees only positions up to its own (causal), whose K/V the batch wrote first.
//
// grid = (tokens, heads); blockDim = 32 * warps; dynamic shared memory = warps * (headDim + 2) floats.
// Each warp walks every warps-th key with an online softmax; lane l holds dims l, l + 32, ...; the warps' partial
// results are merged at the end. headDim <= 256.
template <typename C>
__device__ void paged_attention(float *out, const float *q, const C *kCache, const C *vCache, const int *positions,
                                const int *tokenSeq, const int *blockTables, int maxBlocks, int heads, int kvHeads,
                                int headDim, int blockSize, int window, float scale) {
    STOKER_DYNAMIC_SHARED(float, smem);
    int t = blockIdx.x, h = blockIdx.y;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    int kvh = h / (heads / kvHeads);
    int pos = positions[t];
    int start = window > 0 ? max(0, pos - window + 1) : 0;
    const int *table = blockTables + (long long) tokenSeq[t] * maxBlocks;
    const float *qv = q + ((long long) t * heads + h) * headDim;
    float qr[DIMS_PER_LANE], acc[DIMS_PER_LANE];
    for (int j = 0; j < DIMS_PER_LANE; j++) {
        int d = lane + 32 * j;
        qr[j] = d < headDim ? qv[d] : 0.0f;
        acc[j] = 0.0f;
    }
    float m = -POS_INF, l = 0.0f;
    for (int p = start + warp; p <= pos; p += warps) {
        long long o = kv_offset(table, p, kvh, kvHeads, blockSize, headDim);
        float dot = 0.0f;
        for (int j = 0; j < DIMS_PER_LANE; j++) {
            int d = lane + 32 * j;
            if (d < headDim) dot += qr[j] * load_kv(kCache + o + d);
        }
        float s = warp_sum_f(dot) * scale;
        float mNew = fmaxf(m, s);
        float corr = expf(m - mNew);
        float w = expf(s - mNew);
        l = l * corr + w;
        for (int j = 0; j < DIMS_PER_LANE; j++) {
            int d = lane + 32 * j;
            if (d < headDim) acc[j] = acc[j] * corr + w * load_kv(vCache + o + d);
        }
        m = mNew;
    }
    // merge the warps: smem = [m_0..m_w-1][l_0..l_w-1][acc_0 (headDim)]...[acc_w-1]
    float *ms = smem, *ls = smem + warps, *accs = smem + 2 * warps;
    if (lane == 0) {
        ms[warp] = m;
        ls[warp] = l;
    }
    for (int j = 0; j < DIMS_PER_LANE; j++) {
        int d = lane + 32 * j;
        if (d < headDim) accs[warp * headDim + d] = acc[j];
    }
    __syncthreads();
    float mAll = -POS_INF;
    for (int w = 0; w < warps; w++) mAll = fmaxf(mAll, ms[w]);
    float lAll = 0.0f;
    for (int w = 0; w < warps; w++) lAll += ls[w] > 0.0f ? ls[w] * expf(ms[w] - mAll) : 0.0f;
    float *o = out + ((long long) t * heads + h) * headDim;
    for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
        float sum = 0.0f;
        for (int w = 0; w < warps; w++) {
            if (ls[w] > 0.0f) sum += accs[w * headDim + d] * expf(ms[w] - mAll);
        }
        o[d] = sum / lAll;
    }
}

STOKER_KERNEL void paged_attention_f32(float *out, const float *q, const float *kCache, const float *vCache,
                                       const int *positions, const int *tokenSeq, const int *blockTables,
                                       int maxBlocks, int heads, int kvHeads, int headDim, int blockSize, int window,
                                       float scale) {
    paged_attention(out, q, kCache, vCache, positions, tokenSeq, blockTables, maxBlocks, heads, kvHeads, headDim,
                    blockSize, window, scale);
}

STOKER_KERNEL void paged_attention_f16(float *out, const float *q, const stoker_f16 *kCache, const stoker_f16 *vCache,
                                       const int *positions, const int *tokenSeq, const int *blockTables,
                                       int maxBlocks, int heads, int kvHeads, int headDim, int blockSize, int window,
                                       float scale) {
    paged_attention(out, q, kCache, vCache, positions, tokenSeq, blockTables, maxBlocks, heads, kvHeads, headDim,
                    blockSize, window, scale);
}

// ------------------------------------------------------------------------------------------------ sampling

// The (step + 1)-th nextDouble() of java.util.SplittableRandom(seed): counter-based, so a row's draw depends only on
// its seed and step, never on the batch.
__device__ __forceinline__ double uniform(long long seed, long long step) {
    unsigned long long z = (unsigned long long) seed + (unsigned long long) (step + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z = z ^ (z >> 31);
    return (double) (z >> 11) * 0x1.0p-53;
}

// The CPU Sampler's penalties, in place on logits (rows, vocab), before sample_rows. Row r's entries are
// [rowStart[r], rowStart[r + 1]) of (tokens, outputCounts): every listed token appeared in the prompt or the output
// (repetition penalty: divide a positive logit by it, multiply a negative one); outputCounts[j] > 0 also subtracts
// frequency * count + presence. Each token at most once per row. grid = rows; any blockDim.
STOKER_KERNEL void apply_penalties(float *logits, int vocab, const int *rowStart, const int *tokens,
                                   const int *outputCounts, const float *repetition, const float *presence,
                                   const float *frequency) {
    int row = blockIdx.x;
    float *l = logits + (long long) row * vocab;
    float rp = repetition[row];
    for (int j = rowStart[row] + threadIdx.x; j < rowStart[row + 1]; j += blockDim.x) {
        int t = tokens[j];
        if (t < 0 || t >= vocab) continue;
        float v = l[t];
        if (rp != 1.0f) v = v > 0.0f ? v / rp : v * rp;
        int c = outputCounts[j];
        if (c > 0) v -= (float) ((double) frequency[row] * c + (double) presence[row]);
        l[t] = v;
    }
}

// Probabilities are compared as their float bits (p >= 0, so bit order is value order) and summed in fixed point
// (units of 2^-40): integer sums are exact, so the result does not depend on the order threads add in.
#define MASS_ONE 1099511627776.0 /* 2^40 */

__device__ __forceinline__ unsigned long long fixed_mass(float p) { return (unsigned long long) ((double) p * MASS_ONE); }

// Candidate state of one row, evaluated on the fly (nothing is stored per token).
struct Row {
    const float *logits;
    int vocab;
    float invT;
    float zMax;
    bool topKOn;
    unsigned kthKey;     // keep float_key(z) >= the k-th largest
    bool topPOn;
    unsigned pKey;       // top-p boundary: keep p-bits > pKey, or == pKey with id <= pIdCut
    int pIdCut;
    float minP;          // keep p >= minP (the most likely token has p = 1)

    __device__ float z(int i) const { return logits[i] * invT; }
    __device__ float p(int i) const { return expf(z(i) - zMax); }
    // probability after top-k (stage 0) or after every filter (stage 1); 0 = filtered out
    __device__ float candidate(int i, int stage) const {
        if (topKOn && float_key(z(i)) < kthKey) return 0.0f;
        float pi = p(i);
        if (stage == 0 || pi <= 0.0f) return pi;
        if (topPOn) {
            unsigned k = __float_as_uint(pi);
            if (k < pKey || (k == pKey && i > pIdCut)) return 0.0f;
        }
        return pi >= minP ? pi : 0.0f;
    }
};

// What a radix search ranks: for each candidate a 32-bit key (larger ranks first) and a weight.
enum { BY_LOGIT_COUNT = 0, BY_PROB_MASS = 1, BY_ID_COUNT = 2 };

__device__ __forceinline__ bool rank_item(const Row &r, int i, int what, int stage, unsigned tieKey, unsigned *key,
                                          unsigned long long *w) {
    if (what == BY_LOGIT_COUNT) {
        *key = float_key(r.z(i));
        *w = 1;
        return true;
    }
    float pi = r.candidate(i, stage);
    if (pi <= 0.0f) return false;
    if (what == BY_PROB_MASS) {
        *key = __float_as_uint(pi);
        *w = fixed_mass(pi);
        return true;
    }
    if (__float_as_uint(pi) != tieKey) return false; // BY_ID_COUNT: ties at tieKey, smallest id first
    *key = ~(unsigned) i;
    *w = 1;
    return true;
}

// Radix search, most significant byte first: the largest key K whose weight W(key >= K) reaches `target`
// (W >= target when inclusive, W > target when not). *above = W(key > K). 256-bucket histograms in shared memory.
__device__ unsigned radix_find(const Row &r, int what, int stage, unsigned tieKey, unsigned long long target,
                               bool inclusive, unsigned long long *above) {
    __shared__ unsigned long long hist[256];
    __shared__ unsigned prefix_s;
    __shared__ unsigned long long above_s;
    __syncthreads(); // every thread has read the previous search's result
    if (threadIdx.x == 0) {
        prefix_s = 0;
        above_s = 0;
    }
    for (int shift = 24; shift >= 0; shift -= 8) {
        __syncthreads();
        for (int b = threadIdx.x; b < 256; b += blockDim.x) hist[b] = 0;
        __syncthreads();
        unsigned prefix = prefix_s;
        unsigned highMask = shift == 24 ? 0u : (0xffffffffu << (shift + 8));
        for (int i = threadIdx.x; i < r.vocab; i += blockDim.x) {
            unsigned key;
            unsigned long long w;
            if (rank_item(r, i, what, stage, tieKey, &key, &w) && (key & highMask) == (prefix & highMask)) {
                atomicAdd(&hist[(key >> shift) & 255u], w);
            }
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            unsigned long long cum = above_s;
            int chosen = 0;
            for (int b = 255; b >= 0; b--) {
                unsigned long long next = cum + hist[b];
                if (inclusive ? next >= target : next > target) {
                    chosen = b;
                    break;
                }
                cum = next;
            }
            prefix_s = prefix | ((unsigned) chosen << shift);
            above_s = cum;
        }
    }
    __syncthreads();
    *above = above_s;
    return prefix_s;
}

// Total weight of the row's candidates (exact, integer).
__device__ unsigned long long total_mass(const Row &r, int stage) {
    __shared__ unsigned long long total_s;
    __syncthreads();
    if (threadIdx.x == 0) total_s = 0;
    __syncthreads();
    unsigned long long mine = 0;
    for (int i = threadIdx.x; i < r.vocab; i += blockDim.x) {
        float pi = r.candidate(i, stage);
        if (pi > 0.0f) mine += fixed_mass(pi);
    }
    atomicAdd(&total_s, mine);
    __syncthreads();
    return total_s;
}

// The c-th smallest id (c >= 1) among candidates whose probability bits equal key.
__device__ int nth_tie(const Row &r, unsigned key, unsigned long long c, int stage) {
    unsigned long long unused;
    return (int) ~radix_find(r, BY_ID_COUNT, stage, key, c, true, &unused);
}

// One token per row of logits (rows, vocab). invTemperature[r] = 1 / temperature, 0 = greedy (argmax, lowest id
// on ties). Otherwise, in the CPU Sampler's order: scale by 1/T; keep the top-k (ties at the k-th kept); take the
// smallest prefix, in order of probability descending then id ascending, whose mass reaches topP; drop tokens
// below minP times the most likely; draw u = U(seed, step) * kept mass and return the first token in that order
// whose cumulative mass exceeds u. U(seed, step) is SplittableRandom(seed)'s (step + 1)-th nextDouble(). Masses
// are exact integer sums (2^-40 units), so a row's token depends only on its own inputs.
// grid = rows; blockDim a multiple of 32.
STOKER_KERNEL void sample_rows(int *out, const float *logits, int vocab, const float *invTemperature,
                               const int *topK, const float *topP, const float *minP, const long long *seeds,
                               const long long *steps) {
    int row = blockIdx.x;
    Row r;
    r.logits = logits + (long long) row * vocab;
    r.vocab = vocab;
    r.invT = invTemperature[row];
    r.zMax = 0.0f;
    r.topKOn = false;
    r.topPOn = false;
    r.kthKey = 0;
    r.pKey = 0;
    r.pIdCut = vocab - 1;
    r.minP = 0.0f;
    float bv = 0.0f;
    int bi = -1;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        float zi = r.invT == 0.0f ? r.logits[i] : r.z(i);
        if (better(zi, i, bv, bi)) {
            bv = zi;
            bi = i;
        }
    }
    block_best(&bv, &bi);
    if (r.invT == 0.0f) {
        if (threadIdx.x == 0) out[row] = bi < 0 ? 0 : bi;
        return;
    }
    r.zMax = bv;
    unsigned long long above;
    int k = topK[row];
    if (k > 0 && k < vocab) {
        r.kthKey = radix_find(r, BY_LOGIT_COUNT, 0, 0u, (unsigned long long) k, true, &above);
        r.topKOn = true;
    }
    float tp = topP[row];
    if (tp < 1.0f) {
        unsigned long long total = total_mass(r, 0);
        unsigned long long target = (unsigned long long) ceil((double) tp * (double) total);
        if (target < 1) target = 1;
        unsigned key = radix_find(r, BY_PROB_MASS, 0, 0u, target, true, &above);
        unsigned long long unit = fixed_mass(__uint_as_float(key));
        unsigned long long c = unit == 0 ? 1 : (target - above + unit - 1) / unit;
        if (c < 1) c = 1;
        r.pKey = key;
        r.pIdCut = nth_tie(r, key, c, 0);
        r.topPOn = true;
    }
    r.minP = minP[row];
    unsigned long long kept = total_mass(r, 1);
    unsigned long long u = (unsigned long long) (uniform(seeds[row], steps[row]) * (double) kept);
    if (u >= kept) u = kept - 1;
    unsigned key = radix_find(r, BY_PROB_MASS, 1, 0u, u, false, &above);
    unsigned long long unit = fixed_mass(__uint_as_float(key));
    unsigned long long c = unit == 0 ? 1 : (u - above) / unit + 1;
    int chosen = nth_tie(r, key, c, 1);
    if (threadIdx.x == 0) out[row] = chosen;
}

// log(sum(exp(logits))) of a row, in double; identical on every thread.
__device__ double row_log_z(const float *row, int vocab) {
    float bv = 0.0f;
    int bi = -1;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        if (better(row[i], i, bv, bi)) {
            bv = row[i];
            bi = i;
        }
    }
    block_best(&bv, &bi);
    double s = 0.0;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) s += exp((double) row[i] - (double) bv);
    s = block_sum_d(s);
    return (double) bv + log(s);
}

// out[r] = log softmax(logits[r])[tokens[r]] (raw logits, as the CPU engine reports logprobs). grid = rows.
STOKER_KERNEL void token_logprobs(float *out, const float *logits, const int *tokens, int vocab) {
    const float *row = logits + (long long) blockIdx.x * vocab;
    double logZ = row_log_z(row, vocab);
    if (threadIdx.x == 0) out[blockIdx.x] = (float) ((double) row[tokens[blockIdx.x]] - logZ);
}

// The k most likely tokens of each row (value descending, id ascending) and their logprobs: ids/logprobs are
// (rows, k). grid = rows; k <= 20 passes over the row.
STOKER_KERNEL void top_logprobs(int *ids, float *logprobs, const float *logits, int vocab, int k) {
    const float *row = logits + (long long) blockIdx.x * vocab;
    double logZ = row_log_z(row, vocab);
    float pv = POS_INF;
    int pi = -1;
    for (int j = 0; j < k; j++) {
        float bv = 0.0f;
        int bi = -1;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            float v = row[i];
            bool after = pi < 0 ? true : (v < pv || (v == pv && i > pi));
            if (after && better(v, i, bv, bi)) {
                bv = v;
                bi = i;
            }
        }
        block_best(&bv, &bi);
        if (threadIdx.x == 0) {
            ids[blockIdx.x * k + j] = bi;
            logprobs[blockIdx.x * k + j] = bi < 0 ? -POS_INF : (float) ((double) bv - logZ);
        }
        pv = bv;
        pi = bi;
    }
}

// ------------------------------------------------------------------------------------------------ random weights

// Deterministic weights for `random:` models, filled where they live: element i (of the whole tensor) is
// ((long) (h >> 40) - 2^23 + bias) * step, h = SplitMix64 finaliser of seed + (i + 1) * golden gamma; computed in
// integers, one int->float conversion and one float multiply (no contraction possible), then rounded to the element
// type, so io.stoker.llm.load.RandomTensor computes the same bits on the CPU.
__device__ __forceinline__ float random_value(unsigned long long seed, long long i, long long bias, float step) {
    unsigned long long z = seed + (unsigned long long) (i + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z = z ^ (z >> 31);
    long long r = (long long) (z >> 40) - 8388608LL + bias;
    return (float) r * step;
}

STOKER_KERNEL void fill_random_f32(float *out, long long n, unsigned long long seed, long long bias, float step) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x)
        out[i] = random_value(seed, i, bias, step);
}

STOKER_KERNEL void fill_random_bf16(stoker_bf16 *out, long long n, unsigned long long seed, long long bias,
                                    float step) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x)
        out[i] = stoker_f32_to_bf16(random_value(seed, i, bias, step));
}

STOKER_KERNEL void fill_random_f16(stoker_f16 *out, long long n, unsigned long long seed, long long bias, float step) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x)
        out[i] = stoker_f32_to_f16(random_value(seed, i, bias, step));
}
