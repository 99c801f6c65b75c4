/*
 * Simulated cuBLAS / cuBLASLt: the GEMM entry points Stoker calls, column-major as the real ones, f32/f16/bf16
 * inputs with f32 accumulation (fmaf in k order), queued on the handle's stream like any device work.
 */
#include "sim_core.h"

#include <cmath>
#include <cstring>
#include <memory>

#define EXPORT extern "C" __attribute__((visibility("default")))

using namespace sim;

typedef int cublasStatus_t;
enum : int {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_ARCH_MISMATCH = 8,
    CUBLAS_STATUS_MAPPING_ERROR = 11,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
    CUBLAS_STATUS_INTERNAL_ERROR = 14,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
};
enum : int { R_32F = 0, R_16F = 2, R_16BF = 14 };

namespace {

struct Handle {
    Context *ctx;
    Stream *stream;
};

size_t type_size(int t) { return t == R_32F ? 4 : 2; }

float load(const void *base, size_t i, int t) {
    if (t == R_32F) return static_cast<const float *>(base)[i];
    uint16_t v = static_cast<const uint16_t *>(base)[i];
    return t == R_16F ? f16_to_f32(v) : bf16_to_f32(v);
}

void store(void *base, size_t i, int t, float v) {
    if (t == R_32F) {
        static_cast<float *>(base)[i] = v;
    } else {
        static_cast<uint16_t *>(base)[i] = t == R_16F ? f32_to_f16(v) : f32_to_bf16(v);
    }
}

bool supported_compute(int c) { return c == 68 || c == 69 || c == 74 || c == 75 || c == 77; }
bool supported_input(int t) { return t == R_32F || t == R_16F || t == R_16BF; }

struct Gemm {
    int ta, tb;
    long long m, n, k;
    float alpha, beta;
    const void *a; int at; long long lda;
    const void *b; int bt; long long ldb;
    const void *c; void *d; int ct; long long ldc;
};

void run_gemm(const Gemm &g) {
    for (long long j = 0; j < g.n; j++) {
        for (long long i = 0; i < g.m; i++) {
            float acc = 0.0f;
            for (long long l = 0; l < g.k; l++) {
                float av = load(g.a, g.ta ? (size_t) (l + i * g.lda) : (size_t) (i + l * g.lda), g.at);
                float bv = load(g.b, g.tb ? (size_t) (j + l * g.ldb) : (size_t) (l + j * g.ldb), g.bt);
                acc = std::fma(av, bv, acc);
            }
            size_t ci = (size_t) (i + j * g.ldc);
            float out = g.alpha * acc;
            if (g.beta != 0.0f) out += g.beta * load(g.c, ci, g.ct);
            store(g.d, ci, g.ct, out);
        }
    }
}

/* Checks shapes, types and that every matrix lies in device memory; cuBLAS itself would fault instead. */
cublasStatus_t check(const Gemm &g, const char *call, long long batch = 1, long long sa = 0, long long sb = 0,
                     long long sc = 0) {
    char buf[300];
    if ((g.ta != 0 && g.ta != 1) || (g.tb != 0 && g.tb != 1) || g.m < 0 || g.n < 0 || g.k < 0) {
        snprintf(buf, sizeof buf, "%s: bad op or negative size (m=%lld n=%lld k=%lld)", call, g.m, g.n, g.k);
        fail(CUDA_ERROR_INVALID_VALUE, buf);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    long long ar = g.ta ? g.k : g.m, ac = g.ta ? g.m : g.k;
    long long br = g.tb ? g.n : g.k, bc = g.tb ? g.k : g.n;
    if (g.lda < (ar > 1 ? ar : 1) || g.ldb < (br > 1 ? br : 1) || g.ldc < (g.m > 1 ? g.m : 1)) {
        snprintf(buf, sizeof buf, "%s: leading dimension too small (lda=%lld for %lld rows, ldb=%lld for %lld, ldc=%lld "
                 "for %lld)", call, g.lda, ar, g.ldb, br, g.ldc, g.m);
        fail(CUDA_ERROR_INVALID_VALUE, buf);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (!supported_input(g.at) || g.at != g.bt || (g.ct != R_32F && g.ct != g.at)) {
        snprintf(buf, sizeof buf, "%s: type combination A=%d B=%d C=%d is not supported", call, g.at, g.bt, g.ct);
        fail(CUDA_ERROR_NOT_SUPPORTED, buf);
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    if (g.m == 0 || g.n == 0) return CUBLAS_STATUS_SUCCESS;
    auto span = [](long long rows, long long cols, long long ld, int t, long long stride, long long batch) {
        return (size_t) (((cols - 1) * ld + rows + (batch - 1) * stride) * (long long) type_size(t));
    };
    bool ok = (g.k == 0 || (find_allocation(g.a, span(ar, ac, g.lda, g.at, sa, batch), MemKind::device, nullptr)
                            && find_allocation(g.b, span(br, bc, g.ldb, g.bt, sb, batch), MemKind::device, nullptr)))
              && find_allocation(g.d, span(g.m, g.n, g.ldc, g.ct, sc, batch), MemKind::device, nullptr)
              && (g.beta == 0.0f || find_allocation(g.c, span(g.m, g.n, g.ldc, g.ct, sc, batch), MemKind::device, nullptr));
    if (!ok) {
        snprintf(buf, sizeof buf, "%s: a matrix is not inside one device allocation (an illegal address on a device)",
                 call);
        fail(CUDA_ERROR_ILLEGAL_ADDRESS, buf);
        return CUBLAS_STATUS_EXECUTION_FAILED;
    }
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t submit(Context *ctx, Stream *s, std::function<void()> work) {
    CUresult r = enqueue(ctx, s, [work]() {
        work();
        return CUDA_SUCCESS;
    });
    return r == CUDA_SUCCESS ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}

} // namespace

EXPORT const char *cublasGetStatusName(cublasStatus_t s) {
    switch (s) {
    case 0: return "CUBLAS_STATUS_SUCCESS";
    case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case 3: return "CUBLAS_STATUS_ALLOC_FAILED";
    case 7: return "CUBLAS_STATUS_INVALID_VALUE";
    case 8: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case 11: return "CUBLAS_STATUS_MAPPING_ERROR";
    case 13: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case 14: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case 15: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS_STATUS_UNKNOWN";
    }
}

EXPORT cublasStatus_t cublasCreate_v2(Handle **out) {
    Context *c;
    if (require_context(&c) != CUDA_SUCCESS) return CUBLAS_STATUS_NOT_INITIALIZED;
    *out = new Handle{ c, nullptr };
    return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasDestroy_v2(Handle *h) {
    if (h == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasGetVersion_v2(Handle *h, int *v) {
    if (h == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
    *v = 130000;
    return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasSetStream_v2(Handle *h, void *stream) {
    if (h == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!valid_stream(h->ctx, (Stream *) stream)) return CUBLAS_STATUS_INVALID_VALUE;
    h->stream = (Stream *) stream;
    return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasSetWorkspace_v2(Handle *h, void *ws, size_t bytes) {
    if (h == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (bytes > 0 && !find_allocation(ws, bytes, MemKind::device, nullptr)) return CUBLAS_STATUS_INVALID_VALUE;
    return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasGemmEx(Handle *h, int ta, int tb, int m, int n, int k, const void *alpha, const void *a,
                                   int at, int lda, const void *b, int bt, int ldb, const void *beta, void *c, int ct,
                                   int ldc, int compute, int algo) {
    (void) algo;
    if (h == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!supported_compute(compute)) return CUBLAS_STATUS_NOT_SUPPORTED;
    Gemm g{ ta, tb, m, n, k, *(const float *) alpha, *(const float *) beta, a, at, lda, b, bt, ldb, c, c, ct, ldc };
    cublasStatus_t s = check(g, "cublasGemmEx");
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    return submit(h->ctx, h->stream, [g]() { run_gemm(g); });
}

EXPORT cublasStatus_t cublasGemmStridedBatchedEx(Handle *h, int ta, int tb, int m, int n, int k, const void *alpha,
                                                 const void *a, int at, int lda, long long sa, const void *b, int bt,
                                                 int ldb, long long sb, const void *beta, void *c, int ct, int ldc,
                                                 long long sc, int batch, int compute, int algo) {
    (void) algo;
    if (h == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!supported_compute(compute)) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (batch < 0) return CUBLAS_STATUS_INVALID_VALUE;
    Gemm g{ ta, tb, m, n, k, *(const float *) alpha, *(const float *) beta, a, at, lda, b, bt, ldb, c, c, ct, ldc };
    if (batch == 0) return CUBLAS_STATUS_SUCCESS;
    cublasStatus_t s = check(g, "cublasGemmStridedBatchedEx", batch, sa, sb, sc);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    return submit(h->ctx, h->stream, [g, sa, sb, sc, batch]() {
        for (int i = 0; i < batch; i++) {
            Gemm x = g;
            x.a = (const char *) g.a + i * sa * (long long) type_size(g.at);
            x.b = (const char *) g.b + i * sb * (long long) type_size(g.bt);
            x.c = (const char *) g.c + i * sc * (long long) type_size(g.ct);
            x.d = (char *) g.d + i * sc * (long long) type_size(g.ct);
            run_gemm(x);
        }
    });
}

/* ------------------------------------------------------------------------------------------ cuBLASLt */

namespace {
struct LtHandle {
    Context *ctx;
};
struct LtDesc {
    int compute;
    int scale;
    int ta = 0, tb = 0;
};
struct LtLayout {
    int type;
    uint64_t rows, cols;
    int64_t ld;
};
} // namespace

EXPORT cublasStatus_t cublasLtCreate(LtHandle **out) {
    Context *c;
    if (require_context(&c) != CUDA_SUCCESS) return CUBLAS_STATUS_NOT_INITIALIZED;
    *out = new LtHandle{ c };
    return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasLtDestroy(LtHandle *h) {
    if (h == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}

EXPORT size_t cublasLtGetVersion() { return 130000; }

EXPORT cublasStatus_t cublasLtMatmulDescCreate(LtDesc **out, int compute, int scale) {
    if (!supported_compute(compute) || scale != R_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
    *out = new LtDesc{ compute, scale };
    return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasLtMatmulDescDestroy(LtDesc *d) {
    delete d;
    return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasLtMatmulDescSetAttribute(LtDesc *d, int attr, const void *buf, size_t size) {
    if (d == nullptr || buf == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    if ((attr == 3 || attr == 4) && size == sizeof(int32_t)) {
        int32_t v;
        std::memcpy(&v, buf, sizeof v);
        if (v != 0 && v != 1) return CUBLAS_STATUS_NOT_SUPPORTED;
        (attr == 3 ? d->ta : d->tb) = v;
        return CUBLAS_STATUS_SUCCESS;
    }
    return CUBLAS_STATUS_NOT_SUPPORTED;
}

EXPORT cublasStatus_t cublasLtMatrixLayoutCreate(LtLayout **out, int type, uint64_t rows, uint64_t cols, int64_t ld) {
    if (!supported_input(type) || ld < (int64_t) (rows > 1 ? rows : 1)) return CUBLAS_STATUS_INVALID_VALUE;
    *out = new LtLayout{ type, rows, cols, ld };
    return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasLtMatrixLayoutDestroy(LtLayout *l) {
    delete l;
    return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasLtMatmul(LtHandle *h, LtDesc *desc, const void *alpha, const void *a, LtLayout *la,
                                     const void *b, LtLayout *lb, const void *beta, const void *c, LtLayout *lc,
                                     void *d, LtLayout *ld, const void *algo, void *ws, size_t wsBytes, void *stream) {
    (void) algo;
    if (h == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!desc || !la || !lb || !lc || !ld) return CUBLAS_STATUS_INVALID_VALUE;
    if (!valid_stream(h->ctx, (Stream *) stream)) return CUBLAS_STATUS_INVALID_VALUE;
    if (wsBytes > 0 && !find_allocation(ws, wsBytes, MemKind::device, nullptr)) return CUBLAS_STATUS_INVALID_VALUE;
    long long m = (long long) lc->rows, n = (long long) lc->cols;
    long long k = desc->ta ? (long long) la->rows : (long long) la->cols;
    long long am = desc->ta ? (long long) la->cols : (long long) la->rows;
    long long bk = desc->tb ? (long long) lb->cols : (long long) lb->rows;
    long long bn = desc->tb ? (long long) lb->rows : (long long) lb->cols;
    if (am != m || bk != k || bn != n || ld->rows != lc->rows || ld->cols != lc->cols || ld->type != lc->type
        || ld->ld != lc->ld) {
        fail(CUDA_ERROR_INVALID_VALUE, "cublasLtMatmul: layouts of A, B, C and D do not agree");
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    Gemm g{ desc->ta, desc->tb, m, n, k, *(const float *) alpha, *(const float *) beta, a, la->type, la->ld,
            b, lb->type, lb->ld, c, d, lc->type, lc->ld };
    cublasStatus_t s = check(g, "cublasLtMatmul");
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    return submit(h->ctx, (Stream *) stream, [g]() { run_gemm(g); });
}

/* ------------------------------------------------------------------------------------------ half helpers */

float sim::bf16_to_f32(uint16_t v) {
    uint32_t u = (uint32_t) v << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

uint16_t sim::f32_to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t) ((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t) (u >> 16);
}

float sim::f16_to_f32(uint16_t h) {
    uint32_t sign = ((uint32_t) h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else {
        float v = (float) man * 5.9604644775390625e-8f;
        return (h & 0x8000u) ? -v : v;
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t sim::f32_to_f16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t) (sign | 0x7e00u);
    if (a >= 0x477ff000u) return (uint16_t) (sign | 0x7c00u);
    if (a >= 0x38800000u) {
        uint32_t r = a - 0x38000000u;
        r += 0x0fffu + ((r >> 13) & 1u);
        return (uint16_t) (sign | (r >> 13));
    }
    if (a < 0x33000000u) return (uint16_t) sign;
    uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u, shift = 126u - e;
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return (uint16_t) (sign | q);
}
