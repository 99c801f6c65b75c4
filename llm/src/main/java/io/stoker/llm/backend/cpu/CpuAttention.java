package io.stoker.llm.backend.cpu;

import io.stoker.llm.kv.KvCacheDescriptor;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.Float16;

/** The paged KV cache ops of the CPU backend: writing a step's K/V rows, and attention over the cache. */
final class CpuAttention {
    private CpuAttention() {
    }

    /** Stores K and V rows of every token of {@code b} at its position (binary16 rounding for an F16 cache). */
    static void write(CpuKvCache c, int layer, float[] k, float[] v, int kvStride, ForwardBatch b) {
        int li = c.index(layer);
        int hd = c.headDim();
        int bs = c.blockSize();
        int kvHeads = c.kvHeads();
        int[] pos = b.positions();
        int[] seq = b.tokenSeq();
        int[][] tables = b.blockTables();
        for (int t = 0; t < b.numTokens(); t++) {
            int p = pos[t];
            int[] table = tables[seq[t]];
            int block = table[p / bs];
            if (block < 0 || block >= c.numBlocks()) {
                throw new IllegalArgumentException("token " + t + " at position " + p + " maps to KV block " + block
                        + ", outside [0, " + c.numBlocks() + ")");
            }
            for (int h = 0; h < kvHeads; h++) {
                int o = KvCacheDescriptor.offset(block, h, p % bs, kvHeads, bs, hd);
                int src = t * kvStride + h * hd;
                if (c.dtype() == DType.F32) {
                    System.arraycopy(k, src, c.k[li], o, hd);
                    System.arraycopy(v, src, c.v[li], o, hd);
                } else {
                    short[] kd = c.kh[li];
                    short[] vd = c.vh[li];
                    for (int i = 0; i < hd; i++) {
                        kd[o + i] = Float16.fromFloat(k[src + i]);
                        vd[o + i] = Float16.fromFloat(v[src + i]);
                    }
                }
            }
        }
    }

    /** One job per (token, query head). */
    static void attend(WorkerPool pool, Scratch[] scratch, float[] q, int heads, CpuKvCache c, int layer, int window,
                       ForwardBatch b, float[] out) {
        int li = c.index(layer);
        int kvHeads = c.kvHeads();
        int hd = c.headDim();
        int group = heads / kvHeads;
        int qStride = heads * hd;
        float scale = (float) (1.0 / Math.sqrt(hd));
        int bs = c.blockSize();
        int[] positions = b.positions();
        int[] tokenSeq = b.tokenSeq();
        int[][] tables = b.blockTables();
        boolean f16 = c.dtype() == DType.F16;
        pool.parallelFor(b.numTokens() * heads, (job, worker) -> {
            int t = job / heads;
            int h = job % heads;
            int kvh = h / group;
            int pos = positions[t];
            int start = window > 0 ? Math.max(0, pos - window + 1) : 0;
            Scratch s = scratch[worker];
            float[] sc = s.scores(pos + 1);
            int[] table = tables[tokenSeq[t]];
            int qo = t * qStride + h * hd;
            if (f16) {
                CpuKernels.attendOneF16(q, qo, hd, c.kh[li], c.vh[li], table, bs, kvHeads, kvh, start, pos, scale, sc,
                        out, qo, s.lanes, s.acc(hd), s.row(hd));
            } else {
                CpuKernels.attendOne(q, qo, hd, c.k[li], c.v[li], table, bs, kvHeads, kvh, start, pos, scale, sc, out,
                        qo, s.lanes, s.acc(hd));
            }
        });
    }
}
