/*
 * Simulated NCCL: ranks are threads of one process, each with its own device context and stream.
 *
 * A call registers at once, when the host thread makes it (its buffers, and where it sits in its stream), and is
 * queued on the stream like device work. The operation then runs when any rank's stream reaches it: the first
 * thread to get there waits until every rank involved has registered (a rank that never calls it times out with a
 * message), runs each peer's stream up to the peer's own call (so the peer's send buffer holds its data and its
 * receive buffer is no longer in use), checks that all ranks asked for the same thing (kind, count, type, op,
 * root), and moves the data for every rank. The others' streams find it done. So, as on a GPU, an operation
 * completes without the peer's host thread synchronising anything: only its call is needed.
 *
 * Mismatched collectives fail every rank with a message naming each rank's call, as a sticky error on each rank's
 * context. Sends and receives match per (sender, receiver) pair in order; calls between ncclGroupStart/End are
 * registered and queued together at ncclGroupEnd, so a group that sends and receives does not deadlock.
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

/* Where one rank's part of an operation sits: its stream and the number of ops queued on it before the call. */
struct Place {
    Stream *stream = nullptr;
    uint64_t position = 0;
};

enum class State { waiting, running, done };

/* One collective: every rank's call, filled in as ranks register. */
struct Round {
    std::vector<Call> calls;
    std::vector<Place> places;
    std::vector<bool> registered;
    int count = 0;
    int departed = 0;
    State state = State::waiting;
    CUresult result = CUDA_SUCCESS;
    std::string message;
};

/* One send matched with one receive (the k-th of each on a (sender, receiver) pair). */
struct Transfer {
    const void *src = nullptr;
    size_t send_count = 0;
    int send_type = 0;
    Place send_place;
    bool has_send = false;
    void *dst = nullptr;
    size_t recv_count = 0;
    int recv_type = 0;
    Place recv_place;
    bool has_recv = false;
    int departed = 0;
    State state = State::waiting;
    CUresult result = CUDA_SUCCESS;
    std::string message;
};

struct Pair {
    uint64_t sends = 0, recvs = 0;
    std::map<uint64_t, std::shared_ptr<Transfer>> transfers;
};

struct Clique {
    int nranks = 0;
    int joined = 0;
    std::mutex mu;
    std::condition_variable cv;
    std::map<uint64_t, std::shared_ptr<Round>> rounds; /* collectives by sequence number */
    std::map<std::pair<int, int>, Pair> pairs;          /* point to point: (from, to) */
    std::vector<std::atomic<int>> async_errors;

    explicit Clique(int n) : nranks(n), async_errors(n) {
        for (auto &e : async_errors) e = ncclSuccess;
    }
};

struct Comm {
    std::shared_ptr<Clique> clique;
    int rank = 0;
    Context *ctx = nullptr;
    uint64_t seq = 0;
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

/* Runs the part of `p`'s stream queued before the call (not the call itself). */
void catch_up(const Place &p) {
    if (p.stream != nullptr) flush_until(p.stream, p.position);
}

/* Moves the data of a matched collective for every rank; returns the failure message, or "" on success. */
std::string perform(const Round &r, int nranks) {
    const Call &c0 = r.calls[0];
    for (int k = 1; k < nranks; k++) {
        if (!r.calls[k].same(c0)) {
            std::string bad = "differs between ranks:";
            for (int q = 0; q < nranks; q++) bad += " rank " + std::to_string(q) + " called " + r.calls[q].describe() + ";";
            return bad;
        }
    }
    size_t n = c0.count;
    int t = c0.type;
    size_t bytes = n * type_size(t);
    switch (c0.kind) {
    case 0: { /* allReduce: reduce into a scratch first, as receive buffers may alias send buffers */
        std::vector<double> acc(n);
        for (size_t i = 0; i < n; i++) {
            double a = load(r.calls[0].send, i, t);
            for (int q = 1; q < nranks; q++) a = reduce(c0.op, a, load(r.calls[q].send, i, t));
            acc[i] = c0.op == OP_AVG ? a / nranks : a;
        }
        for (int q = 0; q < nranks; q++)
            for (size_t i = 0; i < n; i++) store(r.calls[q].recv, i, t, acc[i]);
        break;
    }
    case 1: { /* allGather: count per rank */
        std::vector<unsigned char> all(bytes * nranks);
        for (int q = 0; q < nranks; q++) std::memcpy(all.data() + q * bytes, r.calls[q].send, bytes);
        for (int q = 0; q < nranks; q++) std::memcpy(r.calls[q].recv, all.data(), all.size());
        break;
    }
    case 2: { /* reduceScatter: count per rank of the result */
        std::vector<double> acc(n * nranks);
        for (size_t j = 0; j < n * nranks; j++) {
            double a = load(r.calls[0].send, j, t);
            for (int q = 1; q < nranks; q++) a = reduce(c0.op, a, load(r.calls[q].send, j, t));
            acc[j] = c0.op == OP_AVG ? a / nranks : a;
        }
        for (int q = 0; q < nranks; q++)
            for (size_t i = 0; i < n; i++) store(r.calls[q].recv, i, t, acc[q * n + i]);
        break;
    }
    default: { /* broadcast */
        std::vector<unsigned char> root((const unsigned char *) r.calls[c0.root].send,
                                        (const unsigned char *) r.calls[c0.root].send + bytes);
        for (int q = 0; q < nranks; q++) std::memcpy(r.calls[q].recv, root.data(), bytes);
    }
    }
    return "";
}

/* Runs on whichever thread executes rank `me`'s stream when it reaches collective `seq`. */
CUresult run_collective(std::shared_ptr<Clique> qp, int me, uint64_t seq) {
    Clique &q = *qp;
    std::unique_lock<std::mutex> lk(q.mu);
    std::shared_ptr<Round> r = q.rounds[seq];
    auto until = deadline();
    while (r->count < q.nranks && r->state == State::waiting) {
        if (q.cv.wait_until(lk, until) == std::cv_status::timeout && r->count < q.nranks) {
            std::string missing;
            for (int k = 0; k < q.nranks; k++)
                if (!r->registered[k]) missing += (missing.empty() ? "" : ", ") + std::to_string(k);
            r->state = State::done;
            r->result = CUDA_ERROR_LAUNCH_TIMEOUT;
            r->message = "NCCL collective #" + std::to_string(seq) + " (" + r->calls[me].describe() + " on rank "
                         + std::to_string(me) + "): rank(s) " + missing + " did not call it within "
                         + std::to_string(config().barrier_timeout_ms * 3) + " ms";
            for (auto &e : q.async_errors) e = ncclInvalidUsage;
            q.cv.notify_all();
        }
    }
    if (r->state == State::waiting) {
        r->state = State::running;
        lk.unlock();
        for (int k = 0; k < q.nranks; k++)
            if (k != me) catch_up(r->places[k]);
        std::string bad = perform(*r, q.nranks);
        lk.lock();
        if (!bad.empty()) {
            r->result = CUDA_ERROR_LAUNCH_FAILED;
            r->message = "NCCL collective #" + std::to_string(seq) + " " + bad;
            for (auto &e : q.async_errors) e = ncclInvalidUsage;
        }
        r->state = State::done;
        q.cv.notify_all();
    }
    while (r->state != State::done) q.cv.wait(lk);
    CUresult result = r->result;
    std::string message = r->message;
    if (++r->departed == q.nranks) q.rounds.erase(seq);
    lk.unlock();
    return result == CUDA_SUCCESS ? CUDA_SUCCESS : fail(result, message);
}

/* Runs on whichever thread executes the stream of `me` (sender or receiver) when it reaches the transfer. */
CUresult run_transfer(std::shared_ptr<Clique> qp, std::shared_ptr<Transfer> t, int from, int to, bool sender) {
    Clique &q = *qp;
    std::unique_lock<std::mutex> lk(q.mu);
    auto until = deadline();
    while (!(t->has_send && t->has_recv) && t->state == State::waiting) {
        if (q.cv.wait_until(lk, until) == std::cv_status::timeout && !(t->has_send && t->has_recv)) {
            t->state = State::done;
            t->result = CUDA_ERROR_LAUNCH_TIMEOUT;
            t->message = sender ? "NCCL send from rank " + std::to_string(from) + " to rank " + std::to_string(to)
                                          + ": no matching recv within the timeout"
                                : "NCCL recv on rank " + std::to_string(to) + " from rank " + std::to_string(from)
                                          + ": no matching send within the timeout";
            q.async_errors[sender ? from : to] = ncclInvalidUsage;
            q.cv.notify_all();
        }
    }
    if (t->state == State::waiting) {
        t->state = State::running;
        lk.unlock();
        catch_up(sender ? t->recv_place : t->send_place);
        bool ok = t->send_count == t->recv_count && t->send_type == t->recv_type;
        if (ok) std::memcpy(t->dst, t->src, t->recv_count * type_size(t->recv_type));
        lk.lock();
        if (!ok) {
            t->result = CUDA_ERROR_LAUNCH_FAILED;
            t->message = "NCCL send/recv mismatch: rank " + std::to_string(from) + " sends "
                         + std::to_string(t->send_count) + " elements of type " + std::to_string(t->send_type)
                         + ", rank " + std::to_string(to) + " receives " + std::to_string(t->recv_count)
                         + " of type " + std::to_string(t->recv_type);
            q.async_errors[from] = ncclInvalidUsage;
            q.async_errors[to] = ncclInvalidUsage;
        }
        t->state = State::done;
        q.cv.notify_all();
    }
    while (t->state != State::done) q.cv.wait(lk);
    CUresult result = t->result;
    std::string message = t->message;
    if (++t->departed == 2) {
        Pair &p = q.pairs[{ from, to }];
        for (auto it = p.transfers.begin(); it != p.transfers.end(); ++it) {
            if (it->second == t) {
                p.transfers.erase(it);
                break;
            }
        }
    }
    lk.unlock();
    return result == CUDA_SUCCESS ? CUDA_SUCCESS : fail(result, message);
}

struct P2P {
    bool send;
    int peer;
    void *buf;
    size_t count;
    int type;
};

/* Registers a group of sends and receives of one rank at `place`; returns the closure that runs them in order. */
std::function<CUresult()> register_p2p(Comm *c, const std::vector<P2P> &ops, Place place) {
    Clique &q = *c->clique;
    std::vector<std::pair<std::shared_ptr<Transfer>, P2P>> mine;
    {
        std::lock_guard<std::mutex> lk(q.mu);
        for (const P2P &o : ops) {
            int from = o.send ? c->rank : o.peer;
            int to = o.send ? o.peer : c->rank;
            Pair &p = q.pairs[{ from, to }];
            uint64_t k = o.send ? p.sends++ : p.recvs++;
            std::shared_ptr<Transfer> &t = p.transfers[k];
            if (!t) t = std::make_shared<Transfer>();
            if (o.send) {
                t->src = o.buf;
                t->send_count = o.count;
                t->send_type = o.type;
                t->send_place = place;
                t->has_send = true;
            } else {
                t->dst = o.buf;
                t->recv_count = o.count;
                t->recv_type = o.type;
                t->recv_place = place;
                t->has_recv = true;
            }
            mine.emplace_back(t, o);
        }
        q.cv.notify_all();
    }
    std::shared_ptr<Clique> qp = c->clique;
    int rank = c->rank;
    return [qp, rank, mine]() {
        CUresult result = CUDA_SUCCESS;
        std::string why;
        for (const auto &m : mine) {
            const P2P &o = m.second;
            CUresult r = run_transfer(qp, m.first, o.send ? rank : o.peer, o.send ? o.peer : rank, o.send);
            if (r != CUDA_SUCCESS && result == CUDA_SUCCESS) {
                result = r;
                why = last_message();
            }
        }
        return result == CUDA_SUCCESS ? CUDA_SUCCESS : fail(result, why);
    };
}

struct Pending {
    Comm *comm;
    Stream *stream;
    P2P op;
};
thread_local int tl_group_depth = 0;
thread_local std::vector<Pending> tl_group;

ncclResult_t queue_p2p(Comm *c, Stream *s, const std::vector<P2P> &ops) {
    Place place{ s, queued_ops(s) };
    std::function<CUresult()> run = register_p2p(c, ops, place);
    return enqueue(c->ctx, s, run) == CUDA_SUCCESS ? ncclSuccess : ncclUnhandledCudaError;
}

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
    return queue_p2p(c, (Stream *) stream, { op });
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
    Stream *s = (Stream *) stream;
    uint64_t seq = c->seq++;
    Clique &q = *c->clique;
    {
        std::lock_guard<std::mutex> lk(q.mu);
        std::shared_ptr<Round> &r = q.rounds[seq];
        if (!r) {
            r = std::make_shared<Round>();
            r->calls.resize(q.nranks);
            r->places.resize(q.nranks);
            r->registered.assign(q.nranks, false);
        }
        r->calls[c->rank] = call;
        r->places[c->rank] = Place{ s, queued_ops(s) };
        r->registered[c->rank] = true;
        r->count++;
        q.cv.notify_all();
    }
    std::shared_ptr<Clique> qp = c->clique;
    int rank = c->rank;
    return enqueue(ctx, s, [qp, rank, seq]() { return run_collective(qp, rank, seq); }) == CUDA_SUCCESS
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
            q = std::make_shared<Clique>(nranks);
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
    *e = c->clique->async_errors[c->rank].load();
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
    std::vector<Comm *> order;
    std::map<Comm *, std::pair<Stream *, std::vector<P2P>>> byComm;
    for (const Pending &p : group) {
        auto &e = byComm[p.comm];
        if (e.second.empty()) {
            e.first = p.stream;
            order.push_back(p.comm);
        }
        e.second.push_back(p.op);
    }
    for (Comm *c : order) {
        auto &e = byComm[c];
        if (queue_p2p(c, e.first, e.second) != ncclSuccess) return ncclUnhandledCudaError;
    }
    return ncclSuccess;
}
