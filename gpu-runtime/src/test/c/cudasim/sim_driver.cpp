/*
 * The simulated CUDA driver API (the subset Stoker's shim calls), on the CPU.
 *
 * Devices are configurable (count, memory, SM count); device memory is host memory; contexts are the devices'
 * primary contexts, current per thread. Streams are lazy: work queued on a stream runs only when something
 * synchronises with it (stream/event synchronize or query, a synchronous copy, cuMemFree, cuCtxSynchronize),
 * so host code that reads results without synchronising sees stale data deterministically. Kernel launches are
 * checked as a device checks them and then run on CPU threads (sim_threads.cpp).
 */
#include "sim_core.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#define EXPORT extern "C" __attribute__((visibility("default")))

typedef int CUdevice;
typedef unsigned long long CUdeviceptr;

namespace sim {

Config &config() {
    static Config c;
    return c;
}

static thread_local int tl_code = 0;
static thread_local std::string tl_message;

CUresult fail(CUresult code, const std::string &message) {
    tl_code = code;
    tl_message = message;
    return code;
}
void clear_error() {
    tl_code = 0;
    tl_message.clear();
}
const std::string &last_message() { return tl_message; }
int last_code() { return tl_code; }

static std::atomic<bool> g_initialized{ false };
static std::mutex g_mu; /* devices, allocations, modules */
static std::vector<std::unique_ptr<Context>> g_contexts;
static thread_local Context *tl_current = nullptr;

bool initialized() { return g_initialized.load(); }
Context *current() { return tl_current; }

CUresult require_context(Context **out) {
    if (!initialized()) return fail(CUDA_ERROR_NOT_INITIALIZED, "cuInit has not been called");
    Context *c = tl_current;
    if (c == nullptr) return fail(CUDA_ERROR_INVALID_CONTEXT, "no CUDA context is current on this thread");
    if (c->refs <= 0) return fail(CUDA_ERROR_CONTEXT_IS_DESTROYED, "the current context was released");
    *out = c;
    return CUDA_SUCCESS;
}

bool valid_stream(Context *ctx, Stream *s) {
    if (s == nullptr) return true;
    std::lock_guard<std::mutex> lk(ctx->mu);
    return std::find(ctx->streams.begin(), ctx->streams.end(), s) != ctx->streams.end();
}

/* ------------------------------------------------------------------------------------------ streams */

CUresult flush_until(Stream *s, uint64_t target) {
    std::unique_lock<std::mutex> lk(s->mu);
    while (s->executed < target) {
        if (s->busy) {
            s->cv.wait(lk);
            continue;
        }
        std::function<CUresult()> op = std::move(s->queue.front());
        s->queue.pop_front();
        s->busy = true;
        lk.unlock();
        if (s->ctx->sticky.load() == 0) {
            CUresult r = op();
            if (r != CUDA_SUCCESS) {
                int expected = 0;
                std::string why = last_message();
                if (s->ctx->sticky.compare_exchange_strong(expected, r)) s->ctx->sticky_message = why;
            }
        }
        lk.lock();
        s->executed++;
        s->busy = false;
        s->cv.notify_all();
    }
    return s->ctx->sticky.load();
}

CUresult flush(Stream *s) {
    uint64_t target;
    {
        std::lock_guard<std::mutex> lk(s->mu);
        target = s->enqueued;
    }
    return flush_until(s, target);
}

CUresult flush_context(Context *ctx) {
    std::vector<Stream *> streams;
    {
        std::lock_guard<std::mutex> lk(ctx->mu);
        streams = ctx->streams;
    }
    for (Stream *s : streams) flush(s);
    return ctx->sticky.load();
}

CUresult sticky_error(Context *ctx) {
    int r = ctx->sticky.load();
    if (r == 0) return CUDA_SUCCESS;
    return fail(r, "a kernel failed earlier on this context, which is now unusable (sticky error): " + ctx->sticky_message);
}

CUresult enqueue(Context *ctx, Stream *s, std::function<CUresult()> op) {
    if (s == nullptr) {
        flush_context(ctx);
        if (ctx->sticky.load() != 0) return ctx->sticky.load();
        CUresult r = op();
        if (r != CUDA_SUCCESS) {
            int expected = 0;
            std::string why = last_message();
            if (ctx->sticky.compare_exchange_strong(expected, r)) ctx->sticky_message = why;
        }
        return CUDA_SUCCESS;
    }
    std::lock_guard<std::mutex> lk(s->mu);
    s->queue.push_back(std::move(op));
    s->enqueued++;
    s->query_reported_pending = false;
    return CUDA_SUCCESS;
}

uint64_t queued_ops(Stream *s) {
    if (s == nullptr) return 0;
    std::lock_guard<std::mutex> lk(s->mu);
    return s->enqueued;
}

/* A destroyed stream is parked, never freed: as on a GPU, work queued elsewhere may still refer to it (another
 * stream's cuStreamWaitEvent on an event recorded here, an event last recorded here), and must then find it finished,
 * not freed memory or a new stream at the same address. Its pending ops are dropped (callers flush first where the
 * work must run). A stream is a few hundred bytes and programs create few, so parking costs nothing that matters. */
static std::mutex g_retired_mu;
static std::vector<std::unique_ptr<Stream>> g_retired;

static void retire_stream(Stream *s) {
    {
        std::unique_lock<std::mutex> lk(s->mu);
        while (s->busy) s->cv.wait(lk);
        s->queue.clear();
        s->executed = s->enqueued;
        s->cv.notify_all();
    }
    std::lock_guard<std::mutex> lk(g_retired_mu);
    g_retired.emplace_back(s);
}

/* ------------------------------------------------------------------------------------------ memory registry */

struct Allocation {
    size_t size;
    int device;
    MemKind kind;
    size_t mapped = 0;    /* device memory: bytes of its own mapping (whole pages) */
    bool imported = false; /* opened from another process's CUDA IPC handle: freed by cuIpcCloseMemHandle */
    std::string shm;       /* exported through CUDA IPC: the /dev/shm file now backing it */
};
static std::map<uintptr_t, Allocation> g_allocations;
static std::vector<size_t> g_used;

static size_t page_round(size_t n) {
    size_t page = (size_t) sysconf(_SC_PAGESIZE);
    return (n + page - 1) / page * page;
}

/* Device memory is an anonymous private mapping of whole pages, so CUDA IPC can later back it by a shared file at
 * the same address (sim_driver's cuIpcGetMemHandle). */
static void *map_device_memory(size_t bytes) {
    void *p = mmap(nullptr, page_round(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
}

/* Releases a device allocation's memory (caller holds g_mu). */
static void unmap_device_memory(uintptr_t base, const Allocation &a) {
    munmap((void *) base, a.mapped);
    if (!a.shm.empty() && !a.imported) unlink(a.shm.c_str());
}

static const Allocation *lookup_locked(const void *p, uintptr_t *base_out) {
    uintptr_t a = (uintptr_t) p;
    auto it = g_allocations.upper_bound(a);
    if (it == g_allocations.begin()) return nullptr;
    --it;
    if (a >= it->first && a < it->first + it->second.size) {
        if (base_out) *base_out = it->first;
        return &it->second;
    }
    return nullptr;
}

bool find_allocation(const void *p, size_t bytes, MemKind kind, int *device_out) {
    std::lock_guard<std::mutex> lk(g_mu);
    uintptr_t base = 0;
    const Allocation *a = lookup_locked(p, &base);
    if (a == nullptr || a->kind != kind) return false;
    if ((uintptr_t) p + bytes > base + a->size) return false;
    if (device_out) *device_out = a->device;
    return true;
}

bool is_device_memory(const void *p) {
    std::lock_guard<std::mutex> lk(g_mu);
    const Allocation *a = lookup_locked(p, nullptr);
    return a != nullptr && a->kind == MemKind::device;
}

bool is_pinned_memory(const void *p) {
    std::lock_guard<std::mutex> lk(g_mu);
    const Allocation *a = lookup_locked(p, nullptr);
    return a != nullptr && a->kind == MemKind::pinned;
}

static void free_device_allocations(int device) {
    std::lock_guard<std::mutex> lk(g_mu);
    for (auto it = g_allocations.begin(); it != g_allocations.end();) {
        if (it->second.kind == MemKind::device && it->second.device == device) {
            unmap_device_memory(it->first, it->second);
            it = g_allocations.erase(it);
        } else {
            ++it;
        }
    }
    if ((size_t) device < g_used.size()) g_used[device] = 0;
}

static std::string bytes_text(size_t b) { return std::to_string(b) + " bytes"; }

static CUresult check_device_range(const char *what, CUdeviceptr p, size_t bytes) {
    if (bytes == 0) return CUDA_SUCCESS;
    if (!find_allocation((const void *) (uintptr_t) p, bytes, MemKind::device, nullptr)) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s range [0x%llx, +%zu) is not inside one device allocation", what,
                 (unsigned long long) p, bytes);
        return fail(CUDA_ERROR_INVALID_VALUE, buf);
    }
    return CUDA_SUCCESS;
}

static CUresult check_host_pointer(const char *what, const void *p) {
    if (p == nullptr) return fail(CUDA_ERROR_INVALID_VALUE, std::string(what) + " is NULL");
    if (is_device_memory(p)) return fail(CUDA_ERROR_INVALID_VALUE, std::string(what) + " is device memory, not host memory");
    return CUDA_SUCCESS;
}

} // namespace sim

using namespace sim;

/* ------------------------------------------------------------------------------------------ errors */

struct ErrorName {
    int code;
    const char *name;
    const char *text;
};
static const ErrorName kErrors[] = {
    { 0, "CUDA_SUCCESS", "no error" },
    { 1, "CUDA_ERROR_INVALID_VALUE", "invalid argument" },
    { 2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory" },
    { 3, "CUDA_ERROR_NOT_INITIALIZED", "initialization error" },
    { 4, "CUDA_ERROR_DEINITIALIZED", "driver shutting down" },
    { 100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected" },
    { 101, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal" },
    { 200, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid" },
    { 201, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context" },
    { 209, "CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device" },
    { 214, "CUDA_ERROR_ECC_UNCORRECTABLE", "uncorrectable ECC error encountered" },
    { 301, "CUDA_ERROR_FILE_NOT_FOUND", "file not found" },
    { 303, "CUDA_ERROR_SHARED_OBJECT_INIT_FAILED", "shared object initialization failed" },
    { 400, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle" },
    { 500, "CUDA_ERROR_NOT_FOUND", "named symbol not found" },
    { 600, "CUDA_ERROR_NOT_READY", "device not ready" },
    { 700, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered" },
    { 701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch" },
    { 702, "CUDA_ERROR_LAUNCH_TIMEOUT", "the launch timed out and was terminated" },
    { 709, "CUDA_ERROR_CONTEXT_IS_DESTROYED", "context is destroyed" },
    { 710, "CUDA_ERROR_ASSERT", "device-side assert triggered" },
    { 715, "CUDA_ERROR_ILLEGAL_INSTRUCTION", "an illegal instruction was encountered" },
    { 719, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure" },
    { 801, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported" },
    { 999, "CUDA_ERROR_UNKNOWN", "unknown error" },
};

static const ErrorName *find_error(int code) {
    for (const ErrorName &e : kErrors)
        if (e.code == code) return &e;
    return nullptr;
}

EXPORT CUresult cuGetErrorName(CUresult code, const char **out) {
    const ErrorName *e = find_error(code);
    if (e == nullptr || out == nullptr) return CUDA_ERROR_INVALID_VALUE;
    *out = e->name;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuGetErrorString(CUresult code, const char **out) {
    static thread_local std::string text;
    const ErrorName *e = find_error(code);
    if (e == nullptr || out == nullptr) return CUDA_ERROR_INVALID_VALUE;
    text = e->text;
    if (last_code() == code && !last_message().empty()) text += " [cudasim: " + last_message() + "]";
    *out = text.c_str();
    return CUDA_SUCCESS;
}

/* ------------------------------------------------------------------------------------------ simulator hooks */

EXPORT const char *cudasimLastError() { return last_message().c_str(); }

/*
 * Fault injection for tests: one armed rule at a time, "KERNEL:N:CODE" (or "" to disarm). The N-th launch (1-based,
 * counted in this process over every context) of the kernel named KERNEL fails with CODE. A code the driver treats as
 * sticky (214 ECC, 700..719, 999) fails the launch as a device would: asynchronously, when its stream runs it, making
 * the context's sticky error. Any other code (e.g. 2, CUDA_ERROR_OUT_OF_MEMORY) is returned by cuLaunchKernel itself
 * and leaves the context usable. The rule fires once.
 */
struct InjectedLaunchError {
    std::string kernel;
    long long nth = 0;
    int code = 0;
    long long seen = 0;
    bool fired = false;
};

static std::mutex g_inject_mu;
static InjectedLaunchError g_inject;
/* "inject_launch_error_marker=PATH": the rule fires only in the one process that creates PATH (O_EXCL), so a test can
 * give the same options to every executor of a cluster and still fail exactly one of them (and not its replacement) */
static std::string g_inject_marker;

static bool is_sticky_code(int code) { return code == 214 || (code >= 700 && code <= 719) || code == 999; }

static CUresult set_injected_launch_error(const char *value) {
    std::string v(value);
    std::lock_guard<std::mutex> lk(g_inject_mu);
    if (v.empty()) {
        g_inject = InjectedLaunchError{};
        return CUDA_SUCCESS;
    }
    size_t a = v.find(':'), b = a == std::string::npos ? a : v.find(':', a + 1);
    auto number = [](const std::string &t) -> long long {
        if (t.empty() || t.size() > 12 || t.find_first_not_of("0123456789") != std::string::npos) return -1;
        return std::stoll(t);
    };
    long long nth = b == std::string::npos ? -1 : number(v.substr(a + 1, b - a - 1));
    long long code = b == std::string::npos ? -1 : number(v.substr(b + 1));
    if (a == 0 || b == std::string::npos || nth < 1 || code <= 0 || find_error((int) code) == nullptr) {
        return fail(CUDA_ERROR_INVALID_VALUE, "option inject_launch_error=" + v + " must look like KERNEL:N:CODE (the"
                    " N-th launch of KERNEL, N >= 1, fails with the CUresult CODE, e.g. sample_rows:3:700)");
    }
    g_inject = InjectedLaunchError{ v.substr(0, a), nth, (int) code, 0, false };
    return CUDA_SUCCESS;
}

/* @return the injected error for this launch of `kernel`, or CUDA_SUCCESS */
static CUresult injected_launch_error(const char *kernel) {
    std::lock_guard<std::mutex> lk(g_inject_mu);
    if (g_inject.code == 0 || g_inject.fired || g_inject.kernel != kernel) return CUDA_SUCCESS;
    if (++g_inject.seen < g_inject.nth) return CUDA_SUCCESS;
    g_inject.fired = true;
    if (!g_inject_marker.empty()) {
        int fd = open(g_inject_marker.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
        if (fd < 0) return CUDA_SUCCESS; /* another process fired it already */
        close(fd);
    }
    fprintf(stderr, "cudasim: injecting error %d into launch %lld of '%s' (inject_launch_error)\n", g_inject.code,
            g_inject.nth, kernel);
    return (CUresult) g_inject.code;
}

EXPORT CUresult cudasimSetOption(const char *key, const char *value) {
    if (key == nullptr || value == nullptr) return fail(CUDA_ERROR_INVALID_VALUE, "option key and value must be set");
    std::string k(key);
    char *end = nullptr;
    long long v = strtoll(value, &end, 10);
    bool numeric = end != value && *end == 0;
    Config &c = config();
    std::lock_guard<std::mutex> lk(g_mu);
    bool any_retained = false;
    for (auto &ctx : g_contexts) any_retained |= ctx->refs > 0;
    if (k == "compute_capability") {
        int major = 0, minor = 0;
        if (sscanf(value, "%d.%d", &major, &minor) != 2 || major < 5) {
            return fail(CUDA_ERROR_INVALID_VALUE, "compute_capability must look like 9.0");
        }
        c.cc_major = major;
        c.cc_minor = minor;
        return CUDA_SUCCESS;
    }
    if (k == "inject_launch_error_marker") {
        std::lock_guard<std::mutex> lk2(g_inject_mu);
        g_inject_marker = value;
        return CUDA_SUCCESS;
    }
    if (k == "inject_launch_error") {
        /* fault injection (tests only): "KERNEL:N:CODE" makes the N-th launch of KERNEL in this process fail with CODE */
        return set_injected_launch_error(value);
    }
    if (!numeric || v < 0) return fail(CUDA_ERROR_INVALID_VALUE, "option " + k + "=" + value + " must be a number >= 0");
    if (k == "barrier_timeout_ms") {
        c.barrier_timeout_ms = (int) std::max(1LL, v);
        return CUDA_SUCCESS;
    }
    if (any_retained) {
        return fail(CUDA_ERROR_INVALID_VALUE, "option " + k + " can only change while no context is retained");
    }
    if (k == "devices" && v >= 1 && v <= 16) {
        c.devices = (int) v;
    } else if (k == "memory_bytes" && v >= 1024) {
        c.memory_bytes = (size_t) v;
    } else if (k == "nccl_slot_bytes" && v >= 4096) {
        c.nccl_slot_bytes = (size_t) v;
    } else if (k == "sms" && v >= 1) {
        c.sms = (int) v;
    } else {
        return fail(CUDA_ERROR_INVALID_VALUE, "unknown or out-of-range simulator option " + k + "=" + value
                    + " (known: devices 1..16, memory_bytes, sms, compute_capability, barrier_timeout_ms,"
                    " nccl_slot_bytes, inject_launch_error, inject_launch_error_marker)");
    }
    return CUDA_SUCCESS;
}

static std::vector<std::unique_ptr<KernelLib>> g_kernel_libs;

uint64_t sim::fnv1a(const std::string &s) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char ch : s) {
        h ^= ch;
        h *= 1099511628211ULL;
    }
    return h;
}

const KernelLib *sim::find_kernel_lib(uint64_t hash) {
    std::lock_guard<std::mutex> lk(g_mu);
    for (auto &l : g_kernel_libs)
        if (l->hash == hash) return l.get();
    return nullptr;
}

std::string sim::kernel_lib_list() {
    std::lock_guard<std::mutex> lk(g_mu);
    std::string out;
    for (auto &l : g_kernel_libs) out += (out.empty() ? "" : ", ") + l->path;
    return out.empty() ? "none" : out;
}

EXPORT CUresult cudasimLoadKernels(const char *path) {
    if (path == nullptr) return fail(CUDA_ERROR_INVALID_VALUE, "kernel library path is NULL");
    {
        std::lock_guard<std::mutex> lk(g_mu);
        for (auto &l : g_kernel_libs)
            if (l->path == path) return CUDA_SUCCESS;
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
        const char *e = dlerror();
        return fail(CUDA_ERROR_FILE_NOT_FOUND, std::string("cannot load kernel library ") + path + ": " + (e ? e : "?"));
    }
    auto table = (cudasim_kernel_table_t) dlsym(h, "cudasim_kernel_table");
    if (table == nullptr) {
        dlclose(h);
        return fail(CUDA_ERROR_SHARED_OBJECT_INIT_FAILED,
                    std::string(path) + " is not a cudasim kernel library (no cudasim_kernel_table)");
    }
    auto lib = std::make_unique<KernelLib>();
    const char *src = nullptr;
    size_t len = 0;
    int abi = 0;
    lib->kernels = table(&lib->count, &src, &len, &abi);
    if (abi != CUDASIM_ABI_VERSION) {
        return fail(CUDA_ERROR_SHARED_OBJECT_INIT_FAILED, std::string(path) + " was built for another cudasim ABI; rebuild it");
    }
    lib->path = path;
    lib->handle = h;
    lib->source.assign(src, len);
    lib->hash = fnv1a(lib->source);
    std::lock_guard<std::mutex> lk(g_mu);
    g_kernel_libs.push_back(std::move(lib));
    return CUDA_SUCCESS;
}

/* ------------------------------------------------------------------------------------------ init, devices */

EXPORT CUresult cuInit(unsigned int flags) {
    clear_error();
    if (flags != 0) return fail(CUDA_ERROR_INVALID_VALUE, "cuInit flags must be 0");
    std::lock_guard<std::mutex> lk(g_mu);
    if (!g_initialized.load()) {
        int n = config().devices;
        for (int i = 0; i < 16; i++) {
            auto c = std::make_unique<Context>();
            c->device = i;
            g_contexts.push_back(std::move(c));
        }
        g_used.assign(16, 0);
        (void) n;
        g_initialized = true;
    }
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDriverGetVersion(int *v) {
    if (v == nullptr) return fail(CUDA_ERROR_INVALID_VALUE, "null output");
    *v = 13000;
    return CUDA_SUCCESS;
}

static CUresult check_device(CUdevice d) {
    if (!initialized()) return fail(CUDA_ERROR_NOT_INITIALIZED, "cuInit has not been called");
    if (d < 0 || d >= config().devices) {
        return fail(CUDA_ERROR_INVALID_DEVICE, "device " + std::to_string(d) + " does not exist (the simulator has "
                    + std::to_string(config().devices) + ")");
    }
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetCount(int *n) {
    if (!initialized()) return fail(CUDA_ERROR_NOT_INITIALIZED, "cuInit has not been called");
    *n = config().devices;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGet(CUdevice *d, int ordinal) {
    CUresult r = check_device(ordinal);
    if (r) return r;
    *d = ordinal;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetName(char *name, int len, CUdevice d) {
    CUresult r = check_device(d);
    if (r) return r;
    snprintf(name, (size_t) len, "Stoker CUDA simulator %d", d);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetAttribute(int *v, int attr, CUdevice d) {
    CUresult r = check_device(d);
    if (r) return r;
    const Config &c = config();
    switch (attr) {
    case 1: *v = 1024; break;                 /* MAX_THREADS_PER_BLOCK */
    case 2: case 3: *v = 1024; break;         /* MAX_BLOCK_DIM_X/Y */
    case 4: *v = 64; break;                   /* MAX_BLOCK_DIM_Z */
    case 5: *v = 2147483647; break;           /* MAX_GRID_DIM_X */
    case 6: case 7: *v = 65535; break;        /* MAX_GRID_DIM_Y/Z */
    case 8: *v = c.shared_per_block; break;   /* MAX_SHARED_MEMORY_PER_BLOCK */
    case 9: *v = 65536; break;                /* TOTAL_CONSTANT_MEMORY */
    case 10: *v = 32; break;                  /* WARP_SIZE */
    case 12: *v = 65536; break;               /* MAX_REGISTERS_PER_BLOCK */
    case 13: *v = 1980000; break;             /* CLOCK_RATE kHz */
    case 16: *v = c.sms; break;               /* MULTIPROCESSOR_COUNT */
    case 33: *v = d; break;                   /* PCI_BUS_ID */
    case 36: *v = 3201000; break;             /* MEMORY_CLOCK_RATE kHz */
    case 37: *v = 6144; break;                /* GLOBAL_MEMORY_BUS_WIDTH */
    case 39: *v = 2048; break;                /* MAX_THREADS_PER_MULTIPROCESSOR */
    case 75: *v = c.cc_major; break;          /* COMPUTE_CAPABILITY_MAJOR */
    case 76: *v = c.cc_minor; break;          /* COMPUTE_CAPABILITY_MINOR */
    case 81: *v = 233472; break;              /* MAX_SHARED_MEMORY_PER_MULTIPROCESSOR */
    case 97: *v = c.shared_optin; break;      /* MAX_SHARED_MEMORY_PER_BLOCK_OPTIN */
    default:
        if (attr <= 0 || attr > 200) return fail(CUDA_ERROR_INVALID_VALUE, "unknown device attribute " + std::to_string(attr));
        *v = 0;
    }
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice d) {
    CUresult r = check_device(d);
    if (r) return r;
    *bytes = config().memory_bytes;
    return CUDA_SUCCESS;
}

/* ------------------------------------------------------------------------------------------ contexts */

static void destroy_context_state(Context *c) {
    std::vector<Stream *> streams;
    {
        std::lock_guard<std::mutex> lk(c->mu);
        streams.swap(c->streams);
    }
    for (Stream *s : streams) retire_stream(s);
    free_device_allocations(c->device);
    c->sticky = 0;
}

EXPORT CUresult cuDevicePrimaryCtxRetain(void **ctx, CUdevice d) {
    CUresult r = check_device(d);
    if (r) return r;
    std::lock_guard<std::mutex> lk(g_mu);
    Context *c = g_contexts[d].get();
    c->refs++;
    *ctx = c;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d) {
    CUresult r = check_device(d);
    if (r) return r;
    Context *c;
    {
        std::lock_guard<std::mutex> lk(g_mu);
        c = g_contexts[d].get();
        if (c->refs <= 0) return fail(CUDA_ERROR_INVALID_CONTEXT, "primary context of device " + std::to_string(d) + " is not retained");
        if (--c->refs > 0) return CUDA_SUCCESS;
    }
    flush_context(c);
    destroy_context_state(c);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxReset_v2(CUdevice d) {
    CUresult r = check_device(d);
    if (r) return r;
    Context *c = g_contexts[d].get();
    destroy_context_state(c);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSetCurrent(void *ctx) {
    if (!initialized()) return fail(CUDA_ERROR_NOT_INITIALIZED, "cuInit has not been called");
    if (ctx != nullptr) {
        bool known = false;
        std::lock_guard<std::mutex> lk(g_mu);
        for (auto &c : g_contexts) known |= c.get() == ctx;
        if (!known) return fail(CUDA_ERROR_INVALID_CONTEXT, "not a context of this driver");
    }
    tl_current = (Context *) ctx;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetCurrent(void **ctx) {
    if (!initialized()) return fail(CUDA_ERROR_NOT_INITIALIZED, "cuInit has not been called");
    *ctx = tl_current;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSynchronize() {
    Context *c;
    CUresult r = require_context(&c);
    if (r) return r;
    r = flush_context(c);
    return r ? sticky_error(c) : CUDA_SUCCESS;
}

/* ------------------------------------------------------------------------------------------ memory */

EXPORT CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total) {
    Context *c;
    CUresult r = require_context(&c);
    if (r) return r;
    std::lock_guard<std::mutex> lk(g_mu);
    *total = config().memory_bytes;
    *free_bytes = config().memory_bytes - g_used[c->device];
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
    Context *c;
    CUresult r = require_context(&c);
    if (r) return r;
    if (c->sticky.load()) return sticky_error(c);
    if (bytes == 0) return fail(CUDA_ERROR_INVALID_VALUE, "cuMemAlloc of 0 bytes");
    size_t rounded = (bytes + 255) & ~(size_t) 255;
    {
        std::lock_guard<std::mutex> lk(g_mu);
        size_t avail = config().memory_bytes - g_used[c->device];
        if (rounded > avail) {
            return fail(CUDA_ERROR_OUT_OF_MEMORY, "cannot allocate " + bytes_text(bytes) + " on device "
                        + std::to_string(c->device) + ": " + bytes_text(avail) + " free of " + bytes_text(config().memory_bytes));
        }
        g_used[c->device] += rounded;
    }
    void *mem = map_device_memory(rounded);
    if (mem == nullptr) {
        std::lock_guard<std::mutex> lk(g_mu);
        g_used[c->device] -= rounded;
        return fail(CUDA_ERROR_OUT_OF_MEMORY, "host memory backing the simulated device is exhausted");
    }
    std::memset(mem, 0xff, rounded); /* uninitialised device memory reads as NaN */
    std::lock_guard<std::mutex> lk(g_mu);
    Allocation a{ rounded, c->device, MemKind::device, 0, false, {} };
    a.mapped = page_round(rounded);
    g_allocations[(uintptr_t) mem] = a;
    *p = (CUdeviceptr) (uintptr_t) mem;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr p) {
    Context *c;
    CUresult r = require_context(&c);
    if (r) return r;
    if (p == 0) return CUDA_SUCCESS;
    flush_context(c); /* cuMemFree synchronises */
    std::lock_guard<std::mutex> lk(g_mu);
    auto it = g_allocations.find((uintptr_t) p);
    if (it == g_allocations.end() || it->second.kind != MemKind::device) {
        return fail(CUDA_ERROR_INVALID_VALUE, "cuMemFree of a pointer that is not the start of a device allocation");
    }
    if (it->second.imported) {
        return fail(CUDA_ERROR_INVALID_VALUE, "cuMemFree of memory opened from a CUDA IPC handle; use cuIpcCloseMemHandle");
    }
    g_used[it->second.device] -= it->second.size;
    unmap_device_memory(it->first, it->second);
    g_allocations.erase(it);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemHostAlloc(void **p, size_t bytes, unsigned flags) {
    Context *c;
    CUresult r = require_context(&c);
    if (r) return r;
    if (bytes == 0) return fail(CUDA_ERROR_INVALID_VALUE, "cuMemHostAlloc of 0 bytes");
    if (flags & ~7u) return fail(CUDA_ERROR_INVALID_VALUE, "unknown cuMemHostAlloc flags");
    size_t rounded = (bytes + 4095) & ~(size_t) 4095;
    void *mem = std::aligned_alloc(4096, rounded);
    if (mem == nullptr) return fail(CUDA_ERROR_OUT_OF_MEMORY, "cannot pin " + bytes_text(bytes));
    std::lock_guard<std::mutex> lk(g_mu);
    g_allocations[(uintptr_t) mem] = Allocation{ rounded, c->device, MemKind::pinned, 0, false, {} };
    *p = mem;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemFreeHost(void *p) {
    if (!initialized()) return fail(CUDA_ERROR_NOT_INITIALIZED, "cuInit has not been called");
    std::lock_guard<std::mutex> lk(g_mu);
    auto it = g_allocations.find((uintptr_t) p);
    if (it == g_allocations.end() || it->second.kind != MemKind::pinned) {
        return fail(CUDA_ERROR_INVALID_VALUE, "cuMemFreeHost of a pointer that cuMemHostAlloc did not return");
    }
    std::free(p);
    g_allocations.erase(it);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n) {
    Context *c;
    CUresult r = require_context(&c);
    if (r || (r = check_device_range("destination", dst, n)) || (r = check_host_pointer("source", src))) return r;
    if ((r = flush_context(c))) return r;
    std::memcpy((void *) (uintptr_t) dst, src, n);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n) {
    Context *c;
    CUresult r = require_context(&c);
    if (r || (r = check_device_range("source", src, n)) || (r = check_host_pointer("destination", dst))) return r;
    if ((r = flush_context(c))) return r;
    std::memcpy(dst, (const void *) (uintptr_t) src, n);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n) {
    Context *c;
    CUresult r = require_context(&c);
    if (r || (r = check_device_range("destination", dst, n)) || (r = check_device_range("source", src, n))) return r;
    if ((r = flush_context(c))) return r;
    std::memmove((void *) (uintptr_t) dst, (const void *) (uintptr_t) src, n);
    return CUDA_SUCCESS;
}

static CUresult stream_of(Context **c, void *hstream, Stream **s) {
    CUresult r = require_context(c);
    if (r) return r;
    *s = (Stream *) hstream;
    if (!valid_stream(*c, *s)) return fail(CUDA_ERROR_INVALID_HANDLE, "the stream does not belong to the current context");
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, void *hstream) {
    Context *c;
    Stream *s;
    CUresult r = stream_of(&c, hstream, &s);
    if (r || (r = check_device_range("destination", dst, n)) || (r = check_host_pointer("source", src))) return r;
    if (find_allocation(src, n, MemKind::pinned, nullptr)) {
        /* pinned: the copy reads the source when it runs, as a DMA engine would */
        return enqueue(c, s, [=]() {
            std::memcpy((void *) (uintptr_t) dst, src, n);
            return CUDA_SUCCESS;
        });
    }
    /* pageable: the driver stages the data before returning */
    auto staged = std::make_shared<std::vector<unsigned char>>((const unsigned char *) src, (const unsigned char *) src + n);
    return enqueue(c, s, [=]() {
        std::memcpy((void *) (uintptr_t) dst, staged->data(), n);
        return CUDA_SUCCESS;
    });
}

EXPORT CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, void *hstream) {
    Context *c;
    Stream *s;
    CUresult r = stream_of(&c, hstream, &s);
    if (r || (r = check_device_range("source", src, n)) || (r = check_host_pointer("destination", dst))) return r;
    auto op = [=]() {
        std::memcpy(dst, (const void *) (uintptr_t) src, n);
        return CUDA_SUCCESS;
    };
    if (find_allocation(dst, n, MemKind::pinned, nullptr)) return enqueue(c, s, op);
    /* pageable destination: the call returns once the copy is done */
    if ((r = enqueue(c, s, op))) return r;
    return s ? flush(s) : CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void *hstream) {
    Context *c;
    Stream *s;
    CUresult r = stream_of(&c, hstream, &s);
    if (r || (r = check_device_range("destination", dst, n)) || (r = check_device_range("source", src, n))) return r;
    return enqueue(c, s, [=]() {
        std::memmove((void *) (uintptr_t) dst, (const void *) (uintptr_t) src, n);
        return CUDA_SUCCESS;
    });
}

EXPORT CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char v, size_t n, void *hstream) {
    Context *c;
    Stream *s;
    CUresult r = stream_of(&c, hstream, &s);
    if (r || (r = check_device_range("destination", dst, n))) return r;
    return enqueue(c, s, [=]() {
        std::memset((void *) (uintptr_t) dst, v, n);
        return CUDA_SUCCESS;
    });
}

EXPORT CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned v, size_t n, void *hstream) {
    Context *c;
    Stream *s;
    CUresult r = stream_of(&c, hstream, &s);
    if (r || (r = check_device_range("destination", dst, n * 4))) return r;
    if (dst % 4) return fail(CUDA_ERROR_INVALID_VALUE, "cuMemsetD32 destination is not 4-byte aligned");
    return enqueue(c, s, [=]() {
        unsigned *p = (unsigned *) (uintptr_t) dst;
        for (size_t i = 0; i < n; i++) p[i] = v;
        return CUDA_SUCCESS;
    });
}

/* ------------------------------------------------------------------------------------------ streams, events */

EXPORT CUresult cuStreamCreate(void **out, unsigned flags) {
    Context *c;
    CUresult r = require_context(&c);
    if (r) return r;
    if (flags > 1) return fail(CUDA_ERROR_INVALID_VALUE, "stream flags must be 0 or CU_STREAM_NON_BLOCKING");
    Stream *s = new Stream();
    s->ctx = c;
    s->flags = flags;
    std::lock_guard<std::mutex> lk(c->mu);
    c->streams.push_back(s);
    *out = s;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamDestroy_v2(void *hstream) {
    Context *c;
    Stream *s;
    CUresult r = stream_of(&c, hstream, &s);
    if (r) return r;
    if (s == nullptr) return fail(CUDA_ERROR_INVALID_HANDLE, "the null stream cannot be destroyed");
    flush(s); /* pending work completes, as on a device */
    {
        std::lock_guard<std::mutex> lk(c->mu);
        c->streams.erase(std::find(c->streams.begin(), c->streams.end(), s));
    }
    retire_stream(s);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamSynchronize(void *hstream) {
    Context *c;
    Stream *s;
    CUresult r = stream_of(&c, hstream, &s);
    if (r) return r;
    r = s ? flush(s) : flush_context(c);
    return r ? sticky_error(c) : CUDA_SUCCESS;
}

EXPORT CUresult cuStreamQuery(void *hstream) {
    Context *c;
    Stream *s;
    CUresult r = stream_of(&c, hstream, &s);
    if (r) return r;
    if (s == nullptr) return flush_context(c);
    bool pending;
    {
        std::lock_guard<std::mutex> lk(s->mu);
        pending = s->executed < s->enqueued && !s->query_reported_pending;
        if (pending) s->query_reported_pending = true;
    }
    /* report pending work once, then make progress, so pollers see both answers */
    r = flush(s);
    if (r) return r;
    return pending ? CUDA_ERROR_NOT_READY : CUDA_SUCCESS;
}

struct Event {
    Context *ctx;
    unsigned flags;
    Stream *stream = nullptr;
    uint64_t seq = 0;
    uint64_t generation = 0;
    bool recorded = false;
    bool done = false;
    bool query_reported_pending = false;
    double ms = 0;
};
static std::set<Event *> g_events;

static double now_ms() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

static CUresult event_of(void *h, Event **e) {
    if (!initialized()) return fail(CUDA_ERROR_NOT_INITIALIZED, "cuInit has not been called");
    std::lock_guard<std::mutex> lk(g_mu);
    if (g_events.count((Event *) h) == 0) return fail(CUDA_ERROR_INVALID_HANDLE, "not a live event");
    *e = (Event *) h;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuEventCreate(void **out, unsigned flags) {
    Context *c;
    CUresult r = require_context(&c);
    if (r) return r;
    if (flags & ~7u) return fail(CUDA_ERROR_INVALID_VALUE, "unknown event flags");
    Event *e = new Event();
    e->ctx = c;
    e->flags = flags;
    std::lock_guard<std::mutex> lk(g_mu);
    g_events.insert(e);
    *out = e;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuEventDestroy_v2(void *h) {
    Event *e;
    CUresult r = event_of(h, &e);
    if (r) return r;
    if (e->stream) flush_until(e->stream, e->seq);
    std::lock_guard<std::mutex> lk(g_mu);
    g_events.erase(e);
    delete e;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuEventRecord(void *h, void *hstream) {
    Event *e;
    CUresult r = event_of(h, &e);
    if (r) return r;
    Context *c;
    Stream *s;
    if ((r = stream_of(&c, hstream, &s))) return r;
    if (e->ctx != c) return fail(CUDA_ERROR_INVALID_HANDLE, "event and stream belong to different contexts");
    uint64_t gen = ++e->generation;
    e->recorded = true;
    e->done = false;
    e->query_reported_pending = false;
    if (s == nullptr) {
        flush_context(c);
        e->stream = nullptr;
        e->ms = now_ms();
        e->done = true;
        return CUDA_SUCCESS;
    }
    r = enqueue(c, s, [e, gen]() {
        if (e->generation == gen) {
            e->ms = now_ms();
            e->done = true;
        }
        return CUDA_SUCCESS;
    });
    std::lock_guard<std::mutex> lk(s->mu);
    e->stream = s;
    e->seq = s->enqueued;
    return r;
}

EXPORT CUresult cuEventSynchronize(void *h) {
    Event *e;
    CUresult r = event_of(h, &e);
    if (r) return r;
    if (!e->recorded || e->stream == nullptr) return CUDA_SUCCESS;
    r = flush_until(e->stream, e->seq);
    return r ? sticky_error(e->ctx) : CUDA_SUCCESS;
}

EXPORT CUresult cuEventQuery(void *h) {
    Event *e;
    CUresult r = event_of(h, &e);
    if (r) return r;
    if (!e->recorded || e->stream == nullptr || e->done) return CUDA_SUCCESS;
    bool report = !e->query_reported_pending;
    e->query_reported_pending = true;
    if ((r = flush_until(e->stream, e->seq))) return r;
    return report ? CUDA_ERROR_NOT_READY : CUDA_SUCCESS;
}

EXPORT CUresult cuEventElapsedTime(float *ms, void *start, void *end) {
    Event *a, *b;
    CUresult r = event_of(start, &a);
    if (r || (r = event_of(end, &b))) return r;
    if ((a->flags & 2) || (b->flags & 2)) return fail(CUDA_ERROR_INVALID_HANDLE, "an event was created with timing disabled");
    if (!a->recorded || !b->recorded) return fail(CUDA_ERROR_INVALID_HANDLE, "an event was never recorded");
    if (!a->done || !b->done) return fail(CUDA_ERROR_NOT_READY, "an event has not completed; synchronize first");
    *ms = (float) (b->ms - a->ms);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamWaitEvent(void *hstream, void *h, unsigned flags) {
    Event *e;
    CUresult r = event_of(h, &e);
    if (r) return r;
    Context *c;
    Stream *s;
    if ((r = stream_of(&c, hstream, &s))) return r;
    if (flags != 0) return fail(CUDA_ERROR_INVALID_VALUE, "cuStreamWaitEvent flags must be 0");
    if (!e->recorded || e->stream == nullptr) return CUDA_SUCCESS;
    Stream *other = e->stream;
    uint64_t seq = e->seq;
    if (s == nullptr) {
        flush_until(other, seq);
        return CUDA_SUCCESS;
    }
    return enqueue(c, s, [other, seq]() {
        flush_until(other, seq);
        return CUDA_SUCCESS;
    });
}

/* ------------------------------------------------------------------------------------------ modules, launches */

struct Module;
struct Function {
    Module *module;
    const cudasim_kernel *kernel;
    std::vector<size_t> offsets;
    int max_dynamic_shared;
};
struct Module {
    Context *ctx;
    const KernelLib *lib;
    std::vector<Function *> functions;
};
static std::set<Module *> g_modules;
static std::set<Function *> g_functions;

static const char kImageMagic[] = "CUDASIM-IMAGE\n";

EXPORT CUresult cuModuleLoadData(void **out, const void *image) {
    Context *c;
    CUresult r = require_context(&c);
    if (r) return r;
    const char *text = (const char *) image;
    if (text == nullptr || std::strncmp(text, kImageMagic, sizeof kImageMagic - 1) != 0) {
        return fail(CUDA_ERROR_INVALID_IMAGE, "not an image from the simulated NVRTC");
    }
    unsigned long long hash = 0;
    if (sscanf(text + sizeof kImageMagic - 1, "%llx", &hash) != 1) return fail(CUDA_ERROR_INVALID_IMAGE, "corrupt image header");
    const KernelLib *lib = find_kernel_lib(hash);
    if (lib == nullptr) return fail(CUDA_ERROR_INVALID_IMAGE, "no loaded kernel library matches this image");
    Module *m = new Module{ c, lib, {} };
    std::lock_guard<std::mutex> lk(g_mu);
    g_modules.insert(m);
    *out = m;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleUnload(void *h) {
    Context *c;
    CUresult r = require_context(&c);
    if (r) return r;
    std::lock_guard<std::mutex> lk(g_mu);
    Module *m = (Module *) h;
    if (g_modules.erase(m) == 0) return fail(CUDA_ERROR_INVALID_HANDLE, "not a loaded module");
    for (Function *f : m->functions) g_functions.erase(f); /* kept allocated: queued launches may still use them */
    return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleGetFunction(void **out, void *h, const char *name) {
    Context *c;
    CUresult r = require_context(&c);
    if (r) return r;
    std::lock_guard<std::mutex> lk(g_mu);
    Module *m = (Module *) h;
    if (g_modules.count(m) == 0) return fail(CUDA_ERROR_INVALID_HANDLE, "not a loaded module");
    for (Function *f : m->functions) {
        if (std::strcmp(f->kernel->name, name) == 0) {
            *out = f;
            return CUDA_SUCCESS;
        }
    }
    for (int i = 0; i < m->lib->count; i++) {
        const cudasim_kernel *k = &m->lib->kernels[i];
        if (std::strcmp(k->name, name) != 0) continue;
        Function *f = new Function{ m, k, {}, config().shared_per_block };
        size_t off = 0;
        for (int p = 0; p < k->nparams; p++) {
            off = (off + k->param_aligns[p] - 1) / k->param_aligns[p] * k->param_aligns[p];
            f->offsets.push_back(off);
            off += k->param_sizes[p];
        }
        m->functions.push_back(f);
        g_functions.insert(f);
        *out = f;
        return CUDA_SUCCESS;
    }
    return fail(CUDA_ERROR_NOT_FOUND, std::string("no kernel named '") + name + "' in " + m->lib->path);
}

static CUresult function_of(void *h, Function **f) {
    std::lock_guard<std::mutex> lk(g_mu);
    if (g_functions.count((Function *) h) == 0) return fail(CUDA_ERROR_INVALID_HANDLE, "not a function of a loaded module");
    *f = (Function *) h;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuFuncGetAttribute(int *v, int attr, void *h) {
    Function *f;
    CUresult r = function_of(h, &f);
    if (r) return r;
    switch (attr) {
    case 0: *v = 1024; break;                          /* MAX_THREADS_PER_BLOCK */
    case 1: *v = 0; break;                             /* SHARED_SIZE_BYTES (static; not measured) */
    case 2: case 3: *v = 0; break;                     /* CONST/LOCAL_SIZE_BYTES */
    case 4: *v = 32; break;                            /* NUM_REGS */
    case 5: case 6: *v = config().cc_major * 10 + config().cc_minor; break;
    case 8: *v = f->max_dynamic_shared; break;         /* MAX_DYNAMIC_SHARED_SIZE_BYTES */
    default: *v = 0;
    }
    return CUDA_SUCCESS;
}

EXPORT CUresult cuFuncSetAttribute(void *h, int attr, int value) {
    Function *f;
    CUresult r = function_of(h, &f);
    if (r) return r;
    if (attr == 8) {
        if (value < 0 || value > config().shared_optin) {
            return fail(CUDA_ERROR_INVALID_VALUE, "MAX_DYNAMIC_SHARED_SIZE_BYTES=" + std::to_string(value)
                        + " exceeds the device's opt-in limit of " + std::to_string(config().shared_optin));
        }
        f->max_dynamic_shared = value;
        return CUDA_SUCCESS;
    }
    if (attr == 9) return CUDA_SUCCESS; /* PREFERRED_SHARED_MEMORY_CARVEOUT: a hint */
    return fail(CUDA_ERROR_INVALID_VALUE, "function attribute " + std::to_string(attr) + " cannot be set");
}

EXPORT CUresult cuFuncGetParamInfo(void *h, size_t index, size_t *offset, size_t *size) {
    Function *f;
    CUresult r = function_of(h, &f);
    if (r) return r;
    if (index >= (size_t) f->kernel->nparams) return CUDA_ERROR_INVALID_VALUE;
    *offset = f->offsets[index];
    *size = f->kernel->param_sizes[index];
    return CUDA_SUCCESS;
}

EXPORT CUresult cuLaunchKernel(void *h, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                               unsigned shared, void *hstream, void **params, void **extra) {
    Context *c;
    Stream *s;
    CUresult r = stream_of(&c, hstream, &s);
    if (r) return r;
    if (c->sticky.load()) return sticky_error(c);
    Function *f;
    if ((r = function_of(h, &f))) return r;
    if (f->module->ctx != c) return fail(CUDA_ERROR_INVALID_HANDLE, "the function's module was loaded in another context");
    const cudasim_kernel *k = f->kernel;
    char why[256];
    if (gx == 0 || gy == 0 || gz == 0 || gx > 2147483647u || gy > 65535 || gz > 65535) {
        snprintf(why, sizeof why, "grid (%u,%u,%u) of '%s' is outside the device limits (1..2^31-1, 1..65535, 1..65535)",
                 gx, gy, gz, k->name);
        return fail(CUDA_ERROR_INVALID_VALUE, why);
    }
    unsigned long long threads = (unsigned long long) bx * by * bz;
    if (bx == 0 || by == 0 || bz == 0 || bx > 1024 || by > 1024 || bz > 64 || threads > 1024) {
        snprintf(why, sizeof why, "block (%u,%u,%u) of '%s' has %llu threads; the device allows 1024 per block "
                 "(x, y <= 1024, z <= 64)", bx, by, bz, k->name, threads);
        return fail(CUDA_ERROR_INVALID_VALUE, why);
    }
    if ((int) shared > f->max_dynamic_shared) {
        snprintf(why, sizeof why, "'%s' asks for %u bytes of dynamic shared memory; the limit is %d (raise it with "
                 "MAX_DYNAMIC_SHARED_SIZE_BYTES up to %d)", k->name, shared, f->max_dynamic_shared, config().shared_optin);
        return fail(CUDA_ERROR_INVALID_VALUE, why);
    }
    if (extra != nullptr) return fail(CUDA_ERROR_NOT_SUPPORTED, "the simulator takes kernelParams, not extra");
    if (k->nparams > 0 && params == nullptr) {
        return fail(CUDA_ERROR_INVALID_VALUE, std::string("'") + k->name + "' takes " + std::to_string(k->nparams)
                    + " parameters but kernelParams is NULL");
    }
    /* copy the argument values now, as the driver does */
    size_t total = k->nparams ? f->offsets.back() + k->param_sizes[k->nparams - 1] : 0;
    auto blob = std::make_shared<std::vector<unsigned char>>(total + 16);
    for (int p = 0; p < k->nparams; p++) std::memcpy(blob->data() + f->offsets[p], params[p], k->param_sizes[p]);
    Function *fn = f;
    cudasim_dim grid{ gx, gy, gz }, block{ bx, by, bz };
    CUresult injected = injected_launch_error(k->name);
    if (injected != CUDA_SUCCESS && !is_sticky_code(injected)) {
        return fail(injected, std::string("injected error on launching '") + k->name + "' (inject_launch_error)");
    }
    if (injected != CUDA_SUCCESS) {
        return enqueue(c, s, [fn, injected]() {
            fprintf(stderr, "cudasim: kernel '%s' failed: injected error %d\n", fn->kernel->name, (int) injected);
            return fail(injected, std::string("kernel '") + fn->kernel->name + "': injected error (inject_launch_error)");
        });
    }
    return enqueue(c, s, [fn, blob, grid, block, shared]() {
        std::vector<void *> ptrs(fn->kernel->nparams + 1);
        for (int p = 0; p < fn->kernel->nparams; p++) ptrs[p] = blob->data() + fn->offsets[p];
        std::string why;
        CUresult r = run_kernel(fn->kernel, grid, block, shared, ptrs.data(), &why);
        if (r != CUDA_SUCCESS) {
            fprintf(stderr, "cudasim: kernel '%s' failed: %s\n", fn->kernel->name, why.c_str());
            fail(r, std::string("kernel '") + fn->kernel->name + "': " + why);
        }
        return r;
    });
}

/* ------------------------------------------------------------------------------------------ peer copies */

EXPORT CUresult cuCtxEnablePeerAccess(void *peer, unsigned flags) {
    Context *c;
    CUresult r = require_context(&c);
    if (r) return r;
    if (flags != 0) return fail(CUDA_ERROR_INVALID_VALUE, "cuCtxEnablePeerAccess flags must be 0");
    if (peer == nullptr || peer == c) return fail(CUDA_ERROR_INVALID_DEVICE, "peer access needs another device's context");
    return CUDA_SUCCESS; /* simulated devices share host memory: every pair can reach each other */
}

EXPORT CUresult cuMemcpyPeerAsync(CUdeviceptr dst, void *dstCtx, CUdeviceptr src, void *srcCtx, size_t n,
                                  void *hstream) {
    Context *c;
    Stream *s;
    CUresult r = stream_of(&c, hstream, &s);
    if (r || (r = check_device_range("destination", dst, n)) || (r = check_device_range("source", src, n))) return r;
    int dd = -1, sd = -1;
    find_allocation((const void *) (uintptr_t) dst, n, MemKind::device, &dd);
    find_allocation((const void *) (uintptr_t) src, n, MemKind::device, &sd);
    if (dstCtx == nullptr || srcCtx == nullptr || ((Context *) dstCtx)->device != dd || ((Context *) srcCtx)->device != sd) {
        return fail(CUDA_ERROR_INVALID_VALUE, "cuMemcpyPeerAsync: a pointer is not memory of the context given for it");
    }
    return enqueue(c, s, [=]() {
        std::memmove((void *) (uintptr_t) dst, (const void *) (uintptr_t) src, n);
        return CUDA_SUCCESS;
    });
}

/* ------------------------------------------------------------------------------------------ CUDA IPC
 *
 * Between processes over shared memory. cuIpcGetMemHandle moves the allocation onto a new /dev/shm file (0600,
 * created exclusively, named with the exporter's pid, the allocation's id and a random nonce), mapped at the same
 * address, and returns a handle naming the file; cuIpcOpenMemHandle in another process maps that file. Both then
 * see the same memory, as two processes on one GPU do. The file is removed when the exporter frees the memory (or
 * exits). As on a GPU, a process cannot open its own handle.
 */

struct IpcHandle {
    char reserved[64];
};

namespace {
const char kIpcMagic[8] = { 'C', 'S', 'I', 'M', 'I', 'P', 'C', '1' };
struct IpcWire {           /* the 64 bytes of a handle */
    char magic[8];
    int32_t pid;
    int32_t device;
    uint64_t id;
    uint64_t size;
    uint64_t nonce;
    char pad[24];
};
static_assert(sizeof(IpcWire) == 64, "a CUDA IPC handle has 64 bytes");

std::atomic<uint64_t> g_ipc_ids{ 1 };
std::vector<std::string> g_exported; /* guarded by g_mu; unlinked at exit */

std::string ipc_path(int32_t pid, uint64_t id, uint64_t nonce) {
    char b[128];
    snprintf(b, sizeof b, "/dev/shm/stoker-cudasim-ipc-%d-%llu-%016llx", (int) pid, (unsigned long long) id,
             (unsigned long long) nonce);
    return b;
}

uint64_t random_nonce() {
    uint64_t v = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &v, sizeof v) != (ssize_t) sizeof v) v = 0;
        close(fd);
    }
    return v ^ (uint64_t) std::chrono::steady_clock::now().time_since_epoch().count();
}

void unlink_exported() {
    for (const std::string &p : g_exported) unlink(p.c_str());
}
} // namespace

EXPORT CUresult cuIpcGetMemHandle(IpcHandle *handle, CUdeviceptr p) {
    Context *c;
    CUresult r = require_context(&c);
    if (r) return r;
    if (handle == nullptr) return fail(CUDA_ERROR_INVALID_VALUE, "handle is NULL");
    flush_context(c); /* the contents move to the shared file: nothing may write them meanwhile */
    std::lock_guard<std::mutex> lk(g_mu);
    uintptr_t base = 0;
    Allocation *a = const_cast<Allocation *>(lookup_locked((const void *) (uintptr_t) p, &base));
    if (a == nullptr || a->kind != MemKind::device) {
        return fail(CUDA_ERROR_INVALID_VALUE, "cuIpcGetMemHandle of a pointer that is not device memory");
    }
    if (a->imported) return fail(CUDA_ERROR_INVALID_VALUE, "cuIpcGetMemHandle of memory opened from another process");
    IpcWire w{};
    std::memcpy(w.magic, kIpcMagic, sizeof w.magic);
    w.pid = (int32_t) getpid();
    w.device = a->device;
    w.size = a->size;
    if (a->shm.empty()) {
        w.id = g_ipc_ids++;
        w.nonce = random_nonce();
        std::string path = ipc_path(w.pid, w.id, w.nonce);
        int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) return fail(CUDA_ERROR_OUT_OF_MEMORY, "cannot create " + path + ": " + strerror(errno));
        bool ok = ftruncate(fd, (off_t) a->mapped) == 0
                  && pwrite(fd, (const void *) base, a->mapped, 0) == (ssize_t) a->mapped
                  && mmap((void *) base, a->mapped, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != MAP_FAILED;
        int err = errno;
        close(fd);
        if (!ok) {
            unlink(path.c_str());
            return fail(CUDA_ERROR_OUT_OF_MEMORY, "cannot share device memory through " + path + ": " + strerror(err)
                        + " (is /dev/shm full?)");
        }
        a->shm = path;
        if (g_exported.empty()) atexit(unlink_exported);
        g_exported.push_back(path);
    } else {
        unsigned long long id = 0, nonce = 0;
        int pid = 0;
        sscanf(a->shm.c_str(), "/dev/shm/stoker-cudasim-ipc-%d-%llu-%llx", &pid, &id, &nonce);
        w.id = id;
        w.nonce = nonce;
    }
    std::memcpy(handle->reserved, &w, sizeof w);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuIpcOpenMemHandle_v2(CUdeviceptr *p, IpcHandle handle, unsigned flags) {
    Context *c;
    CUresult r = require_context(&c);
    if (r) return r;
    if (p == nullptr) return fail(CUDA_ERROR_INVALID_VALUE, "output pointer is NULL");
    if (flags & ~1u) return fail(CUDA_ERROR_INVALID_VALUE, "unknown cuIpcOpenMemHandle flags");
    IpcWire w;
    std::memcpy(&w, handle.reserved, sizeof w);
    if (std::memcmp(w.magic, kIpcMagic, sizeof w.magic) != 0) {
        return fail(CUDA_ERROR_INVALID_VALUE, "not a CUDA IPC handle of the simulator");
    }
    if (w.pid == (int32_t) getpid()) {
        return fail(CUDA_ERROR_INVALID_CONTEXT, "a CUDA IPC handle cannot be opened in the process that made it");
    }
    std::string path = ipc_path(w.pid, w.id, w.nonce);
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return fail(CUDA_ERROR_INVALID_HANDLE, "CUDA IPC handle of process " + std::to_string(w.pid) + ": "
                    + path + ": " + strerror(errno) + " (was the memory freed, or did that process exit?)");
    }
    struct stat st;
    size_t mapped = page_round(w.size);
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0 || (size_t) st.st_size < mapped) {
        close(fd);
        return fail(CUDA_ERROR_INVALID_HANDLE, path + " is not a private file of the handle's size");
    }
    void *m = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return fail(CUDA_ERROR_OUT_OF_MEMORY, "cannot map " + path + ": " + strerror(errno));
    Allocation a{ (size_t) w.size, c->device, MemKind::device, 0, false, {} };
    a.mapped = mapped;
    a.imported = true;
    a.shm = path;
    std::lock_guard<std::mutex> lk(g_mu);
    g_allocations[(uintptr_t) m] = a;
    *p = (CUdeviceptr) (uintptr_t) m;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuIpcCloseMemHandle(CUdeviceptr p) {
    Context *c;
    CUresult r = require_context(&c);
    if (r) return r;
    flush_context(c);
    std::lock_guard<std::mutex> lk(g_mu);
    auto it = g_allocations.find((uintptr_t) p);
    if (it == g_allocations.end() || !it->second.imported) {
        return fail(CUDA_ERROR_INVALID_VALUE, "cuIpcCloseMemHandle of a pointer cuIpcOpenMemHandle did not return");
    }
    unmap_device_memory(it->first, it->second);
    g_allocations.erase(it);
    return CUDA_SUCCESS;
}
