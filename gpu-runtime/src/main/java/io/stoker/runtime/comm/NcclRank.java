package io.stoker.runtime.comm;

import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaEvent;
import io.stoker.runtime.cuda.CudaStream;
import io.stoker.runtime.cuda.NcclComm;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * One rank of an {@link NcclCommunicator} on its device thread: the NCCL communicator, the rank's communication
 * stream, the operations agreed on but not yet issued (in ticket order), sends whose source is freed once done, and
 * a pool of ordering events.
 *
 * <p>Thread-safety: {@link #queue} is filled by any thread (under the communicator's sequencer lock, so in ticket
 * order) and drained by the owner thread; everything else is confined to the device's owner thread.
 */
final class NcclRank {
    private static final Logger LOG = LoggerFactory.getLogger(NcclRank.class);

    final int rank;
    final CudaDevice device;
    final NcclComm comm;
    /** Where this rank's NCCL operations run, ordered with the device's main stream by events. */
    final CudaStream stream;
    final ConcurrentLinkedQueue<NcclOp> queue = new ConcurrentLinkedQueue<>();
    private final ArrayDeque<CudaEvent> events = new ArrayDeque<>();
    private final List<NcclOp.Send> sending = new ArrayList<>();
    private boolean left;

    NcclRank(int rank, CudaDevice device, NcclComm comm, CudaStream stream) {
        this.rank = rank;
        this.device = device;
        this.comm = comm;
        this.stream = stream;
    }

    boolean onOwnerThread() {
        return Thread.currentThread() == device.owner();
    }

    /** An event for ordering, from the pool (owner thread). */
    CudaEvent takeEvent() {
        CudaEvent e = events.poll();
        return e != null ? e : device.newSyncEvent();
    }

    /** Returns an event whose recorded point has been captured by every wait that needs it. */
    void releaseEvent(CudaEvent e) {
        if (e != null) {
            events.push(e);
        }
    }

    /** An event recorded now on the device's main stream: "everything queued so far". */
    CudaEvent markMain() {
        CudaEvent e = takeEvent();
        e.record(device.stream());
        return e;
    }

    /**
     * Issues every operation agreed on so far, in ticket order, and frees the sources of finished sends. Does
     * nothing on another thread (a waiting thread that is not the rank's own).
     */
    void drain() {
        if (left || !onOwnerThread()) {
            return;
        }
        NcclOp op;
        while ((op = queue.poll()) != null) {
            try {
                op.issue(this);
            } catch (RuntimeException e) {
                op.failure = e;
                LOG.error("NCCL rank {} could not issue {}: {}", rank, op, e.toString());
            }
            op.issued = true; // volatile: publishes what issue() set
        }
        reapSends(false);
    }

    void sent(NcclOp.Send s) {
        sending.add(s);
    }

    /** Frees the source of every send that has completed; with {@code wait}, waits for matched sends first. */
    void reapSends(boolean wait) {
        for (Iterator<NcclOp.Send> it = sending.iterator(); it.hasNext(); ) {
            NcclOp.Send s = it.next();
            // A send completes only once its receive is posted; asking before that would wait (on the simulator).
            if (!s.recv.issued) {
                continue;
            }
            if (wait) {
                s.done.synchronize();
            } else if (!s.done.isDone()) {
                continue;
            }
            s.finish(this);
            it.remove();
        }
    }

    /**
     * Issues what is left, waits for this rank's communication, and destroys its NCCL communicator (aborts it when a
     * send was never received, which would otherwise block the stream forever). Owner thread.
     */
    void leave() {
        drain();
        reapSends(true);
        boolean stuck = !sending.isEmpty();
        if (!stuck) {
            stream.synchronize();
        }
        left = true;
        for (CudaEvent e : events) {
            e.close();
        }
        events.clear();
        if (stuck) {
            LOG.warn("NCCL rank {}: {} send(s) were never received; aborting its communicator", rank, sending.size());
            comm.abort();
        } else {
            comm.close();
        }
        stream.close();
    }

    @Override
    public String toString() {
        return "NCCL rank " + rank + " on device " + device.ordinal();
    }
}
