/*
 * Runs a kernel launch on the CPU: each CUDA thread of a block is a fiber (its own stack), the block's
 * fibers take turns on the launching OS thread, blocks run one after another, one launch at a time in the process.
 * A fiber runs until it reaches a barrier or a warp exchange, or leaves the kernel. __syncthreads completes when
 * every live thread of the block has reached it; warp-synchronous calls (shuffles, ballots, __syncwarp) complete
 * when every lane their mask names has arrived. A thread that exits leaves every later barrier, as on current GPUs.
 * Switching fibers saves and restores a few registers (x86-64: a dozen instructions, no system call; elsewhere
 * ucontext), so kernels with many threads per block and many barriers and shuffles run fast, and a missing barrier
 * shows up deterministically (the reader runs before the writer it did not wait for).
 *
 * Misuse a device would not survive traps the launch with the error a device reports, which makes the context's
 * error sticky: a mask that excludes the caller or names missing or exited lanes, lanes disagreeing on a mask, or a
 * barrier that cannot complete because some thread waits elsewhere (a deadlock: CUDA_ERROR_LAUNCH_TIMEOUT, found
 * at once rather than after a timeout). Fibers still blocked when a launch traps are resumed so that they unwind.
 */
#include "sim_core.h"

#include <sys/mman.h>
#include <ucontext.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

#if defined(__x86_64__)
/* Saves the callee-saved registers, MXCSR and the x87 control word on the running stack, stores the stack pointer
 * in *from and resumes the context whose stack pointer is `to` (System V x86-64). */
extern "C" void cudasim_swap(void **from, void *to);
__asm__(".text\n"
        ".p2align 4\n"
        ".globl cudasim_swap\n"
        ".hidden cudasim_swap\n"
        ".type cudasim_swap,@function\n"
        "cudasim_swap:\n"
        "  pushq %rbp\n"
        "  pushq %rbx\n"
        "  pushq %r12\n"
        "  pushq %r13\n"
        "  pushq %r14\n"
        "  pushq %r15\n"
        "  subq $16, %rsp\n"
        "  stmxcsr 8(%rsp)\n"
        "  fnstcw (%rsp)\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  ldmxcsr 8(%rsp)\n"
        "  fldcw (%rsp)\n"
        "  addq $16, %rsp\n"
        "  popq %r15\n"
        "  popq %r14\n"
        "  popq %r13\n"
        "  popq %r12\n"
        "  popq %rbx\n"
        "  popq %rbp\n"
        "  ret\n"
        ".size cudasim_swap, .-cudasim_swap\n");
#define CUDASIM_FAST_SWITCH 1
#endif

namespace sim {
namespace {

struct Abort {};

/* Where a suspended context resumes: a stack pointer (fast switch) or a ucontext. */
struct Context {
#ifdef CUDASIM_FAST_SWITCH
    void *sp = nullptr;
#else
    ucontext_t uc;
#endif
};

void switch_to(Context *from, Context *to) {
#ifdef CUDASIM_FAST_SWITCH
    cudasim_swap(&from->sp, to->sp);
#else
    swapcontext(&from->uc, &to->uc);
#endif
}

enum class State { ready, at_barrier, at_warp, done };

/* One CUDA thread. `env` comes first: the kernel hands back &env, which is the fiber. */
struct Fiber {
    cudasim_env env;
    Context ctx;
    State state = State::ready;
    uint64_t result = 0; /* of the warp exchange it waited in */
    /* this lane's part of the warp exchange in progress */
    int kind = 0; /* 0 shfl, 1 ballot, 2 syncwarp */
    int arg = 0, width = 32, mode = 0;
};

struct Warp {
    unsigned exists = 0;  /* lanes that are threads of the block */
    unsigned live = 0;    /* lanes that have not exited */
    unsigned mask = 0;    /* the mask of the exchange in progress */
    unsigned arrived = 0;
    uint64_t slots[32];
    const char *what = "";
};

struct Block {
    Fiber *fibers = nullptr;
    unsigned threads = 0;
    unsigned live = 0;
    unsigned at_barrier = 0;
    std::unique_ptr<Warp[]> warps;
    unsigned warp_count = 0;
    bool aborted = false;
    int code = 0;
    std::string why;
    std::vector<unsigned char> shared;
    Context scheduler;
    const cudasim_kernel *kernel = nullptr;
    void **params = nullptr;
};

Fiber *fiber_of(cudasim_env *e) { return reinterpret_cast<Fiber *>(e); }
Block *block_of(cudasim_env *e) { return static_cast<Block *>(e->block); }

void abort_block(Block *b, int code, const std::string &why) {
    if (!b->aborted) {
        b->aborted = true;
        b->code = code;
        b->why = why;
    }
}

/* Gives the OS thread back to the block's scheduler; returns when the scheduler resumes this fiber. */
void yield(cudasim_env *e) {
    Block *b = block_of(e);
    switch_to(&fiber_of(e)->ctx, &b->scheduler);
    if (b->aborted) throw Abort();
}

void release_barrier(Block *b) {
    for (unsigned i = 0; i < b->threads; i++) {
        if (b->fibers[i].state == State::at_barrier) b->fibers[i].state = State::ready;
    }
    b->at_barrier = 0;
}

void op_syncthreads(cudasim_env *e) {
    Block *b = block_of(e);
    if (b->aborted) throw Abort();
    fiber_of(e)->state = State::at_barrier;
    if (++b->at_barrier == b->live) {
        release_barrier(b); /* the last to arrive goes on at once */
        return;
    }
    yield(e);
}

/* Completes a warp exchange every lane of its mask has joined: each lane gets its result and is ready again. */
void complete_exchange(Block *b, unsigned warp) {
    Warp &w = b->warps[warp];
    for (int lane = 0; lane < 32; lane++) {
        if (!((w.mask >> lane) & 1u)) continue;
        Fiber &f = b->fibers[warp * 32 + lane];
        uint64_t r = 0;
        if (f.kind == 0) {
            int base = lane & ~(f.width - 1);
            int src = lane;
            switch (f.mode) {
            case 0: src = base + (f.arg & (f.width - 1)); break;
            case 1: src = (lane - base) >= f.arg ? lane - f.arg : lane; break;
            case 2: src = (lane - base) + f.arg < f.width ? lane + f.arg : lane; break;
            default: src = ((lane ^ f.arg) & ~(f.width - 1)) == base ? (lane ^ f.arg) : lane; break;
            }
            if (!(w.mask & (1u << src))) {
                char buf[160];
                snprintf(buf, sizeof buf, "lane %d reads lane %d, which mask 0x%08x leaves out (undefined on a "
                         "device)", lane, src, w.mask);
                abort_block(b, CUDA_ERROR_ILLEGAL_INSTRUCTION, buf);
                return;
            }
            r = w.slots[src];
        } else if (f.kind == 1) {
            for (int i = 0; i < 32; i++)
                if ((w.mask >> i) & 1u) r |= (uint64_t) (w.slots[i] ? 1u : 0u) << i;
        }
        f.result = r;
        f.state = State::ready;
    }
    w.arrived = 0;
}

/* Joins the warp exchange of `e`'s warp with `value`; returns this lane's result once every lane has joined. */
uint64_t exchange(cudasim_env *e, unsigned mask, uint64_t value, int kind, int arg, int width, int mode,
                  const char *what) {
    Block *b = block_of(e);
    Fiber *f = fiber_of(e);
    Warp &w = b->warps[e->warp];
    unsigned me = 1u << e->lane;
    char buf[256];
    if (b->aborted) throw Abort();
    if (!(mask & me)) {
        snprintf(buf, sizeof buf, "%s with mask 0x%08x called by lane %u, which the mask excludes", what, mask, e->lane);
        abort_block(b, CUDA_ERROR_ILLEGAL_INSTRUCTION, buf);
        throw Abort();
    }
    if (mask & ~w.exists) {
        snprintf(buf, sizeof buf, "%s with mask 0x%08x names lanes that are not threads of the block (warp %u has "
                 "lanes 0x%08x; blockDim.x*y*z = %u*%u*%u)", what, mask, e->warp, w.exists, e->block_dim.x,
                 e->block_dim.y, e->block_dim.z);
        abort_block(b, CUDA_ERROR_ILLEGAL_INSTRUCTION, buf);
        throw Abort();
    }
    if (mask & ~w.live) {
        snprintf(buf, sizeof buf, "%s with mask 0x%08x names lanes that have exited (live 0x%08x)", what, mask, w.live);
        abort_block(b, CUDA_ERROR_ILLEGAL_INSTRUCTION, buf);
        throw Abort();
    }
    if (w.arrived == 0) {
        w.mask = mask;
        w.what = what;
    } else if (w.mask != mask) {
        snprintf(buf, sizeof buf, "%s: lanes of warp %u use different masks (0x%08x and 0x%08x)", what, e->warp,
                 w.mask, mask);
        abort_block(b, CUDA_ERROR_ILLEGAL_INSTRUCTION, buf);
        throw Abort();
    }
    if (width <= 0 || width > 32 || (width & (width - 1))) {
        abort_block(b, CUDA_ERROR_ILLEGAL_INSTRUCTION, "shuffle width must be a power of two <= 32");
        throw Abort();
    }
    w.slots[e->lane] = value;
    w.arrived |= me;
    f->kind = kind;
    f->arg = arg;
    f->width = width;
    f->mode = mode;
    f->state = State::at_warp;
    if (w.arrived == w.mask) {
        complete_exchange(b, e->warp);
        if (b->aborted) throw Abort();
        return f->result;
    }
    yield(e);
    return f->result;
}

uint64_t op_shfl(cudasim_env *e, unsigned mask, uint64_t value, int arg, int width, int mode) {
    return exchange(e, mask, value, 0, arg, width, mode, "__shfl*_sync");
}

unsigned op_ballot(cudasim_env *e, unsigned mask, int predicate) {
    return (unsigned) exchange(e, mask, predicate != 0, 1, 0, 32, 0, "__ballot_sync");
}

void op_syncwarp(cudasim_env *e, unsigned mask) { exchange(e, mask, 0, 2, 0, 32, 0, "__syncwarp"); }

[[noreturn]] void op_trap(cudasim_env *e, int code, const char *why) {
    Block *b = block_of(e);
    char buf[300];
    snprintf(buf, sizeof buf, "%s in thread (%u,%u,%u) of block (%u,%u,%u)", why, e->thread_idx.x, e->thread_idx.y,
             e->thread_idx.z, e->block_idx.x, e->block_idx.y, e->block_idx.z);
    abort_block(b, code, buf);
    throw Abort();
}

const cudasim_ops kOps = { op_syncthreads, op_syncwarp, op_shfl, op_ballot, op_trap };

/* A thread that leaves the kernel leaves every barrier it would have joined. */
void retire(cudasim_env *e) {
    Block *b = block_of(e);
    Fiber *f = fiber_of(e);
    f->state = State::done;
    b->live--;
    Warp &w = b->warps[e->warp];
    unsigned me = 1u << e->lane;
    w.live &= ~me;
    if (w.arrived != 0 && (w.mask & me) && !(w.arrived & me)) {
        abort_block(b, CUDA_ERROR_ILLEGAL_INSTRUCTION, "a lane exited while other lanes waited for it in a "
                    "warp-synchronous call");
    }
    if (b->at_barrier > 0 && b->at_barrier == b->live) release_barrier(b);
}

/* ------------------------------------------------------------------------------------------ fibers */

thread_local Block *t_block = nullptr;
thread_local unsigned t_starting = 0;

void fiber_main() {
    Block *b = t_block;
    Fiber *f = &b->fibers[t_starting];
    try {
        if (b->aborted) throw Abort();
        b->kernel->invoke(&f->env, b->params);
    } catch (const Abort &) {
    } catch (const std::exception &ex) {
        abort_block(b, CUDA_ERROR_LAUNCH_FAILED, std::string("C++ exception in kernel: ") + ex.what());
    } catch (...) {
        abort_block(b, CUDA_ERROR_LAUNCH_FAILED, "unknown C++ exception in kernel");
    }
    retire(&f->env);
}

#ifdef CUDASIM_FAST_SWITCH
/* First code a fiber runs (entered by cudasim_swap's `ret`, as if called); never returns. */
extern "C" void cudasim_fiber_entry() {
    Block *b = t_block;
    Fiber *f = &b->fibers[t_starting];
    fiber_main();
    switch_to(&f->ctx, &b->scheduler); /* finished: the scheduler never resumes it */
    abort();
}
#endif

constexpr size_t kStackBytes = 256 * 1024;
constexpr size_t kGuardBytes = 4096;

/* Fiber stacks of this OS thread, reused across launches (mmap'd: pages are committed only when touched). */
struct Stacks {
    std::vector<unsigned char *> stacks;
    unsigned char *get(unsigned i) {
        while (stacks.size() <= i) {
            void *p = mmap(nullptr, kStackBytes + kGuardBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                           -1, 0);
            if (p == MAP_FAILED) {
                fprintf(stderr, "cudasim: cannot map a fiber stack\n");
                abort();
            }
            mprotect(p, kGuardBytes, PROT_NONE); /* an overflow faults instead of corrupting a neighbour */
            stacks.push_back(static_cast<unsigned char *>(p));
        }
        return stacks[i] + kGuardBytes;
    }
};
thread_local Stacks t_stacks;

void start_fiber(Block *b, unsigned i) {
    Fiber &f = b->fibers[i];
#ifdef CUDASIM_FAST_SWITCH
    /* a stack as cudasim_swap leaves it: [fcw, mxcsr][r15 r14 r13 r12 rbx rbp][return: entry][0], 16-aligned top */
    uint64_t *top = reinterpret_cast<uint64_t *>(t_stacks.get(i) + kStackBytes);
    uint64_t *sp = top - 10;
    std::memset(sp, 0, 10 * sizeof(uint64_t));
    uint16_t fcw;
    __asm__ volatile("fnstcw %0" : "=m"(fcw));
    std::memcpy(sp, &fcw, sizeof fcw);
    uint32_t mxcsr = _mm_getcsr();
    std::memcpy(reinterpret_cast<unsigned char *>(sp) + 8, &mxcsr, sizeof mxcsr);
    sp[8] = reinterpret_cast<uint64_t>(&cudasim_fiber_entry);
    sp[9] = 0; /* the entry's return address: it never returns */
    f.ctx.sp = sp;
    (void) b;
#else
    getcontext(&f.ctx.uc);
    f.ctx.uc.uc_stack.ss_sp = t_stacks.get(i);
    f.ctx.uc.uc_stack.ss_size = kStackBytes;
    f.ctx.uc.uc_link = &b->scheduler.uc;
    makecontext(&f.ctx.uc, fiber_main, 0);
#endif
}

/* Runs one block to the end: turns over the ready fibers until every thread has left the kernel. */
void run_block(Block *b) {
    t_block = b;
    for (unsigned i = 0; i < b->threads; i++) start_fiber(b, i);
    while (b->live > 0) {
        bool progressed = false;
        for (unsigned i = 0; i < b->threads; i++) {
            Fiber &f = b->fibers[i];
            if (f.state != State::ready) continue;
            t_starting = i;
            progressed = true;
            switch_to(&b->scheduler, &f.ctx);
        }
        if (progressed) continue;
        /* nobody can move: some thread waits where the others never come */
        if (!b->aborted) {
            char buf[300];
            const cudasim_dim &bi = b->fibers[0].env.block_idx;
            if (b->at_barrier > 0) {
                snprintf(buf, sizeof buf, "__syncthreads not reached by all threads of block (%u,%u,%u): %u of %u "
                         "live threads wait there, the others in a warp-synchronous call (a barrier in divergent "
                         "code?)", bi.x, bi.y, bi.z, b->at_barrier, b->live);
            } else {
                unsigned wi = 0;
                while (wi < b->warp_count && b->warps[wi].arrived == 0) wi++;
                const Warp &w = b->warps[wi < b->warp_count ? wi : 0];
                snprintf(buf, sizeof buf, "%s with mask 0x%08x: lanes 0x%08x never arrived (divergent "
                         "warp-synchronous call?)", w.what, w.mask, w.mask & ~w.arrived);
            }
            abort_block(b, CUDA_ERROR_LAUNCH_TIMEOUT, buf);
        }
        /* resume every blocked fiber so that it unwinds (each throws Abort) */
        for (unsigned i = 0; i < b->threads; i++) {
            if (b->fibers[i].state != State::done) b->fibers[i].state = State::ready;
        }
    }
    t_block = nullptr;
}

std::mutex g_launch_mu;

/* CUDASIM_PROFILE=FILE: time per kernel name, appended to FILE when the process exits. */
struct Profile {
    const char *file = getenv("CUDASIM_PROFILE");
    bool on = file != nullptr && *file != 0;
    std::map<std::string, std::pair<double, long>> seconds;
    ~Profile() {
        FILE *f = on ? fopen(file, "a") : nullptr;
        if (f == nullptr) return;
        for (auto &e : seconds)
            fprintf(f, "cudasim profile: %-28s %8.3f s %8ld launches\n", e.first.c_str(), e.second.first,
                    e.second.second);
        fclose(f);
    }
};
Profile &profile() {
    static Profile p;
    return p;
}

} // namespace

CUresult run_kernel(const cudasim_kernel *k, cudasim_dim grid, cudasim_dim block, unsigned shared, void **params,
                    std::string *why) {
    std::lock_guard<std::mutex> launch(g_launch_mu);
    auto t0 = std::chrono::steady_clock::now();
    struct Timed {
        const cudasim_kernel *k;
        std::chrono::steady_clock::time_point t0;
        ~Timed() {
            if (!profile().on) return;
            auto &e = profile().seconds[k->name];
            e.first += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            e.second++;
        }
    } timed{ k, t0 };
    unsigned threads = block.x * block.y * block.z;
    Block b;
    b.shared.resize(shared + 16);
    b.kernel = k;
    b.params = params;
    unsigned warps = (threads + 31) / 32;
    std::unique_ptr<Fiber[]> fibers(new Fiber[threads]);
    b.fibers = fibers.get();
    b.threads = threads;
    for (unsigned gz = 0; gz < grid.z; gz++) {
        for (unsigned gy = 0; gy < grid.y; gy++) {
            for (unsigned gx = 0; gx < grid.x; gx++) {
                b.live = threads;
                b.at_barrier = 0;
                b.warps.reset(new Warp[warps]);
                b.warp_count = warps;
                for (unsigned w = 0; w < warps; w++) {
                    unsigned lanes = threads - w * 32 >= 32 ? 32 : threads - w * 32;
                    b.warps[w].exists = b.warps[w].live = lanes == 32 ? 0xffffffffu : ((1u << lanes) - 1u);
                }
                for (unsigned id = 0; id < threads; id++) {
                    Fiber &f = b.fibers[id];
                    f.state = State::ready;
                    cudasim_env &env = f.env;
                    env.thread_idx = cudasim_dim{ id % block.x, (id / block.x) % block.y, id / (block.x * block.y) };
                    env.block_idx = cudasim_dim{ gx, gy, gz };
                    env.block_dim = block;
                    env.grid_dim = grid;
                    env.lane = id % 32;
                    env.warp = id / 32;
                    env.dynamic_shared = b.shared.data();
                    env.ops = &kOps;
                    env.block = &b;
                }
                /* shared memory starts undefined on a device: fill it with NaN bytes */
                std::memset(b.shared.data(), 0xff, b.shared.size());
                run_block(&b);
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
