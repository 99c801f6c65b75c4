/*
 * The contract between the simulator core (libstoker-cudasim.so, which plays libcuda/cuBLAS/NVRTC) and a
 * kernel library (the same .cu sources compiled as C++ with cudasim.h). The core owns the fibers that play
 * CUDA threads and calls a kernel through `invoke`; the kernel reaches barriers and warp exchanges through the
 * `ops` table of its thread's environment, so a kernel library needs no symbol from the core.
 */
#ifndef CUDASIM_ABI_H
#define CUDASIM_ABI_H

#include <stddef.h>
#include <stdint.h>

#define CUDASIM_ABI_VERSION 1

struct cudasim_dim { unsigned int x, y, z; };

struct cudasim_env;

struct cudasim_ops {
    void (*syncthreads)(struct cudasim_env *);
    void (*syncwarp)(struct cudasim_env *, unsigned int mask);
    /* mode: 0 idx, 1 up, 2 down, 3 xor */
    uint64_t (*shfl)(struct cudasim_env *, unsigned int mask, uint64_t value, int lane_or_delta, int width, int mode);
    unsigned int (*ballot)(struct cudasim_env *, unsigned int mask, int predicate);
    /* never returns: unwinds the CUDA thread; code is a CUresult (e.g. 710 assert, 719 launch failure) */
    void (*trap)(struct cudasim_env *, int code, const char *why);
};

struct cudasim_env {
    struct cudasim_dim thread_idx;
    struct cudasim_dim block_idx;
    struct cudasim_dim block_dim;
    struct cudasim_dim grid_dim;
    unsigned int lane;
    unsigned int warp;
    unsigned char *dynamic_shared;
    const struct cudasim_ops *ops;
    void *block; /* core-private */
};

struct cudasim_kernel {
    const char *name;
    int nparams;
    const size_t *param_sizes;
    const size_t *param_aligns;
    void (*invoke)(struct cudasim_env *, void **params);
};

/* Exported by every kernel library. `source` is the .cu text the library was built from. */
typedef const struct cudasim_kernel *(*cudasim_kernel_table_t)(int *count, const char **source, size_t *source_len,
                                                               int *abi_version);

#endif
