package io.stoker.llm.backend.cpu;

/** Per-worker buffers of the CPU kernels, grown on demand (one per pool thread; never shared). */
final class Scratch {
    float[] tileF = new float[0];
    short[] tileS = new short[0];
    byte[] tileB = new byte[0];
    float[] scales = new float[0];
    final float[] lanes = new float[CpuKernels.LANES];
    float[] scores = new float[0];
    float[] acc = new float[0];
    float[] row = new float[0];

    float[] tileF(int n) {
        if (tileF.length < n) {
            tileF = new float[n];
        }
        return tileF;
    }

    short[] tileS(int n) {
        if (tileS.length < n) {
            tileS = new short[n];
        }
        return tileS;
    }

    byte[] tileB(int n) {
        if (tileB.length < n) {
            tileB = new byte[n];
        }
        return tileB;
    }

    float[] scales(int n) {
        if (scales.length < n) {
            scales = new float[n];
        }
        return scales;
    }

    float[] scores(int n) {
        if (scores.length < n) {
            scores = new float[Math.max(n, 256)];
        }
        return scores;
    }

    float[] acc(int n) {
        if (acc.length < n) {
            acc = new float[n];
        }
        return acc;
    }

    /** A second row-sized buffer (f16 keys or values widened to f32). */
    float[] row(int n) {
        if (row.length < n) {
            row = new float[n];
        }
        return row;
    }
}
