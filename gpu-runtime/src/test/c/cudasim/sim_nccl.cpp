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

#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
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


namespace shm {
struct Group;
}

struct Comm {
    std::shared_ptr<Clique> clique;     /* all ranks are threads of this process */
    std::shared_ptr<shm::Group> shared; /* ranks in several processes (clique is then null) */
    int rank = 0;
    int nranks = 0;
    Context *ctx = nullptr;
    uint64_t seq = 0;
    std::vector<uint64_t> sends, recvs; /* across processes: sends to / receives from each peer so far */
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

/* ------------------------------------------------------------------------------------------ ranks in several processes
 *
 * ncclCommInitRank always meets the other ranks first in a rendezvous file named after the unique id,
 * /dev/shm/stoker-cudasim-nccl-<pid>-<n>-<nonce> (the id carries ncclGetUniqueId's process id, a counter and a random
 * nonce). The first rank to arrive creates it exclusively (0600) and sizes it; every rank writes its process id
 * into its own entry and counts itself in. Once all ranks have joined, the file is unlinked (it stays mapped) and
 * each rank looks at the process ids: when they all equal its own, the ranks are threads of one process and the
 * communicator is the in-process clique above, unchanged (the mapping is dropped at once). Otherwise every rank of
 * the group, including ranks that share a process, moves data through the mapping until ncclCommDestroy unmaps it.
 *
 * The mapping holds one entry per rank and one per (sender, receiver) pair, then one data slot per rank and one per
 * pair (config().nccl_slot_bytes each; tmpfs is sparse, so only what a call writes takes memory):
 *  - collective #k: a rank waits until every rank has read round k-1, copies its input and descriptor into its slot,
 *    publishes k+1 in `posted`, waits until every rank has posted k, checks that all descriptors agree (else every
 *    rank fails with every rank's call named), computes its own result from all slots and publishes k+1 in `taken`;
 *  - send #k from a to b: a waits until b took send #k-1 on the pair, copies its data into the pair's slot and
 *    publishes k+1; the receive waits for that, checks count and type, copies, writes its descriptor and a verdict,
 *    and publishes k+1 in `taken`; the send completes once its data is taken (after the group's receives, in a group)
 *    and fails with both calls named when the verdict says they differ.
 * While it waits, a rank publishes what it waits in. A rank that sees a peer wait, for 100 ms without change, in a
 * call that involves it and can never pair with its own (a collective against a send, a send against a send) fails
 * with both calls named; a peer that exits or never calls fails the call after the timeout (3 x
 * barrier_timeout_ms), naming the ranks that did not arrive and what they are doing.
 */
namespace shm {

constexpr int kMaxRanks = 64;
const char kMagic[8] = { 'C', 'S', 'I', 'M', 'N', 'C', 'L', '1' };
enum : int32_t { K_SEND = 4, K_RECV = 5 };

struct Desc {
    int32_t kind = -1; /* 0..3 collectives (Call::kind), K_SEND, K_RECV */
    int32_t type = 0, op = 0, root = 0, peer = 0;
    int32_t too_big = 0;
    uint64_t count = 0;
};

struct RankEntry {
    uint64_t pid;
    uint64_t posted; /* collective seq + 1 whose data is in the slot */
    uint64_t taken;  /* collective seq + 1 this rank has finished reading */
    Desc coll;
    uint64_t waiting; /* odd while the rank waits in `cur` (incremented on entry and exit) */
    Desc cur;
    uint64_t cur_seq;
    uint64_t failed; /* 1 once the rank failed a call (and the group with it); the reason is in `why` */
    char why[488];
};

struct PairEntry {
    uint64_t posted; /* send seq + 1 whose data is in the slot */
    uint64_t taken;  /* send seq + 1 received */
    int32_t verdict; /* of the last receive: 0 matched, 1 differed */
    int32_t pad;
    Desc send;
    Desc recv;
};

struct Header {
    char magic[8];
    int32_t nranks;
    int32_t ready;
    uint64_t slot_bytes;
    uint64_t joined;
    uint64_t size;
};

size_t page_up(size_t n) { return (n + 4095) & ~size_t(4095); }
size_t ranks_offset() { return page_up(sizeof(Header)); }
size_t pairs_offset(int n) { return ranks_offset() + sizeof(RankEntry) * n; }
size_t data_offset(int n) { return page_up(pairs_offset(n) + sizeof(PairEntry) * n * n); }
size_t file_size(int n, size_t slot) { return data_offset(n) + slot * (size_t) (n + n * n); }

uint64_t ld(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void st(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

std::string describe(const Desc &d) {
    char b[200];
    if (d.kind == K_SEND || d.kind == K_RECV) {
        snprintf(b, sizeof b, "%s(count=%llu, type=%d, peer=%d)", d.kind == K_SEND ? "send" : "recv",
                 (unsigned long long) d.count, d.type, d.peer);
    } else {
        snprintf(b, sizeof b, "%s(count=%llu, type=%d, op=%d, root=%d)", kind_name(d.kind),
                 (unsigned long long) d.count, d.type, d.op, d.root);
    }
    return b;
}

Desc of(const Call &c) {
    Desc d;
    d.kind = c.kind;
    d.type = c.type;
    d.op = c.op;
    d.root = c.root;
    d.count = c.count;
    return d;
}

struct Group {
    void *base = nullptr;
    size_t size = 0;
    int nranks = 0;
    size_t slot = 0;
    std::string path;
    std::atomic<bool> broken{ false };
    std::atomic<int> async_errors[kMaxRanks] = {}; /* of this process's ranks */
    std::mutex mu;
    std::string broken_why;

    ~Group() {
        if (base != nullptr) munmap(base, size);
    }
    Header *header() { return (Header *) base; }
    RankEntry *rank(int r) { return (RankEntry *) ((char *) base + ranks_offset()) + r; }
    PairEntry *pair(int from, int to) { return (PairEntry *) ((char *) base + pairs_offset(nranks)) + from * nranks + to; }
    unsigned char *rank_slot(int r) { return (unsigned char *) base + data_offset(nranks) + slot * r; }
    unsigned char *pair_slot(int from, int to) {
        return (unsigned char *) base + data_offset(nranks) + slot * (size_t) (nranks + from * nranks + to);
    }
    /* Fails the group for this process and tells the other processes why (they may wait in calls of their own). */
    void mark_broken(int me, const std::string &why) {
        std::lock_guard<std::mutex> lk(mu);
        if (!broken.exchange(true)) broken_why = why;
        RankEntry *e = rank(me);
        if (ld(&e->failed) == 0) {
            snprintf(e->why, sizeof e->why, "%s", why.c_str());
            st(&e->failed, 1);
        }
    }
};

/* What rank `me` waits in, published for its peers while it waits. */
struct Waiting {
    RankEntry *e;
    Waiting(RankEntry *entry, const Desc &d, uint64_t seq) : e(entry) {
        e->cur = d;
        e->cur_seq = seq;
        __atomic_fetch_add(&e->waiting, 1, __ATOMIC_RELEASE);
    }
    ~Waiting() { __atomic_fetch_add(&e->waiting, 1, __ATOMIC_RELEASE); }
};

bool involves(const Desc &d, int peer_of_d, int me) {
    (void) peer_of_d;
    return d.kind < K_SEND || d.peer == me;
}

/* Can `mine` (rank me) and `theirs` (rank q) never complete together, both waiting as they are? */
bool never_pair(const Desc &mine, int me, const Desc &theirs, int q) {
    bool mine_p2p = mine.kind >= K_SEND, theirs_p2p = theirs.kind >= K_SEND;
    if (!involves(mine, me, q) || !involves(theirs, q, me)) return false;
    if (!mine_p2p && !theirs_p2p) return false; /* both in collectives: the descriptors are compared instead */
    if (mine_p2p != theirs_p2p) return true;
    return mine.kind == theirs.kind; /* send against send, recv against recv */
}

bool alive(uint64_t pid) { return pid == 0 || kill((pid_t) pid, 0) == 0 || errno != ESRCH; }

/* Waits until `done()`; fails with a message on timeout, on a peer that can never pair, or on a dead peer. `missing`
 * lists the ranks still awaited (for the timeout message). */
CUresult wait_for(Group &g, int me, const Desc &mine, uint64_t seq, const std::string &what,
                  const std::function<bool()> &done, const std::function<std::vector<int>()> &missing) {
    if (done()) return CUDA_SUCCESS;
    Waiting w(g.rank(me), mine, seq);
    auto start = std::chrono::steady_clock::now();
    auto until = start + std::chrono::milliseconds(config().barrier_timeout_ms * 3);
    std::vector<uint64_t> seen(g.nranks, 0);
    std::vector<std::chrono::steady_clock::time_point> since(g.nranks, start);
    unsigned spins = 0;
    while (!done()) {
        if (g.broken.load()) {
            std::lock_guard<std::mutex> lk(g.mu);
            return fail(CUDA_ERROR_LAUNCH_FAILED, what + ": the communicator failed earlier: " + g.broken_why);
        }
        auto now = std::chrono::steady_clock::now();
        if (++spins < 64) {
            sched_yield();
            continue;
        }
        usleep(spins < 1024 ? 50 : 500);
        if ((spins & 15) != 0) continue;
        for (int q = 0; q < g.nranks; q++) {
            if (q == me) continue;
            RankEntry *e = g.rank(q);
            if (ld(&e->failed) != 0) {
                std::string m = what + " on rank " + std::to_string(me) + ": rank " + std::to_string(q) + " failed: "
                                + std::string(e->why, strnlen(e->why, sizeof e->why));
                g.mark_broken(me, m);
                return fail(CUDA_ERROR_LAUNCH_FAILED, m);
            }
            if (!alive(ld(&e->pid))) {
                std::string m = what + ": rank " + std::to_string(q) + " (process " + std::to_string(ld(&e->pid))
                                + ") exited";
                g.mark_broken(me, m);
                return fail(CUDA_ERROR_LAUNCH_FAILED, m);
            }
            uint64_t w1 = ld(&e->waiting);
            Desc theirs = e->cur;
            uint64_t w2 = ld(&e->waiting);
            if (w1 != w2 || (w1 & 1) == 0) {
                seen[q] = 0;
                continue;
            }
            if (seen[q] != w1) {
                seen[q] = w1;
                since[q] = now;
                continue;
            }
            if (now - since[q] >= std::chrono::milliseconds(100) && never_pair(mine, me, theirs, q)) {
                std::string m = "NCCL calls do not match between ranks: rank " + std::to_string(me) + " called "
                                + describe(mine) + "; rank " + std::to_string(q) + " called " + describe(theirs)
                                + "; every rank must make the same calls in the same order";
                g.mark_broken(me, m);
                return fail(CUDA_ERROR_LAUNCH_FAILED, m);
            }
        }
        if (now > until) {
            std::string who;
            for (int q : missing()) {
                RankEntry *e = g.rank(q);
                uint64_t w1 = ld(&e->waiting);
                Desc theirs = e->cur;
                who += (who.empty() ? "" : ", ") + std::to_string(q)
                       + ((w1 & 1) ? " (waiting in " + describe(theirs) + ")" : " (in no NCCL call)");
            }
            std::string m = what + " on rank " + std::to_string(me) + ": rank(s) " + who + " did not call it within "
                            + std::to_string(config().barrier_timeout_ms * 3) + " ms";
            g.mark_broken(me, m);
            return fail(CUDA_ERROR_LAUNCH_TIMEOUT, m);
        }
    }
    return CUDA_SUCCESS;
}

/* Creates or opens the rendezvous file of `key`, joins rank `rank` and waits for the others. */
ncclResult_t join(const std::string &key, int nranks, int rank, std::shared_ptr<Group> *out, bool *all_local,
                  std::string *why) {
    for (char ch : key) {
        if (!isalnum((unsigned char) ch) && ch != '-') {
            *why = "not an NCCL unique id of the simulator";
            return ncclInvalidArgument;
        }
    }
    if (nranks > kMaxRanks) {
        *why = "the simulator supports at most " + std::to_string(kMaxRanks) + " ranks";
        return ncclInvalidArgument;
    }
    auto g = std::make_shared<Group>();
    g->path = "/dev/shm/stoker-" + key;
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(config().barrier_timeout_ms * 3);
    int fd = open(g->path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        g->nranks = nranks;
        g->slot = config().nccl_slot_bytes;
        g->size = file_size(nranks, g->slot);
        if (ftruncate(fd, (off_t) g->size) != 0
            || (g->base = mmap(nullptr, g->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
            *why = "cannot create " + g->path + ": " + strerror(errno) + " (is /dev/shm full?)";
            g->base = nullptr;
            close(fd);
            unlink(g->path.c_str());
            return ncclSystemError;
        }
        close(fd);
        Header *h = g->header();
        std::memcpy(h->magic, kMagic, sizeof kMagic);
        h->nranks = nranks;
        h->slot_bytes = g->slot;
        h->size = g->size;
        __atomic_store_n(&h->ready, 1, __ATOMIC_RELEASE);
    } else if (errno == EEXIST) {
        while (true) {
            fd = open(g->path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
            struct stat st;
            if (fd >= 0 && fstat(fd, &st) == 0) {
                if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
                    close(fd);
                    *why = g->path + " is not a private file of this user";
                    return ncclSystemError;
                }
                if ((size_t) st.st_size >= sizeof(Header)) {
                    void *m = mmap(nullptr, sizeof(Header), PROT_READ, MAP_SHARED, fd, 0);
                    if (m != MAP_FAILED) {
                        const Header *h = (const Header *) m;
                        bool ready = __atomic_load_n(&h->ready, __ATOMIC_ACQUIRE) == 1
                                     && std::memcmp(h->magic, kMagic, sizeof kMagic) == 0;
                        int n = h->nranks;
                        size_t slot = h->slot_bytes, size = h->size;
                        munmap(m, sizeof(Header));
                        if (ready) {
                            if (n != nranks) {
                                close(fd);
                                *why = "rank " + std::to_string(rank) + " says the group has " + std::to_string(nranks)
                                       + " ranks, but the rank that created it said " + std::to_string(n);
                                return ncclInvalidUsage;
                            }
                            g->nranks = n;
                            g->slot = slot;
                            g->size = size;
                            if ((size_t) st.st_size < size
                                || (g->base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
                                g->base = nullptr;
                                close(fd);
                                *why = "cannot map " + g->path + ": " + strerror(errno);
                                return ncclSystemError;
                            }
                            close(fd);
                            break;
                        }
                    }
                }
            }
            if (fd >= 0) close(fd);
            if (std::chrono::steady_clock::now() > until) {
                *why = "rank " + std::to_string(rank) + ": " + g->path + " was not set up within the timeout";
                return ncclSystemError;
            }
            usleep(1000);
        }
    } else {
        *why = "cannot create " + g->path + ": " + strerror(errno);
        return ncclSystemError;
    }
    RankEntry *mine = g->rank(rank);
    uint64_t expected = 0;
    if (!__atomic_compare_exchange_n(&mine->pid, &expected, (uint64_t) getpid(), false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        *why = "rank " + std::to_string(rank) + " has already joined (process " + std::to_string(expected) + ")";
        return ncclInvalidUsage;
    }
    Header *h = g->header();
    __atomic_fetch_add(&h->joined, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&h->joined, __ATOMIC_ACQUIRE) < (uint64_t) nranks) {
        if (std::chrono::steady_clock::now() > until) {
            std::string missing;
            for (int q = 0; q < nranks; q++)
                if (ld(&g->rank(q)->pid) == 0) missing += (missing.empty() ? "" : ", ") + std::to_string(q);
            st(&mine->pid, 0);
            __atomic_sub_fetch(&h->joined, 1, __ATOMIC_ACQ_REL);
            unlink(g->path.c_str()); /* the group cannot form: leave nothing behind (later ranks time out too) */
            *why = "ncclCommInitRank of rank " + std::to_string(rank) + ": rank(s) " + missing + " did not join within "
                   + std::to_string(config().barrier_timeout_ms * 3) + " ms";
            return ncclSystemError;
        }
        usleep(200);
    }
    unlink(g->path.c_str()); /* every rank has it mapped; nothing is left behind on /dev/shm */
    *all_local = true;
    for (int q = 0; q < nranks; q++) *all_local &= ld(&g->rank(q)->pid) == (uint64_t) getpid();
    *out = *all_local ? nullptr : g;
    return ncclSuccess;
}

/* Collective `seq` of rank `me`, on its stream. */
CUresult collective(const std::shared_ptr<Group> &gp, int me, uint64_t seq, const Call &call) {
    Group &g = *gp;
    int n = g.nranks;
    std::string what = "NCCL collective #" + std::to_string(seq) + " (" + call.describe() + ")";
    Desc mine = of(call);
    size_t bytes = call.count * type_size(call.type) * (call.kind == 2 ? n : 1);
    if (call.kind == 3 && call.root != me) bytes = 0;
    auto all = [&g, n](uint64_t RankEntry::*field, uint64_t v) {
        return [&g, n, field, v]() {
            for (int q = 0; q < n; q++)
                if (ld(&(g.rank(q)->*field)) < v) return false;
            return true;
        };
    };
    auto behind = [&g, n](uint64_t RankEntry::*field, uint64_t v) {
        return [&g, n, field, v]() {
            std::vector<int> m;
            for (int q = 0; q < n; q++)
                if (ld(&(g.rank(q)->*field)) < v) m.push_back(q);
            return m;
        };
    };
    CUresult r = wait_for(g, me, mine, seq, what, all(&RankEntry::taken, seq), behind(&RankEntry::taken, seq));
    if (r != CUDA_SUCCESS) return r;
    RankEntry *e = g.rank(me);
    mine.too_big = bytes > g.slot;
    if (!mine.too_big && bytes > 0) std::memcpy(g.rank_slot(me), call.send, bytes);
    e->coll = mine;
    st(&e->posted, seq + 1);
    r = wait_for(g, me, mine, seq, what, all(&RankEntry::posted, seq + 1), behind(&RankEntry::posted, seq + 1));
    if (r != CUDA_SUCCESS) return r;
    std::string bad;
    Round round;
    round.calls.resize(n);
    for (int q = 0; q < n; q++) {
        const Desc &d = g.rank(q)->coll;
        Call c;
        c.kind = d.kind;
        c.count = d.count;
        c.type = d.type;
        c.op = d.op;
        c.root = d.root;
        c.send = g.rank_slot(q);
        c.recv = nullptr;
        round.calls[q] = c;
        if (d.too_big) {
            bad += " rank " + std::to_string(q) + "'s " + describe(d) + " needs more than the "
                   + std::to_string(g.slot) + " bytes of a shared-memory slot (raise the simulator option"
                   " nccl_slot_bytes);";
        }
    }
    if (bad.empty()) {
        for (int q = 1; q < n && bad.empty(); q++) {
            if (!round.calls[q].same(round.calls[0])) {
                bad = " differs between ranks:";
                for (int k = 0; k < n; k++) bad += " rank " + std::to_string(k) + " called " + round.calls[k].describe() + ";";
            }
        }
    }
    if (bad.empty()) {
        /* perform() writes every rank's recv: give the others a scratch buffer, keep only ours */
        size_t out = call.count * type_size(call.type) * (call.kind == 1 ? n : 1);
        std::vector<std::vector<unsigned char>> scratch(n);
        for (int q = 0; q < n; q++) {
            if (q == me) {
                round.calls[q].recv = call.recv;
            } else {
                scratch[q].resize(out);
                round.calls[q].recv = scratch[q].data();
            }
        }
        bad = perform(round, n);
    }
    st(&e->taken, seq + 1);
    if (!bad.empty()) return fail(CUDA_ERROR_LAUNCH_FAILED, "NCCL collective #" + std::to_string(seq) + bad);
    return CUDA_SUCCESS;
}

/* The sends and receives of one rank's group (or a single call), on its stream: sends are posted first. */
CUresult p2p(const std::shared_ptr<Group> &gp, int me, const std::vector<P2P> &ops, const std::vector<uint64_t> &seqs) {
    Group &g = *gp;
    CUresult result = CUDA_SUCCESS;
    std::string why;
    auto note = [&](CUresult r) {
        if (r != CUDA_SUCCESS && result == CUDA_SUCCESS) {
            result = r;
            why = last_message();
        }
    };
    auto desc = [](const P2P &o) {
        Desc d;
        d.kind = o.send ? K_SEND : K_RECV;
        d.count = o.count;
        d.type = o.type;
        d.peer = o.peer;
        return d;
    };
    for (size_t i = 0; i < ops.size() && result == CUDA_SUCCESS; i++) {
        const P2P &o = ops[i];
        if (!o.send) continue;
        uint64_t k = seqs[i];
        PairEntry *p = g.pair(me, o.peer);
        Desc d = desc(o);
        std::string what = "NCCL send #" + std::to_string(k) + " from rank " + std::to_string(me) + " to rank "
                           + std::to_string(o.peer) + " (" + describe(d) + ")";
        int peer = o.peer;
        CUresult r = wait_for(g, me, d, k, what, [p, k]() { return ld(&p->taken) >= k; },
                              [peer]() { return std::vector<int>{ peer }; });
        if (r == CUDA_SUCCESS) {
            size_t bytes = o.count * type_size(o.type);
            d.too_big = bytes > g.slot;
            if (!d.too_big) std::memcpy(g.pair_slot(me, o.peer), o.buf, bytes);
            p->send = d;
            st(&p->posted, k + 1);
        }
        note(r);
    }
    for (size_t i = 0; i < ops.size() && result == CUDA_SUCCESS; i++) {
        const P2P &o = ops[i];
        if (o.send) continue;
        uint64_t k = seqs[i];
        PairEntry *p = g.pair(o.peer, me);
        Desc d = desc(o);
        std::string what = "NCCL recv #" + std::to_string(k) + " on rank " + std::to_string(me) + " from rank "
                           + std::to_string(o.peer) + " (" + describe(d) + ")";
        int peer = o.peer;
        CUresult r = wait_for(g, me, d, k, what, [p, k]() { return ld(&p->posted) >= k + 1; },
                              [peer]() { return std::vector<int>{ peer }; });
        if (r == CUDA_SUCCESS) {
            Desc s = p->send;
            bool ok = !s.too_big && s.count == d.count && s.type == d.type;
            if (ok) std::memcpy(o.buf, g.pair_slot(o.peer, me), o.count * type_size(o.type));
            p->recv = d;
            p->verdict = ok ? 0 : 1;
            st(&p->taken, k + 1);
            if (!ok) {
                r = fail(CUDA_ERROR_LAUNCH_FAILED, "NCCL send/recv mismatch: rank " + std::to_string(o.peer) + " called "
                         + describe(s) + (s.too_big ? " (larger than the shared-memory slot: raise the simulator option"
                                                      " nccl_slot_bytes)" : "")
                         + "; rank " + std::to_string(me) + " called " + describe(d));
            }
        }
        note(r);
    }
    for (size_t i = 0; i < ops.size() && result == CUDA_SUCCESS; i++) {
        const P2P &o = ops[i];
        if (!o.send) continue;
        uint64_t k = seqs[i];
        PairEntry *p = g.pair(me, o.peer);
        Desc d = desc(o);
        std::string what = "NCCL send #" + std::to_string(k) + " from rank " + std::to_string(me) + " to rank "
                           + std::to_string(o.peer) + " (" + describe(d) + ")";
        int peer = o.peer;
        CUresult r = wait_for(g, me, d, k, what, [p, k]() { return ld(&p->taken) >= k + 1; },
                              [peer]() { return std::vector<int>{ peer }; });
        if (r == CUDA_SUCCESS && __atomic_load_n(&p->verdict, __ATOMIC_ACQUIRE) != 0) {
            r = fail(CUDA_ERROR_LAUNCH_FAILED, "NCCL send/recv mismatch: rank " + std::to_string(me) + " called "
                     + describe(p->send) + "; rank " + std::to_string(o.peer) + " called " + describe(p->recv));
        }
        note(r);
    }
    return result == CUDA_SUCCESS ? CUDA_SUCCESS : fail(result, why);
}

} // namespace shm

struct Pending {
    Comm *comm;
    Stream *stream;
    P2P op;
};
thread_local int tl_group_depth = 0;
thread_local std::vector<Pending> tl_group;

ncclResult_t queue_p2p(Comm *c, Stream *s, const std::vector<P2P> &ops) {
    if (c->shared) {
        std::vector<uint64_t> seqs;
        for (const P2P &o : ops) seqs.push_back(o.send ? c->sends[o.peer]++ : c->recvs[o.peer]++);
        std::shared_ptr<shm::Group> g = c->shared;
        int rank = c->rank;
        return enqueue(c->ctx, s, [g, rank, ops, seqs]() {
                   CUresult r = shm::p2p(g, rank, ops, seqs);
                   if (r != CUDA_SUCCESS) g->async_errors[rank] = ncclInvalidUsage;
                   return r;
               }) == CUDA_SUCCESS ? ncclSuccess : ncclUnhandledCudaError;
    }
    Place place{ s, queued_ops(s) };
    std::function<CUresult()> run = register_p2p(c, ops, place);
    return enqueue(c->ctx, s, run) == CUDA_SUCCESS ? ncclSuccess : ncclUnhandledCudaError;
}

ncclResult_t submit_p2p(Comm *c, void *stream, P2P op) {
    Context *ctx;
    if (require_context(&ctx) != CUDA_SUCCESS || ctx != c->ctx) return ncclInvalidUsage;
    if (!valid_stream(ctx, (Stream *) stream)) return ncclInvalidArgument;
    if (op.peer < 0 || op.peer >= c->nranks || type_size(op.type) == 0) return ncclInvalidArgument;
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
    if (call.kind == 3 && (call.root < 0 || call.root >= c->nranks)) return ncclInvalidArgument;
    bool sendOk = sendBytes == 0 || find_allocation(call.send, sendBytes, MemKind::device, nullptr)
                  || (call.kind == 3 && c->rank != call.root);
    if (!sendOk || (recvBytes > 0 && !find_allocation(call.recv, recvBytes, MemKind::device, nullptr))) {
        fail(CUDA_ERROR_INVALID_VALUE, "NCCL buffer is not inside one device allocation");
        return ncclInvalidArgument;
    }
    Stream *s = (Stream *) stream;
    uint64_t seq = c->seq++;
    if (c->shared) {
        std::shared_ptr<shm::Group> g = c->shared;
        int rank = c->rank;
        return enqueue(ctx, s, [g, rank, seq, call]() {
                   CUresult r = shm::collective(g, rank, seq, call);
                   if (r != CUDA_SUCCESS) g->async_errors[rank] = ncclInvalidUsage;
                   return r;
               }) == CUDA_SUCCESS ? ncclSuccess : ncclUnhandledCudaError;
    }
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
    uint64_t nonce = (uint64_t) std::chrono::steady_clock::now().time_since_epoch().count();
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        uint64_t v = 0;
        if (read(fd, &v, sizeof v) == (ssize_t) sizeof v) nonce ^= v;
        close(fd);
    }
    /* the process, a counter and a random nonce: names the rendezvous file of ncclCommInitRank (shm::join) */
    snprintf(id->internal, sizeof id->internal, "cudasim-nccl-%d-%llu-%016llx", (int) getpid(),
             (unsigned long long) n, (unsigned long long) nonce);
    return ncclSuccess;
}

namespace {
thread_local std::string tl_nccl_error;

ncclResult_t nccl_error(ncclResult_t r, const std::string &why) {
    tl_nccl_error = why;
    return r;
}
} // namespace

/* The message behind the last failed call of this thread (as NCCL's own ncclGetLastError). */
EXPORT const char *ncclGetLastError(Comm *) {
    return tl_nccl_error.c_str();
}

/* Meets the other ranks in the group's rendezvous file (shm::join); when they are all threads of this process the
 * communicator is an in-process clique, otherwise its ranks move data through shared memory. */
EXPORT ncclResult_t ncclCommInitRank(Comm **out, int nranks, UniqueId id, int rank) {
    Context *ctx;
    if (require_context(&ctx) != CUDA_SUCCESS) return ncclUnhandledCudaError;
    if (nranks < 1 || rank < 0 || rank >= nranks) {
        return nccl_error(ncclInvalidArgument, "rank " + std::to_string(rank) + " of " + std::to_string(nranks));
    }
    std::string key(id.internal, strnlen(id.internal, sizeof id.internal));
    std::shared_ptr<shm::Group> shared;
    bool all_local = false;
    std::string why;
    ncclResult_t joined = shm::join(key, nranks, rank, &shared, &all_local, &why);
    if (joined != ncclSuccess) return nccl_error(joined, why);
    Comm *c = new Comm();
    c->rank = rank;
    c->nranks = nranks;
    c->ctx = ctx;
    if (!all_local) {
        c->shared = shared;
        c->sends.assign(nranks, 0);
        c->recvs.assign(nranks, 0);
        *out = c;
        return ncclSuccess;
    }
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
    if (q->nranks != nranks) {
        delete c;
        return nccl_error(ncclInvalidUsage, "the group has " + std::to_string(q->nranks) + " ranks, not " + std::to_string(nranks));
    }
    q->joined++;
    q->cv.notify_all();
    auto until = deadline();
    while (q->joined < nranks) {
        if (q->cv.wait_until(lk, until) == std::cv_status::timeout && q->joined < nranks) {
            q->joined--;
            delete c;
            return nccl_error(ncclSystemError, "ncclCommInitRank of rank " + std::to_string(rank) + ": the other ranks"
                              " did not join within the timeout");
        }
    }
    c->clique = q;
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
    *n = c->nranks;
    return ncclSuccess;
}

EXPORT ncclResult_t ncclCommUserRank(const Comm *c, int *r) {
    *r = c->rank;
    return ncclSuccess;
}

EXPORT ncclResult_t ncclCommGetAsyncError(Comm *c, ncclResult_t *e) {
    *e = c->clique ? c->clique->async_errors[c->rank].load() : c->shared->async_errors[c->rank].load();
    return ncclSuccess;
}

EXPORT ncclResult_t ncclAllReduce(const void *send, void *recv, size_t count, int type, int op, Comm *c, void *s) {
    size_t b = count * type_size(type);
    return submit_collective(c, s, Call{ 0, count, type, op, 0, send, recv }, b, b);
}

EXPORT ncclResult_t ncclAllGather(const void *send, void *recv, size_t count, int type, Comm *c, void *s) {
    size_t b = count * type_size(type);
    return submit_collective(c, s, Call{ 1, count, type, 0, 0, send, recv }, b, b * c->nranks);
}

EXPORT ncclResult_t ncclReduceScatter(const void *send, void *recv, size_t count, int type, int op, Comm *c, void *s) {
    size_t b = count * type_size(type);
    return submit_collective(c, s, Call{ 2, count, type, op, 0, send, recv }, b * c->nranks, b);
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
