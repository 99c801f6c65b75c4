/* Internals shared by the simulator's translation units (driver, cuBLAS, NVRTC, NCCL). */
#ifndef CUDASIM_CORE_H
#define CUDASIM_CORE_H

#include "cudasim_abi.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

typedef int CUresult;

enum : int {
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_NO_DEVICE = 100,
    CUDA_ERROR_INVALID_DEVICE = 101,
    CUDA_ERROR_INVALID_IMAGE = 200,
    CUDA_ERROR_INVALID_CONTEXT = 201,
    CUDA_ERROR_FILE_NOT_FOUND = 301,
    CUDA_ERROR_SHARED_OBJECT_INIT_FAILED = 303,
    CUDA_ERROR_INVALID_HANDLE = 400,
    CUDA_ERROR_NOT_FOUND = 500,
    CUDA_ERROR_NOT_READY = 600,
    CUDA_ERROR_ILLEGAL_ADDRESS = 700,
    CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701,
    CUDA_ERROR_LAUNCH_TIMEOUT = 702,
    CUDA_ERROR_CONTEXT_IS_DESTROYED = 709,
    CUDA_ERROR_ASSERT = 710,
    CUDA_ERROR_ILLEGAL_INSTRUCTION = 715,
    CUDA_ERROR_LAUNCH_FAILED = 719,
    CUDA_ERROR_NOT_SUPPORTED = 801,
    CUDA_ERROR_UNKNOWN = 999,
};

namespace sim {

struct Config {
    int devices = 2;
    size_t memory_bytes = size_t(1) << 30;
    int sms = 4;
    int cc_major = 9;
    int cc_minor = 0;
    int shared_per_block = 48 * 1024;
    int shared_optin = 227 * 1024;
    int barrier_timeout_ms = 10000;
    /* NCCL across processes: the shared-memory slot for one rank's data of one call (sparse until touched) */
    size_t nccl_slot_bytes = size_t(16) << 20;
};
Config &config();

/* The message behind the last error of this thread; cuGetErrorString appends it. */
CUresult fail(CUresult code, const std::string &message);
void clear_error();
const std::string &last_message();
int last_code();

struct Stream;

struct Context {
    int device = 0;
    int refs = 0;
    std::atomic<int> sticky{ 0 };
    std::string sticky_message; /* written once, with sticky */
    std::mutex mu;
    std::vector<Stream *> streams;
};

struct Stream {
    Context *ctx = nullptr;
    unsigned flags = 0;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<CUresult()>> queue;
    uint64_t enqueued = 0;
    uint64_t executed = 0;
    bool busy = false;
    bool query_reported_pending = false;
};

bool initialized();
Context *current();
/* Current context, or an error code when there is none (and the message set). */
CUresult require_context(Context **out);
bool valid_stream(Context *ctx, Stream *s);

/* Runs `op` in stream order: queued on a stream (executed lazily, at the next synchronisation), or at once on
 * the legacy null stream after all streams of the context. */
CUresult enqueue(Context *ctx, Stream *s, std::function<CUresult()> op);
/* The number of ops queued on `s` so far: the index the next enqueued op gets, so another thread can run the
 * stream up to (not including) that op with flush_until(s, index). Call it on the thread that enqueues. */
uint64_t queued_ops(Stream *s);
/* Executes the stream's queue up to `target` ops; returns the context's sticky error, if any. */
CUresult flush_until(Stream *s, uint64_t target);
CUresult flush(Stream *s);
CUresult flush_context(Context *ctx);
/* Reports the context's sticky error from a synchronising call. */
CUresult sticky_error(Context *ctx);

/* Allocation registry */
enum class MemKind { device, pinned };
bool find_allocation(const void *p, size_t bytes, MemKind kind, int *device_out);
bool is_device_memory(const void *p);
bool is_pinned_memory(const void *p);

/* Kernel execution */
struct KernelLib {
    std::string path;
    void *handle = nullptr;
    const cudasim_kernel *kernels = nullptr;
    int count = 0;
    std::string source;
    uint64_t hash = 0;
};
uint64_t fnv1a(const std::string &s);
const KernelLib *find_kernel_lib(uint64_t hash);
std::string kernel_lib_list();

CUresult run_kernel(const cudasim_kernel *k, cudasim_dim grid, cudasim_dim block, unsigned shared, void **params,
                    std::string *why);

/* Half-precision helpers (host side), the same rounding as stoker_device.h */
float bf16_to_f32(uint16_t v);
uint16_t f32_to_bf16(float f);
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

} // namespace sim

#endif
