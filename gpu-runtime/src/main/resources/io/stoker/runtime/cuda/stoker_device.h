/*
 * Stoker's device prelude: included by every Stoker .cu source, compiled by NVRTC on a GPU and as C++ for the
 * CUDA simulator (which defines __CUDASIM__). Keep it free of CUDA headers: NVRTC gets it as a named header.
 */
#ifndef STOKER_DEVICE_H
#define STOKER_DEVICE_H

#ifdef __CUDASIM__
/* Dynamic shared memory of the launch (sharedMemBytes), as T*. */
#define STOKER_DYNAMIC_SHARED(T, name) T *name = reinterpret_cast<T *>(cudasim::dynamic_shared())
#define STOKER_ASSERT(c) CUDASIM_ASSERT(c)
#else
#define STOKER_DYNAMIC_SHARED(T, name)                                                                          \
    extern __shared__ __align__(16) unsigned char stoker_dynamic_smem_[];                                       \
    T *name = reinterpret_cast<T *>(stoker_dynamic_smem_)
#define STOKER_ASSERT(c) ((c) ? (void) 0 : __trap())
#endif

#define STOKER_KERNEL extern "C" __global__

typedef unsigned short stoker_bf16; /* bfloat16 bits */
typedef unsigned short stoker_f16;  /* IEEE binary16 bits */

/* bfloat16 -> float: exact. */
__device__ __forceinline__ float stoker_bf16_to_f32(stoker_bf16 v) {
    return __uint_as_float(((unsigned int) v) << 16);
}

/* float -> bfloat16, round to nearest even; NaN stays a (quiet) NaN. */
__device__ __forceinline__ stoker_bf16 stoker_f32_to_bf16(float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (stoker_bf16) ((u >> 16) | 0x0040u);
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    return (stoker_bf16) (u >> 16);
}

/* binary16 -> float: exact (subnormals, infinities and NaN included). */
__device__ __forceinline__ float stoker_f16_to_f32(stoker_f16 h) {
    unsigned int sign = ((unsigned int) h & 0x8000u) << 16;
    unsigned int exp = ((unsigned int) h >> 10) & 0x1fu;
    unsigned int man = (unsigned int) h & 0x3ffu;
    unsigned int bits;
    if (exp == 0x1fu) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else {
        /* subnormal: value = man * 2^-24 */
        return (h & 0x8000u) ? -(float) man * 5.9604644775390625e-8f : (float) man * 5.9604644775390625e-8f;
    }
    return __uint_as_float(bits);
}

/* float -> binary16, round to nearest even; overflow gives infinity, NaN a quiet NaN. */
__device__ __forceinline__ stoker_f16 stoker_f32_to_f16(float f) {
    unsigned int u = __float_as_uint(f);
    unsigned int sign = (u >> 16) & 0x8000u;
    unsigned int a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (stoker_f16) (sign | 0x7e00u);
    if (a >= 0x477ff000u) return (stoker_f16) (sign | 0x7c00u); /* >= 65520 rounds to infinity */
    if (a >= 0x38800000u) {                                       /* normal half */
        unsigned int r = a - 0x38000000u;                         /* rebias exponent 127 -> 15 */
        r += 0x0fffu + ((r >> 13) & 1u);
        return (stoker_f16) (sign | (r >> 13));
    }
    if (a < 0x33000000u) return (stoker_f16) sign; /* below half the smallest subnormal: zero */
    /* subnormal half: shift the mantissa (with its implicit bit) right, round to nearest even */
    unsigned int e = a >> 23;
    unsigned int m = (a & 0x7fffffu) | 0x800000u;
    unsigned int shift = 126u - e; /* 14..24 */
    unsigned int q = m >> shift;
    unsigned int rem = m & ((1u << shift) - 1u);
    unsigned int half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return (stoker_f16) (sign | q);
}

#endif
