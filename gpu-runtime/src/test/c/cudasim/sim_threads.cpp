/*
 * Runs a kernel launch on CPU threads: each CUDA thread of a block is one CPU thread of a reusable pool, blocks
 * run one after another, one launch at a time in the process. __syncthreads is a block barrier; warp-synchronous
 * calls (shuffles, ballots, __syncwarp) are warp barriers over the lanes their mask names. A thread that exits
 * leaves every later barrier, as on current GPUs. Misuse a device would not survive — a mask that excludes the
 * caller or names missing or exited lanes, lanes disagreeing on a mask, a barrier not reached in time — traps
 * the launch with the error a device reports, which makes the context's error sticky.
 */
#include "sim_core.h"

#include <pthread.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

namespace sim {
namespace {

struct Abort {};

struct Warp {
    unsigned exists = 0;  /* lanes that are threads of the block */
    unsigned live = 0;    /* lanes that have not exited */
    unsigned mask = 0;    /* the mask of the exchange in progress */
    unsigned arrived = 0;
    unsigned departed = 0;
    uint64_t phase = 0;
    uint64_t slots[32];
    std::condition_variable cv; /* this warp's lanes wait here (the block's mutex guards it) */
};

struct Block {
    std::mutex mu;
    std::condition_variable cv;
    int expected = 0;
    int remaining = 0;
    uint64_t generation = 0;
    std::unique_ptr<Warp[]> warps;
    unsigned warp_count = 0;
    bool aborted = false;
    int code = 0;
    std::string why;
    std::vector<unsigned char> shared;
};

void abort_locked(Block *b, int code, const std::string &why) {
    if (!b->aborted) {
        b->aborted = true;
        b->code = code;
        b->why = why;
    }
    b->cv.notify_all();
    for (unsigned w = 0; w < b->warp_count; w++) b->warps[w].cv.notify_all();
}

std::chrono::steady_clock::time_point deadline() {
    return std::chrono::steady_clock::now() + std::chrono::milliseconds(config().barrier_timeout_ms);
}

Block *block_of(cudasim_env *e) { return static_cast<Block *>(e->block); }

void op_syncthreads(cudasim_env *e) {
    Block *b = block_of(e);
    std::unique_lock<std::mutex> lk(b->mu);
    if (b->aborted) throw Abort();
    uint64_t g = b->generation;
    if (--b->remaining == 0) {
        b->generation++;
        b->remaining = b->expected;
        b->cv.notify_all();
        return;
    }
    auto until = deadline();
    while (b->generation == g && !b->aborted) {
        if (b->cv.wait_until(lk, until) == std::cv_status::timeout && b->generation == g) {
            char buf[200];
            snprintf(buf, sizeof buf, "__syncthreads not reached by all threads of block (%u,%u,%u) within %d ms "
                     "(a barrier in divergent code?)", e->block_idx.x, e->block_idx.y, e->block_idx.z,
                     config().barrier_timeout_ms);
            abort_locked(b, CUDA_ERROR_LAUNCH_TIMEOUT, buf);
        }
    }
    if (b->aborted) throw Abort();
}

/* Phase 1: every lane named by `mask` deposits `value`; returns once all have. The caller reads slots, then
 * calls depart(). */
Warp &arrive(cudasim_env *e, std::unique_lock<std::mutex> &lk, unsigned mask, uint64_t value, const char *what) {
    Block *b = block_of(e);
    Warp &w = b->warps[e->warp];
    unsigned me = 1u << e->lane;
    char buf[256];
    if (b->aborted) throw Abort();
    if (!(mask & me)) {
        snprintf(buf, sizeof buf, "%s with mask 0x%08x called by lane %u, which the mask excludes", what, mask, e->lane);
        abort_locked(b, CUDA_ERROR_ILLEGAL_INSTRUCTION, buf);
        throw Abort();
    }
    if (mask & ~w.exists) {
        snprintf(buf, sizeof buf, "%s with mask 0x%08x names lanes that are not threads of the block (warp %u has "
                 "lanes 0x%08x; blockDim.x*y*z = %u*%u*%u)", what, mask, e->warp, w.exists, e->block_dim.x,
                 e->block_dim.y, e->block_dim.z);
        abort_locked(b, CUDA_ERROR_ILLEGAL_INSTRUCTION, buf);
        throw Abort();
    }
    if (mask & ~w.live) {
        snprintf(buf, sizeof buf, "%s with mask 0x%08x names lanes that have exited (live 0x%08x)", what, mask, w.live);
        abort_locked(b, CUDA_ERROR_ILLEGAL_INSTRUCTION, buf);
        throw Abort();
    }
    /* wait while a previous exchange is still being read */
    while (w.departed != 0 && !b->aborted) w.cv.wait(lk);
    if (b->aborted) throw Abort();
    if (w.arrived == 0) {
        w.mask = mask;
    } else if (w.mask != mask) {
        snprintf(buf, sizeof buf, "%s: lanes of warp %u use different masks (0x%08x and 0x%08x)", what, e->warp,
                 w.mask, mask);
        abort_locked(b, CUDA_ERROR_ILLEGAL_INSTRUCTION, buf);
        throw Abort();
    }
    w.slots[e->lane] = value;
    w.arrived |= me;
    uint64_t phase = w.phase;
    if (w.arrived == w.mask) {
        w.phase++;
        w.cv.notify_all();
    } else {
        auto until = deadline();
        while (w.phase == phase && !b->aborted) {
            if (w.cv.wait_until(lk, until) == std::cv_status::timeout && w.phase == phase) {
                snprintf(buf, sizeof buf, "%s with mask 0x%08x: lanes 0x%08x never arrived within %d ms (divergent "
                         "warp-synchronous call?)", what, w.mask, w.mask & ~w.arrived, config().barrier_timeout_ms);
                abort_locked(b, CUDA_ERROR_LAUNCH_TIMEOUT, buf);
            }
        }
        if (b->aborted) throw Abort();
    }
    return w;
}

void depart(cudasim_env *e, Warp &w) {
    w.departed |= 1u << e->lane;
    if (w.departed == w.mask) {
        w.arrived = 0;
        w.departed = 0;
        w.cv.notify_all();
    }
}

uint64_t op_shfl(cudasim_env *e, unsigned mask, uint64_t value, int arg, int width, int mode) {
    Block *b = block_of(e);
    std::unique_lock<std::mutex> lk(b->mu);
    if (width <= 0 || width > 32 || (width & (width - 1))) {
        abort_locked(b, CUDA_ERROR_ILLEGAL_INSTRUCTION, "shuffle width must be a power of two <= 32");
        throw Abort();
    }
    Warp &w = arrive(e, lk, mask, value, "__shfl*_sync");
    int lane = (int) e->lane;
    int base = lane & ~(width - 1);
    int src = lane;
    switch (mode) {
    case 0: src = base + (arg & (width - 1)); break;
    case 1: src = (lane - base) >= arg ? lane - arg : lane; break;
    case 2: src = (lane - base) + arg < width ? lane + arg : lane; break;
    default: src = ((lane ^ arg) & ~(width - 1)) == base ? (lane ^ arg) : lane; break;
    }
    if (!(w.mask & (1u << src))) {
        char buf[160];
        snprintf(buf, sizeof buf, "lane %d reads lane %d, which mask 0x%08x leaves out (undefined on a device)", lane,
                 src, w.mask);
        abort_locked(b, CUDA_ERROR_ILLEGAL_INSTRUCTION, buf);
        throw Abort();
    }
    uint64_t r = w.slots[src];
    depart(e, w);
    return r;
}

unsigned op_ballot(cudasim_env *e, unsigned mask, int predicate) {
    Block *b = block_of(e);
    std::unique_lock<std::mutex> lk(b->mu);
    Warp &w = arrive(e, lk, mask, predicate != 0, "__ballot_sync");
    unsigned r = 0;
    for (int i = 0; i < 32; i++)
        if ((w.mask >> i) & 1u) r |= (w.slots[i] ? 1u : 0u) << i;
    depart(e, w);
    return r;
}

void op_syncwarp(cudasim_env *e, unsigned mask) {
    Block *b = block_of(e);
    std::unique_lock<std::mutex> lk(b->mu);
    Warp &w = arrive(e, lk, mask, 0, "__syncwarp");
    depart(e, w);
}

[[noreturn]] void op_trap(cudasim_env *e, int code, const char *why) {
    Block *b = block_of(e);
    std::lock_guard<std::mutex> lk(b->mu);
    char buf[300];
    snprintf(buf, sizeof buf, "%s in thread (%u,%u,%u) of block (%u,%u,%u)", why, e->thread_idx.x, e->thread_idx.y,
             e->thread_idx.z, e->block_idx.x, e->block_idx.y, e->block_idx.z);
    abort_locked(b, code, buf);
    throw Abort();
}

const cudasim_ops kOps = { op_syncthreads, op_syncwarp, op_shfl, op_ballot, op_trap };

/* A thread that leaves the kernel leaves every barrier it would have joined. */
void retire(cudasim_env *e) {
    Block *b = block_of(e);
    std::lock_guard<std::mutex> lk(b->mu);
    b->expected--;
    if (--b->remaining == 0) {
        b->generation++;
        b->remaining = b->expected;
    }
    Warp &w = b->warps[e->warp];
    unsigned me = 1u << e->lane;
    w.live &= ~me;
    if (w.arrived != 0 && (w.mask & me) && !(w.arrived & me)) {
        abort_locked(b, CUDA_ERROR_ILLEGAL_INSTRUCTION, "a lane exited while other lanes waited for it in a "
                     "warp-synchronous call");
    }
    b->cv.notify_all();
}

/* ------------------------------------------------------------------------------------------ thread pool */

struct Job {
    const cudasim_kernel *kernel = nullptr;
    void **params = nullptr;
    Block *block = nullptr;
    cudasim_dim grid{}, block_dim{}, block_idx{};
    unsigned threads = 0;
};

class Pool {
public:
    void run(const Job &job) {
        ensure(job.threads);
        std::unique_lock<std::mutex> lk(mu_);
        job_ = job;
        done_ = 0;
        generation_++;
        cv_job_.notify_all();
        cv_done_.wait(lk, [&] { return done_ == job_.threads; });
    }

private:
    void ensure(unsigned n) {
        std::lock_guard<std::mutex> lk(mu_);
        while (workers_ < n) {
            /* the thread starts from the current generation: jobs posted after this point are its to see */
            auto *arg = new Start{ this, workers_, generation_ };
            pthread_attr_t attr;
            pthread_attr_init(&attr);
            pthread_attr_setstacksize(&attr, 512 * 1024);
            pthread_t t;
            if (pthread_create(&t, &attr, &Pool::main, arg) != 0) {
                pthread_attr_destroy(&attr);
                delete arg;
                fprintf(stderr, "cudasim: cannot start CUDA thread %u\n", workers_);
                abort();
            }
            pthread_detach(t);
            pthread_attr_destroy(&attr);
            workers_++;
        }
    }

    struct Start {
        Pool *pool;
        unsigned id;
        uint64_t generation;
    };

    static void *main(void *p) {
        auto *arg = static_cast<Start *>(p);
        Pool *pool = arg->pool;
        unsigned id = arg->id;
        uint64_t seen = arg->generation;
        delete arg;
        for (;;) {
            Job job;
            {
                std::unique_lock<std::mutex> lk(pool->mu_);
                pool->cv_job_.wait(lk, [&] { return pool->generation_ != seen; });
                seen = pool->generation_;
                job = pool->job_;
            }
            if (id >= job.threads) continue;
            execute(job, id);
            std::lock_guard<std::mutex> lk(pool->mu_);
            if (++pool->done_ == job.threads) pool->cv_done_.notify_all();
        }
        return nullptr;
    }

    static void execute(const Job &job, unsigned id) {
        cudasim_env env;
        const cudasim_dim &bd = job.block_dim;
        env.thread_idx = cudasim_dim{ id % bd.x, (id / bd.x) % bd.y, id / (bd.x * bd.y) };
        env.block_idx = job.block_idx;
        env.block_dim = bd;
        env.grid_dim = job.grid;
        env.lane = id % 32;
        env.warp = id / 32;
        env.dynamic_shared = job.block->shared.data();
        env.ops = &kOps;
        env.block = job.block;
        try {
            job.kernel->invoke(&env, job.params);
        } catch (const Abort &) {
        } catch (const std::exception &ex) {
            std::lock_guard<std::mutex> lk(job.block->mu);
            abort_locked(job.block, CUDA_ERROR_LAUNCH_FAILED, std::string("C++ exception in kernel: ") + ex.what());
        } catch (...) {
            std::lock_guard<std::mutex> lk(job.block->mu);
            abort_locked(job.block, CUDA_ERROR_LAUNCH_FAILED, "unknown C++ exception in kernel");
        }
        retire(&env);
    }

    std::mutex mu_;
    std::condition_variable cv_job_, cv_done_;
    Job job_;
    unsigned workers_ = 0;
    unsigned done_ = 0;
    uint64_t generation_ = 0;
};

Pool &pool() {
    static Pool *p = new Pool(); /* never destroyed: its threads outlive static destruction */
    return *p;
}

std::mutex g_launch_mu;

} // namespace

CUresult run_kernel(const cudasim_kernel *k, cudasim_dim grid, cudasim_dim block, unsigned shared, void **params,
                    std::string *why) {
    std::lock_guard<std::mutex> launch(g_launch_mu);
    unsigned threads = block.x * block.y * block.z;
    Block b;
    b.shared.resize(shared + 16);
    unsigned warps = (threads + 31) / 32;
    for (unsigned gz = 0; gz < grid.z; gz++) {
        for (unsigned gy = 0; gy < grid.y; gy++) {
            for (unsigned gx = 0; gx < grid.x; gx++) {
                b.expected = b.remaining = (int) threads;
                b.generation = 0;
                b.warps.reset(new Warp[warps]);
                b.warp_count = warps;
                for (unsigned w = 0; w < warps; w++) {
                    unsigned lanes = threads - w * 32 >= 32 ? 32 : threads - w * 32;
                    b.warps[w].exists = b.warps[w].live = lanes == 32 ? 0xffffffffu : ((1u << lanes) - 1u);
                }
                /* shared memory starts undefined on a device: fill it with NaN bytes */
                std::memset(b.shared.data(), 0xff, b.shared.size());
                Job job;
                job.kernel = k;
                job.params = params;
                job.block = &b;
                job.grid = grid;
                job.block_dim = block;
                job.block_idx = cudasim_dim{ gx, gy, gz };
                job.threads = threads;
                pool().run(job);
                if (b.aborted) {
                    *why = b.why;
                    return b.code;
                }
            }
        }
    }
    return CUDA_SUCCESS;
}

} // namespace sim
