// Kernels that exercise the CUDA programming model as the runtime's tests need it: on the simulator (compiled as
// C++ by cudasim/build.sh) and on a GPU (compiled by NVRTC), the same source.
#include "stoker_device.h"

// c[i] = a[i] + b[i]
STOKER_KERNEL void vec_add(const float *a, const float *b, float *c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}

// x[i] *= s over n elements (grid-stride loop)
STOKER_KERNEL void scale(float *x, float s, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        x[i] *= s;
    }
}

// out[blockIdx.x] = sum of x[blockIdx.x * n .. + n) via dynamic shared memory and __syncthreads (blockDim a power
// of two)
STOKER_KERNEL void block_sum(const float *x, float *out, int n) {
    STOKER_DYNAMIC_SHARED(float, part);
    const float *row = x + (long long) blockIdx.x * n;
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += row[i];
    part[threadIdx.x] = s;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
        if (threadIdx.x < stride) part[threadIdx.x] += part[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = part[0];
}

// per warp: out[warp] = sum over its lanes of x[i] (xor shuffles), lanes[i] = value read from lane (lane+3)%32 by
// an indexed shuffle, up[i]/down[i] = shuffled up/down by 1
STOKER_KERNEL void warp_ops(const float *x, float *out, float *lanes, float *up, float *down) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    float v = x[i];
    float s = v;
    for (int o = 16; o > 0; o /= 2) s += __shfl_xor_sync(0xffffffffu, s, o);
    int lane = threadIdx.x % 32;
    lanes[i] = __shfl_sync(0xffffffffu, v, (lane + 3) % 32);
    up[i] = __shfl_up_sync(0xffffffffu, v, 1);
    down[i] = __shfl_down_sync(0xffffffffu, v, 1);
    if (lane == 0) out[i / 32] = s;
}

// out[warp] = ballot of (x[i] > 0) over the warp
STOKER_KERNEL void ballot(const float *x, unsigned *out) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned b = __ballot_sync(0xffffffffu, x[i] > 0.0f);
    if (threadIdx.x % 32 == 0) out[i / 32] = b;
}

// counts positive entries with atomicAdd, and the maximum with atomicMax (ints)
STOKER_KERNEL void atomics(const int *x, int n, int *count, int *maximum, float *fsum) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        if (x[i] > 0) atomicAdd(count, 1);
        atomicMax(maximum, x[i]);
        atomicAdd(fsum, (float) x[i]);
    }
}

// threads >= n exit at once; the rest meet at barriers: exited threads must not block __syncthreads
STOKER_KERNEL void early_exit(float *out, int n) {
    STOKER_DYNAMIC_SHARED(float, buf);
    if ((int) threadIdx.x >= n) return;
    buf[threadIdx.x] = (float) threadIdx.x;
    __syncthreads();
    out[threadIdx.x] = buf[n - 1 - threadIdx.x];
    __syncthreads();
}

// mixed parameter types and alignments: out = {a, b, c, d}
STOKER_KERNEL void params_mix(unsigned char a, double b, int c, long long d, float *out) {
    if (threadIdx.x == 0 && blockIdx.x == 0) {
        out[0] = (float) a;
        out[1] = (float) b;
        out[2] = (float) c;
        out[3] = (float) d;
    }
}

// a device-side failure: makes the context's error sticky
STOKER_KERNEL void trap_if(const int *flag) {
    if (*flag != 0) __trap();
}

// full-mask shuffle: launched with blockDim 16, the mask names lanes that do not exist
STOKER_KERNEL void full_mask_shuffle(float *x) {
    x[threadIdx.x] = __shfl_xor_sync(0xffffffffu, x[threadIdx.x], 1);
}

// 3-D indices: out[(z * gy + y) * gx + x] for block (x, y, z) of a 3-D grid, thread (0,0,0) writes the linear id
STOKER_KERNEL void grid3d(int *out) {
    int id = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
    int t = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    if (t == 0) out[id] = id;
}
