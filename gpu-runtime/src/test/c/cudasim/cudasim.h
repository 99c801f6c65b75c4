/*
 * Maps the CUDA programming model onto CPU threads so that .cu kernel sources compile as C++ (g++ -std=c++17)
 * for the simulator. Each CUDA thread of a block is a fiber of the simulator core (the block's fibers take turns on
 * one CPU thread); blocks run one after another. `__shared__` variables are static (one copy, shared by the block's threads; blocks never
 * overlap and the core runs one launch at a time). Dynamic shared memory comes from stoker_device.h's
 * STOKER_DYNAMIC_SHARED, which maps to the block's buffer here.
 *
 * Included before the kernel source with -include; kernel sources test __CUDASIM__ only through
 * stoker_device.h.
 */
#ifndef CUDASIM_H
#define CUDASIM_H

#include <cmath>
#include <cstdint>
#include <cstring>
#include <cfloat>
#include <climits>
#include <type_traits>
#include <utility>

#include "cudasim_abi.h"

#define __CUDASIM__ 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __shared__ static
#define __constant__ static const
#define __align__(n) alignas(n)

struct uint3 { unsigned int x, y, z; };
struct dim3 { unsigned int x, y, z; };

namespace cudasim {
inline thread_local cudasim_env *tls_env = nullptr;
inline cudasim_env *env() { return tls_env; }
inline uint3 to_uint3(const cudasim_dim &d) { return uint3{ d.x, d.y, d.z }; }
inline dim3 to_dim3(const cudasim_dim &d) { return dim3{ d.x, d.y, d.z }; }
inline unsigned char *dynamic_shared() { return tls_env->dynamic_shared; }

template <typename T> inline T shfl(unsigned mask, T v, int arg, int width, int mode) {
    static_assert(sizeof(T) <= 8, "shuffle of a value wider than 8 bytes");
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    cudasim_env *e = tls_env;
    uint64_t r = e->ops->shfl(e, mask, bits, arg, width, mode);
    tls_env = e; /* CUDA threads are fibers sharing one OS thread: restore ours after the exchange */
    T out;
    std::memcpy(&out, &r, sizeof(T));
    return out;
}

/* Unpacks kernelParams into the kernel's typed arguments. */
template <typename... A, size_t... I>
inline void call_with(void (*f)(A...), void **params, std::index_sequence<I...>) {
    f(*static_cast<std::remove_reference_t<A> *>(params[I])...);
}

template <typename... A> struct signature {
    static constexpr int count = sizeof...(A);
    static constexpr size_t sizes[sizeof...(A) + 1] = { sizeof(A)..., 0 };
    static constexpr size_t aligns[sizeof...(A) + 1] = { alignof(A)..., 0 };
};
} // namespace cudasim

#define threadIdx (cudasim::to_uint3(cudasim::env()->thread_idx))
#define blockIdx (cudasim::to_uint3(cudasim::env()->block_idx))
#define blockDim (cudasim::to_dim3(cudasim::env()->block_dim))
#define gridDim (cudasim::to_dim3(cudasim::env()->grid_dim))
#define warpSize 32

/* CUDA threads are fibers that share one OS thread: each call that may switch fibers restores the caller's env */
inline void __syncthreads() {
    cudasim_env *e = cudasim::env();
    e->ops->syncthreads(e);
    cudasim::tls_env = e;
}
inline void __syncwarp(unsigned mask = 0xffffffffu) {
    cudasim_env *e = cudasim::env();
    e->ops->syncwarp(e, mask);
    cudasim::tls_env = e;
}
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
[[noreturn]] inline void __trap() {
    cudasim::env()->ops->trap(cudasim::env(), 719, "__trap()");
    __builtin_unreachable();
}
#define CUDASIM_ASSERT(c) ((c) ? (void) 0 : cudasim::env()->ops->trap(cudasim::env(), 710, "device assert: " #c))

template <typename T> inline T __shfl_sync(unsigned m, T v, int src, int w = 32) { return cudasim::shfl(m, v, src, w, 0); }
template <typename T> inline T __shfl_up_sync(unsigned m, T v, unsigned d, int w = 32) { return cudasim::shfl(m, v, (int) d, w, 1); }
template <typename T> inline T __shfl_down_sync(unsigned m, T v, unsigned d, int w = 32) { return cudasim::shfl(m, v, (int) d, w, 2); }
template <typename T> inline T __shfl_xor_sync(unsigned m, T v, int x, int w = 32) { return cudasim::shfl(m, v, x, w, 3); }
inline unsigned __ballot_sync(unsigned m, int p) {
    cudasim_env *e = cudasim::env();
    unsigned r = e->ops->ballot(e, m, p);
    cudasim::tls_env = e;
    return r;
}
inline int __any_sync(unsigned m, int p) { return __ballot_sync(m, p) != 0; }
inline int __all_sync(unsigned m, int p) { return __ballot_sync(m, p) == (__ballot_sync(m, 1)); }
inline unsigned __activemask() { return __ballot_sync(0xffffffffu, 1); }
inline int __reduce_add_sync(unsigned m, int v) {
    for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(m, v, o);
    return v;
}
inline unsigned __reduce_max_sync(unsigned m, unsigned v) {
    for (int o = 16; o > 0; o /= 2) { unsigned w = __shfl_xor_sync(m, v, o); v = v > w ? v : w; }
    return v;
}

/* ---- atomics (device-wide = process-wide here) */
template <typename T> inline T atomicAdd(T *p, T v) {
    if constexpr (std::is_floating_point_v<T>) {
        T old = *p;
        T desired;
        do {
            desired = old + v;
        } while (!__atomic_compare_exchange(p, &old, &desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
        return old;
    } else {
        return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
    }
}
template <typename T> inline T atomicSub(T *p, T v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }
template <typename T> inline T atomicExch(T *p, T v) {
    T old;
    __atomic_exchange(p, &v, &old, __ATOMIC_SEQ_CST);
    return old;
}
template <typename T> inline T atomicCAS(T *p, T cmp, T v) {
    __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return cmp;
}
template <typename T> inline T atomicMax(T *p, T v) {
    T old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (old < v && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}
template <typename T> inline T atomicMin(T *p, T v) {
    T old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (old > v && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}
template <typename T> inline T atomicOr(T *p, T v) { return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }
template <typename T> inline T atomicAnd(T *p, T v) { return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST); }

/* ---- intrinsics and math */
inline float __int_as_float(int v) { float f; std::memcpy(&f, &v, 4); return f; }
inline int __float_as_int(float f) { int v; std::memcpy(&v, &f, 4); return v; }
inline float __uint_as_float(unsigned v) { float f; std::memcpy(&f, &v, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned v; std::memcpy(&v, &f, 4); return v; }
inline double __longlong_as_double(long long v) { double d; std::memcpy(&d, &v, 8); return d; }
inline long long __double_as_longlong(double d) { long long v; std::memcpy(&v, &d, 8); return v; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __saturatef(float x) { return x < 0 ? 0 : (x > 1 ? 1 : x); }
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __popcll(unsigned long long v) { return __builtin_popcountll(v); }
inline int __clz(int v) { return v == 0 ? 32 : __builtin_clz((unsigned) v); }
inline int __ffs(int v) { return __builtin_ffs(v); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
    return (unsigned long long) (((unsigned __int128) a * b) >> 64);
}
template <typename T> inline T __ldg(const T *p) { return *p; }
using std::exp; using std::log; using std::sqrt; using std::fabs; using std::floor; using std::ceil;
using std::sin; using std::cos; using std::pow; using std::fmin; using std::fmax; using std::isnan; using std::isinf;
inline float expf(float x) { return std::exp(x); }
inline float logf(float x) { return std::log(x); }
inline float sqrtf(float x) { return std::sqrt(x); }
inline float fabsf(float x) { return std::fabs(x); }
inline float fmaxf(float a, float b) { return std::fmax(a, b); }
inline float fminf(float a, float b) { return std::fmin(a, b); }
inline float fmaf(float a, float b, float c) { return std::fma(a, b, c); }
inline int max(int a, int b) { return a > b ? a : b; }
inline int min(int a, int b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline float max(float a, float b) { return std::fmax(a, b); }
inline float min(float a, float b) { return std::fmin(a, b); }

/* ---- registration: the generated <program>_sim.cpp lists every extern "C" __global__ of the source */
namespace cudasim {
struct registry {
    static constexpr int capacity = 512;
    cudasim_kernel kernels[capacity];
    int count = 0;
    static registry &get() {
        static registry r;
        return r;
    }
};

template <typename F> struct fn_traits;
template <typename... A> struct fn_traits<void (*)(A...)> {
    using sig = signature<A...>;
    using seq = std::index_sequence_for<A...>;
};

template <auto F> void invoke(cudasim_env *e, void **params) {
    tls_env = e;
    call_with(F, params, typename fn_traits<decltype(F)>::seq{});
}

template <auto F> struct registrar {
    explicit registrar(const char *name) {
        using sig = typename fn_traits<decltype(F)>::sig;
        registry &r = registry::get();
        if (r.count < registry::capacity) {
            r.kernels[r.count++] = cudasim_kernel{ name, sig::count, sig::sizes, sig::aligns, &invoke<F> };
        }
    }
};
} // namespace cudasim

#define CUDASIM_KERNEL(fn) static cudasim::registrar<&fn> cudasim_reg_##fn(#fn);

/* Embeds the kernel source (path given at build time) and exports the kernel table. */
#define CUDASIM_STR2(x) #x
#define CUDASIM_STR(x) CUDASIM_STR2(x)
#define CUDASIM_PROGRAM(path)                                                                                   \
    __asm__(".section .rodata\n.balign 16\n.local cudasim_source_begin\ncudasim_source_begin:\n.incbin \"" path \
            "\"\n.local cudasim_source_end\ncudasim_source_end:\n.byte 0\n.previous\n");                        \
    extern "C" const char cudasim_source_begin[] __asm__("cudasim_source_begin");                               \
    extern "C" const char cudasim_source_end[] __asm__("cudasim_source_end");                                   \
    extern "C" __attribute__((visibility("default"))) const cudasim_kernel *cudasim_kernel_table(              \
            int *count, const char **source, size_t *source_len, int *abi) {                                    \
        *count = cudasim::registry::get().count;                                                                \
        *source = cudasim_source_begin;                                                                         \
        *source_len = (size_t) (cudasim_source_end - cudasim_source_begin);                                     \
        *abi = CUDASIM_ABI_VERSION;                                                                             \
        return cudasim::registry::get().kernels;                                                                \
    }

#endif
