package io.stoker.runtime.comm;

import io.stoker.runtime.cuda.CudaDataType;
import io.stoker.runtime.cuda.CudaEvent;
import io.stoker.runtime.cuda.DeviceArray;

/**
 * One rank's part of one NCCL operation that the ranks have agreed on and that has its place (ticket) in the
 * communicator's global order. {@link NcclRank#drain()} issues it on the rank's communication stream: the stream
 * first waits for the point of the main stream where the input was ready, then runs the NCCL call, then records
 * {@link #done}, for which the main stream waits before it uses the result.
 *
 * <p>Thread-safety: created and issued on the rank's owner thread; {@link #issued} is read by other threads.
 */
abstract class NcclOp {
    long ticket;
    /** Written by the owner thread after {@link #issue}; a volatile write publishing {@link #done}/{@link #failure}. */
    volatile boolean issued;
    CudaEvent done;
    RuntimeException failure;

    abstract void issue(NcclRank r);

    /** The rank's communication stream waits for {@code ready}, which is then given back. */
    static void waitOn(NcclRank r, CudaEvent ready) {
        r.stream.waitFor(ready);
        r.releaseEvent(ready);
    }

    /** Records {@link #done} on the communication stream after the NCCL call just enqueued. */
    final void recordDone(NcclRank r) {
        done = r.takeEvent();
        done.record(r.stream);
    }

    /** The rank's main stream waits for {@link #done}, which is then given back (owner thread). */
    final void mainWaitsForDone(NcclRank r) {
        r.device.stream().waitFor(done);
        r.releaseEvent(done);
        done = null;
    }

    /** A collective of one rank. */
    static final class Collective extends NcclOp {
        final int rank;
        final int world;
        final CollectiveKind kind;
        final ReduceOp op;
        final DeviceArray input;
        final DeviceArray output;
        final boolean inPlace;
        /** A graph node's call: the input is the node's to free (in place for allreduce). */
        final boolean consumesInput;
        CudaEvent inputReady;

        Collective(int rank, int world, CollectiveKind kind, ReduceOp op, DeviceArray input, DeviceArray output,
                   boolean inPlace, boolean consumesInput, CudaEvent inputReady) {
            this.rank = rank;
            this.world = world;
            this.kind = kind;
            this.op = op;
            this.input = input;
            this.output = output;
            this.inPlace = inPlace;
            this.consumesInput = consumesInput;
            this.inputReady = inputReady;
        }

        @Override
        void issue(NcclRank r) {
            waitOn(r, inputReady);
            inputReady = null;
            switch (kind) {
                case ALLREDUCE -> r.comm.allReduce(input.buffer(), output.buffer(), input.count(), input.type(), op,
                        r.stream);
                case ALLGATHER -> r.comm.allGather(input.buffer(), output.buffer(), input.count(), input.type(),
                        r.stream);
                case REDUCESCATTER -> r.comm.reduceScatter(input.buffer(), output.buffer(), input.count() / world,
                        input.type(), op, r.stream);
            }
            recordDone(r);
        }

        /** The main stream waits for the result; returns it (owner thread, after {@link #issued}). */
        DeviceArray complete(NcclRank r) {
            mainWaitsForDone(r);
            if (consumesInput && !inPlace) {
                input.close(); // stream-ordered: the main stream now waits for the operation that reads it
            }
            return output;
        }

        /** Gives back what the call held when it will never be issued (owner thread). */
        void abandon(NcclRank r) {
            if (r != null) {
                r.releaseEvent(inputReady);
                inputReady = null;
            }
            if (!inPlace) {
                output.close();
            }
            if (consumesInput) {
                input.close();
            }
        }

        String describe() {
            return kind.label() + "(" + (kind == CollectiveKind.ALLGATHER ? "" : op + ", ") + input.count() + " x "
                    + input.type() + ")";
        }

        @Override
        public String toString() {
            return "rank " + rank + " " + describe() + " #" + ticket;
        }
    }

    /**
     * The sending half of a point-to-point transfer. With its {@link Recv} (an {@link NcclChannel} in this JVM) the
     * send owns its source, which is freed on the sender once the send is done. Without one (a send to a rank in
     * another JVM, {@link NcclCommunicator#sendTo}) the caller keeps its array, and the main stream waits for the send
     * before anything queued after it may reuse or free the array.
     */
    static final class Send extends NcclOp {
        final DeviceArray source;
        final int peer;
        /** The matching receive in this JVM, or null for a peer in another JVM. */
        final Recv recv;
        CudaEvent ready;

        Send(DeviceArray source, int peer, Recv recv, CudaEvent ready) {
            this.source = source;
            this.peer = peer;
            this.recv = recv;
            this.ready = ready;
        }

        @Override
        void issue(NcclRank r) {
            waitOn(r, ready);
            ready = null;
            r.comm.send(source.buffer(), source.count(), source.type(), peer, r.stream);
            recordDone(r);
            if (recv != null) {
                r.sent(this);
            }
        }

        void finish(NcclRank r) {
            r.releaseEvent(done);
            done = null;
            source.close();
        }

        @Override
        public String toString() {
            return "send of " + source.count() + " x " + source.type() + " to " + (recv == null ? "NCCL rank " : "rank ")
                    + peer + " #" + ticket;
        }
    }

    /** The receiving half: a buffer allocated on the receiver when it is issued. */
    static final class Recv extends NcclOp {
        final int peer;
        final CudaDataType type;
        final long count;
        final String name;
        DeviceArray output;

        Recv(int peer, CudaDataType type, long count, String name) {
            this.peer = peer;
            this.type = type;
            this.count = count;
            this.name = name;
        }

        @Override
        void issue(NcclRank r) {
            output = DeviceArray.allocate(r.device, type, count, name);
            CudaEvent free = r.markMain(); // the pool may hand out memory the main stream used until now
            waitOn(r, free);
            r.comm.recv(output.buffer(), count, type, peer, r.stream);
            recordDone(r);
        }

        /** The main stream waits for the data; returns it, owned by the caller (owner thread). */
        DeviceArray complete(NcclRank r) {
            mainWaitsForDone(r);
            DeviceArray out = output;
            output = null;
            return out;
        }

        @Override
        public String toString() {
            return "recv of " + count + " x " + type + " from rank " + peer + " #" + ticket;
        }
    }
}
