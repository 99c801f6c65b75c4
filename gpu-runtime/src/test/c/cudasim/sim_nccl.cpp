/*
 * Simulated NCCL: ranks are threads of one process, each with its own device context and stream. A communicator's
 * calls are queued on the stream like device work; when a rank's stream runs a collective, that rank's thread
 * blocks until every rank has reached the same collective, and the call then checks that all ranks asked for the
 * same thing (kind, count, type, op, root) before moving data. Mismatched calls fail every rank with a message
 * naming each rank's call, as a sticky error on its context. Sends and receives rendezvous per (sender, receiver)
 * pair in order; calls between ncclGroupStart/End are posted together, so a group that sends and receives does
 * not deadlock.
 */
#include "sim_core.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#define EXPORT extern "C" __attribute__((visibility("default")))

using namespace sim;

typedef int ncclResult_t;
enum : int { ncclSuccess = 0, ncclUnhandledCudaError = 1, ncclSystemError = 2, ncclInternalError = 3,
             ncclInvalidArgument = 4, ncclInvalidUsage = 5, ncclRemoteError = 6 };
enum : int { T_I8 = 0, T_U8 = 1, T_I32 = 2, T_U32 = 3, T_I64 = 4, T_U64 = 5, T_F16 = 6, T_F32 = 7, T_F64 = 8,
             T_BF16 = 9 };
enum : int { OP_SUM = 0, OP_PROD = 1, OP_MAX = 2, OP_MIN = 3, OP_AVG = 4 };

struct UniqueId {
    char internal[128];
};

namespace {

size_t type_size(int t) {
    switch (t) {
    case T_I8: case T_U8: return 1;
    case T_F16: case T_BF16: return 2;
    case T_I32: case T_U32: case T_F32: return 4;
    case T_I64: case T_U64: case T_F64: return 8;
    default: return 0;
    }
}

double load(const void *p, size_t i, int t) {
    switch (t) {
    case T_I8: return ((const int8_t *) p)[i];
    case T_U8: return ((const uint8_t *) p)[i];
    case T_I32: return ((const int32_t *) p)[i];
    case T_U32: return ((const uint32_t *) p)[i];
    case T_I64: return (double) ((const int64_t *) p)[i];
    case T_U64: return (double) ((const uint64_t *) p)[i];
    case T_F16: return f16_to_f32(((const uint16_t *) p)[i]);
    case T_BF16: return bf16_to_f32(((const uint16_t *) p)[i]);
    case T_F32: return ((const float *) p)[i];
    default: return ((const double *) p)[i];
    }
}

void store(void *p, size_t i, int t, double v) {
    switch (t) {
    case T_I8: ((int8_t *) p)[i] = (int8_t) v; break;
    case T_U8: ((uint8_t *) p)[i] = (uint8_t) v; break;
    case T_I32: ((int32_t *) p)[i] = (int32_t) v; break;
    case T_U32: ((uint32_t *) p)[i] = (uint32_t) v; break;
    case T_I64: ((int64_t *) p)[i] = (int64_t) v; break;
    case T_U64: ((uint64_t *) p)[i] = (uint64_t) v; break;
    case T_F16: ((uint16_t *) p)[i] = f32_to_f16((float) v); break;
    case T_BF16: ((uint16_t *) p)[i] = f32_to_bf16((float) v); break;
    case T_F32: ((float *) p)[i] = (float) v; break;
    default: ((double *) p)[i] = v;
    }
}

const char *kind_name(int k) {
    static const char *names[] = { "allReduce", "allGather", "reduceScatter", "broadcast" };
    return k >= 0 && k < 4 ? names[k] : "?";
}

struct Call {
    int kind = -1; /* 0 allReduce, 1 allGather, 2 reduceScatter, 3 broadcast */
    size_t count = 0;
    int type = 0, op = 0, root = 0;
    const void *send = nullptr;
    void *recv = nullptr;

    std::string describe() const {
        char b[160];
        snprintf(b, sizeof b, "%s(count=%zu, type=%d, op=%d, root=%d)", kind_name(kind), count, type, op, root);
        return b;
    }
    bool same(const Call &o) const {
        return kind == o.kind && count == o.count && type == o.type && (kind == 1 || op == o.op)
               && (kind != 3 || root == o.root);
    }
};

struct Transfer {
    const void *data;
    size_t count;
    int type;
    bool taken = false;
    bool failed = false;
};

struct Clique {
    int nranks = 0;
    int joined = 0;
    std::mutex mu;
    std::condition_variable cv;
    /* collectives by sequence number */
    std::map<uint64_t, std::vector<Call>> calls;
    std::map<uint64_t, int> arrived, departed;
    std::map<uint64_t, std::string> mismatch;
    /* point to point: (from, to) -> posted sends in order */
    std::map<std::pair<int, int>, std::deque<std::shared_ptr<Transfer>>> sends;
};

struct Comm {
    std::shared_ptr<Clique> clique;
    int rank = 0;
    Context *ctx = nullptr;
    uint64_t seq = 0;
    std::atomic<int> async_error{ 0 };
};

std::mutex g_mu;
std::map<std::string, std::weak_ptr<Clique>> g_cliques;
std::atomic<uint64_t> g_ids{ 1 };

std::chrono::steady_clock::time_point deadline() {
    return std::chrono::steady_clock::now() + std::chrono::milliseconds(config().barrier_timeout_ms * 3);
}

double reduce(int op, double a, double b) {
    switch (op) {
    case OP_PROD: return a * b;
    case OP_MAX: return a > b ? a : b;
    case OP_MIN: return a < b ? a : b;
    default: return a + b;
    }
}

/* Runs on the rank's thread when its stream reaches the collective. */
CUresult collective(Comm *c, uint64_t seq, Call call) {
    Clique &q = *c->clique;
    std::unique_lock<std::mutex> lk(q.mu);
    auto &v = q.calls[seq];
    if (v.empty()) v.resize(q.nranks);
    v[c->rank] = call;
    q.arrived[seq]++;
    q.cv.notify_all();
    auto until = deadline();
    while (q.arrived[seq] < q.nranks) {
        if (q.cv.wait_until(lk, until) == std::cv_status::timeout && q.arrived[seq] < q.nranks) {
            c->async_error = ncclInvalidUsage;
            return fail(CUDA_ERROR_LAUNCH_TIMEOUT, "NCCL collective #" + std::to_string(seq) + " (" + call.describe()
                        + " on rank " + std::to_string(c->rank) + "): not every rank called it within "
                        + std::to_string(config().barrier_timeout_ms * 3) + " ms");
        }
    }
    std::string &bad = q.mismatch[seq];
    if (bad.empty()) {
        bool ok = true;
        for (int r = 1; r < q.nranks; r++) ok &= v[r].same(v[0]);
        if (!ok) {
            bad = "NCCL collective #" + std::to_string(seq) + " differs between ranks:";
            for (int r = 0; r < q.nranks; r++) bad += " rank " + std::to_string(r) + " called " + v[r].describe() + ";";
        } else {
            bad = "ok";
        }
    }
    CUresult result = CUDA_SUCCESS;
    if (bad != "ok") {
        c->async_error = ncclInvalidUsage;
        result = fail(CUDA_ERROR_LAUNCH_FAILED, bad);
    } else {
        size_t n = call.count;
        int t = call.type;
        int me = c->rank;
        switch (call.kind) {
        case 0: /* allReduce */
            for (size_t i = 0; i < n; i++) {
                double acc = load(v[0].send, i, t);
                for (int r = 1; r < q.nranks; r++) acc = reduce(call.op, acc, load(v[r].send, i, t));
                if (call.op == OP_AVG) acc /= q.nranks;
                store(call.recv, i, t, acc);
            }
            break;
        case 1: /* allGather: count per rank */
            for (int r = 0; r < q.nranks; r++) {
                std::memcpy((char *) call.recv + r * n * type_size(t), v[r].send, n * type_size(t));
            }
            break;
        case 2: /* reduceScatter: count per rank of the result */
            for (size_t i = 0; i < n; i++) {
                size_t j = me * n + i;
                double acc = load(v[0].send, j, t);
                for (int r = 1; r < q.nranks; r++) acc = reduce(call.op, acc, load(v[r].send, j, t));
                if (call.op == OP_AVG) acc /= q.nranks;
                store(call.recv, i, t, acc);
            }
            break;
        default: /* broadcast */
            if (call.recv != v[call.root].send) std::memmove(call.recv, v[call.root].send, n * type_size(t));
        }
    }
    /* nobody reuses its buffers (or the slot) until every rank has read them */
    q.departed[seq]++;
    q.cv.notify_all();
    while (q.departed[seq] < q.nranks) q.cv.wait(lk);
    return result;
}

struct P2P {
    bool send;
    int peer;
    void *buf;
    size_t count;
    int type;
};

/* Posts the group's sends, completes its receives, then waits until its sends were taken. */
CUresult point_to_point(Comm *c, std::vector<P2P> ops) {
    Clique &q = *c->clique;
    std::unique_lock<std::mutex> lk(q.mu);
    std::vector<std::shared_ptr<Transfer>> posted;
    for (const P2P &o : ops) {
        if (!o.send) continue;
        auto t = std::make_shared<Transfer>(Transfer{ o.buf, o.count, o.type });
        q.sends[{ c->rank, o.peer }].push_back(t);
        posted.push_back(t);
    }
    q.cv.notify_all();
    auto until = deadline();
    CUresult result = CUDA_SUCCESS;
    for (const P2P &o : ops) {
        if (o.send) continue;
        auto &queue = q.sends[{ o.peer, c->rank }];
        while (queue.empty()) {
            if (q.cv.wait_until(lk, until) == std::cv_status::timeout && queue.empty()) {
                c->async_error = ncclInvalidUsage;
                return fail(CUDA_ERROR_LAUNCH_TIMEOUT, "NCCL recv on rank " + std::to_string(c->rank) + " from rank "
                            + std::to_string(o.peer) + ": no matching send within the timeout");
            }
        }
        std::shared_ptr<Transfer> t = queue.front();
        queue.pop_front();
        if (t->count != o.count || t->type != o.type) {
            t->failed = true;
            c->async_error = ncclInvalidUsage;
            result = fail(CUDA_ERROR_LAUNCH_FAILED, "NCCL send/recv mismatch: rank " + std::to_string(o.peer)
                          + " sends " + std::to_string(t->count) + " elements of type " + std::to_string(t->type)
                          + ", rank " + std::to_string(c->rank) + " receives " + std::to_string(o.count)
                          + " of type " + std::to_string(o.type));
        } else {
            std::memcpy(o.buf, t->data, o.count * type_size(o.type));
        }
        t->taken = true;
        q.cv.notify_all();
    }
    for (auto &t : posted) {
        while (!t->taken) {
            if (q.cv.wait_until(lk, until) == std::cv_status::timeout && !t->taken) {
                c->async_error = ncclInvalidUsage;
                return fail(CUDA_ERROR_LAUNCH_TIMEOUT, "NCCL send on rank " + std::to_string(c->rank)
                            + ": no matching recv within the timeout");
            }
        }
        if (t->failed && result == CUDA_SUCCESS) {
            c->async_error = ncclInvalidUsage;
            result = fail(CUDA_ERROR_LAUNCH_FAILED, "NCCL send on rank " + std::to_string(c->rank)
                          + " was received with another count or type");
        }
    }
    return result;
}

struct Pending {
    Comm *comm;
    Stream *stream;
    P2P op;
};
thread_local int tl_group_depth = 0;
thread_local std::vector<Pending> tl_group;

ncclResult_t submit_p2p(Comm *c, void *stream, P2P op) {
    Context *ctx;
    if (require_context(&ctx) != CUDA_SUCCESS || ctx != c->ctx) return ncclInvalidUsage;
    if (!valid_stream(ctx, (Stream *) stream)) return ncclInvalidArgument;
    if (op.peer < 0 || op.peer >= c->clique->nranks || type_size(op.type) == 0) return ncclInvalidArgument;
    if (op.count > 0 && !find_allocation(op.buf, op.count * type_size(op.type), MemKind::device, nullptr)) {
        fail(CUDA_ERROR_INVALID_VALUE, "NCCL buffer is not inside one device allocation");
        return ncclInvalidArgument;
    }
    if (tl_group_depth > 0) {
        tl_group.push_back(Pending{ c, (Stream *) stream, op });
        return ncclSuccess;
    }
    std::vector<P2P> ops{ op };
    return enqueue(ctx, (Stream *) stream, [c, ops]() { return point_to_point(c, ops); }) == CUDA_SUCCESS
               ? ncclSuccess : ncclUnhandledCudaError;
}

ncclResult_t submit_collective(Comm *c, void *stream, Call call, size_t sendBytes, size_t recvBytes) {
    Context *ctx;
    if (require_context(&ctx) != CUDA_SUCCESS || ctx != c->ctx) return ncclInvalidUsage;
    if (!valid_stream(ctx, (Stream *) stream)) return ncclInvalidArgument;
    if (type_size(call.type) == 0 || call.op < 0 || call.op > OP_AVG) return ncclInvalidArgument;
    if (call.kind == 3 && (call.root < 0 || call.root >= c->clique->nranks)) return ncclInvalidArgument;
    bool sendOk = sendBytes == 0 || find_allocation(call.send, sendBytes, MemKind::device, nullptr)
                  || (call.kind == 3 && c->rank != call.root);
    if (!sendOk || (recvBytes > 0 && !find_allocation(call.recv, recvBytes, MemKind::device, nullptr))) {
        fail(CUDA_ERROR_INVALID_VALUE, "NCCL buffer is not inside one device allocation");
        return ncclInvalidArgument;
    }
    uint64_t seq = c->seq++;
    return enqueue(ctx, (Stream *) stream, [c, seq, call]() { return collective(c, seq, call); }) == CUDA_SUCCESS
               ? ncclSuccess : ncclUnhandledCudaError;
}

} // namespace

EXPORT const char *ncclGetErrorString(ncclResult_t r) {
    switch (r) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error";
    case ncclSystemError: return "unhandled system error";
    case ncclInternalError: return "internal error";
    case ncclInvalidArgument: return "invalid argument";
    case ncclInvalidUsage: return "invalid usage";
    case ncclRemoteError: return "remote process exited or there was a network error";
    default: return "unknown result code";
    }
}

EXPORT ncclResult_t ncclGetVersion(int *v) {
    *v = 22800; /* 2.28.0, the simulator's API level */
    return ncclSuccess;
}

EXPORT ncclResult_t ncclGetUniqueId(UniqueId *id) {
    std::memset(id->internal, 0, sizeof id->internal);
    uint64_t n = g_ids++;
    uint64_t t = (uint64_t) std::chrono::steady_clock::now().time_since_epoch().count();
    snprintf(id->internal, sizeof id->internal, "cudasim-nccl-%llu-%llu", (unsigned long long) t,
             (unsigned long long) n);
    return ncclSuccess;
}

EXPORT ncclResult_t ncclCommInitRank(Comm **out, int nranks, UniqueId id, int rank) {
    Context *ctx;
    if (require_context(&ctx) != CUDA_SUCCESS) return ncclUnhandledCudaError;
    if (nranks < 1 || rank < 0 || rank >= nranks) return ncclInvalidArgument;
    std::string key(id.internal, strnlen(id.internal, sizeof id.internal));
    std::shared_ptr<Clique> q;
    {
        std::lock_guard<std::mutex> lk(g_mu);
        q = g_cliques[key].lock();
        if (!q) {
            q = std::make_shared<Clique>();
            q->nranks = nranks;
            g_cliques[key] = q;
        }
    }
    std::unique_lock<std::mutex> lk(q->mu);
    if (q->nranks != nranks) return ncclInvalidUsage;
    q->joined++;
    q->cv.notify_all();
    auto until = deadline();
    while (q->joined < nranks) {
        if (q->cv.wait_until(lk, until) == std::cv_status::timeout && q->joined < nranks) {
            q->joined--;
            return ncclSystemError;
        }
    }
    Comm *c = new Comm();
    c->clique = q;
    c->rank = rank;
    c->ctx = ctx;
    *out = c;
    return ncclSuccess;
}

EXPORT ncclResult_t ncclCommDestroy(Comm *c) {
    if (c == nullptr) return ncclInvalidArgument;
    flush_context(c->ctx);
    delete c;
    return ncclSuccess;
}

EXPORT ncclResult_t ncclCommAbort(Comm *c) {
    if (c == nullptr) return ncclInvalidArgument;
    delete c;
    return ncclSuccess;
}

EXPORT ncclResult_t ncclCommCount(const Comm *c, int *n) {
    *n = c->clique->nranks;
    return ncclSuccess;
}

EXPORT ncclResult_t ncclCommUserRank(const Comm *c, int *r) {
    *r = c->rank;
    return ncclSuccess;
}

EXPORT ncclResult_t ncclCommGetAsyncError(Comm *c, ncclResult_t *e) {
    *e = c->async_error.load();
    return ncclSuccess;
}

EXPORT ncclResult_t ncclAllReduce(const void *send, void *recv, size_t count, int type, int op, Comm *c, void *s) {
    size_t b = count * type_size(type);
    return submit_collective(c, s, Call{ 0, count, type, op, 0, send, recv }, b, b);
}

EXPORT ncclResult_t ncclAllGather(const void *send, void *recv, size_t count, int type, Comm *c, void *s) {
    size_t b = count * type_size(type);
    return submit_collective(c, s, Call{ 1, count, type, 0, 0, send, recv }, b, b * c->clique->nranks);
}

EXPORT ncclResult_t ncclReduceScatter(const void *send, void *recv, size_t count, int type, int op, Comm *c, void *s) {
    size_t b = count * type_size(type);
    return submit_collective(c, s, Call{ 2, count, type, op, 0, send, recv }, b * c->clique->nranks, b);
}

EXPORT ncclResult_t ncclBroadcast(const void *send, void *recv, size_t count, int type, int root, Comm *c, void *s) {
    size_t b = count * type_size(type);
    return submit_collective(c, s, Call{ 3, count, type, 0, root, send, recv }, b, b);
}

EXPORT ncclResult_t ncclSend(const void *buf, size_t count, int type, int peer, Comm *c, void *s) {
    return submit_p2p(c, s, P2P{ true, peer, const_cast<void *>(buf), count, type });
}

EXPORT ncclResult_t ncclRecv(void *buf, size_t count, int type, int peer, Comm *c, void *s) {
    return submit_p2p(c, s, P2P{ false, peer, buf, count, type });
}

EXPORT ncclResult_t ncclGroupStart() {
    tl_group_depth++;
    return ncclSuccess;
}

/* The group's sends and receives, per communicator, go on the stream of its first call as one operation. */
EXPORT ncclResult_t ncclGroupEnd() {
    if (tl_group_depth == 0) return ncclInvalidUsage;
    if (--tl_group_depth > 0) return ncclSuccess;
    std::vector<Pending> group;
    group.swap(tl_group);
    std::map<Comm *, std::pair<Stream *, std::vector<P2P>>> byComm;
    for (const Pending &p : group) {
        auto &e = byComm[p.comm];
        if (e.second.empty()) e.first = p.stream;
        e.second.push_back(p.op);
    }
    for (auto &e : byComm) {
        Comm *c = e.first;
        std::vector<P2P> ops = e.second.second;
        if (enqueue(c->ctx, e.second.first, [c, ops]() { return point_to_point(c, ops); }) != CUDA_SUCCESS) {
            return ncclUnhandledCudaError;
        }
    }
    return ncclSuccess;
}
