package io.stoker.runtime.graph;

import io.stoker.runtime.channel.CudaIpcChannel;
import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.DeviceArray;

import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;

/**
 * The sending end of a cross-process edge on one host: a {@link CudaIpcChannel.Writer} on the sending actor's device,
 * driven by the {@code sendTo} task. {@link #send} queues a copy of the array into a free slot of the receiver's
 * memory on the device's stream, frees the array (it was moved into the edge; the pool reuses it in stream order) and
 * returns the bytes sent without waiting for the copy: the actor hands each copy to the receiver once it has run
 * ({@link #progress}, on every pass), so the copy overlaps the actor's next tasks. A send waits for a free slot at
 * most the edge's timeout, and fails at once, naming the edge, when the receiver closed its end or its process is
 * gone (a failure after the last send shows on the receiving side). Actor thread only.
 */
final class RemoteSendEnd implements RemoteSender {
    private final RemoteEdge edge;
    private final CudaDevice device;
    private final CudaIpcChannel.Writer writer;
    private final PeerProcess reader;
    private boolean released;

    private RemoteSendEnd(RemoteEdge edge, CudaDevice device, CudaIpcChannel.Writer writer) {
        this.edge = edge;
        this.device = device;
        this.writer = writer;
        this.reader = new PeerProcess(edge.peer().process());
    }

    /** Maps the receiver's slots (its rings named by the rendezvous file). On the sending actor's thread. */
    static RemoteSendEnd open(RemoteEdge edge, Path filled, Path free, long timeoutMillis) {
        CudaDevice d = CudaDevice.current();
        if (d == null) {
            throw new IllegalStateException("cross-process edge '" + edge.name() + "': the sending actor's thread has"
                    + " no CUDA device open; sendTo needs a GPU actor (CudaActors.onDevice)");
        }
        CudaIpcChannel.Writer w;
        try {
            w = CudaIpcChannel.Writer.open("edge-" + edge.name(), d, filled, free, timeoutMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("cross-process edge '" + edge.name() + "': interrupted while connecting",
                    e);
        }
        if (w.slotBytes() != edge.slotBytes()) {
            w.close();
            throw new IllegalStateException("cross-process edge '" + edge.name() + "': the receiving side made slots"
                    + " of " + w.slotBytes() + " bytes but this side's RemoteEdge says slotBytes=" + edge.slotBytes()
                    + "; give both halves the same slotBytes");
        }
        return new RemoteSendEnd(edge, d, w);
    }

    /** Moves {@code value} (a {@link DeviceArray} of this actor's device) to the receiver; @return its bytes. */
    @Override
    public Long send(Object value) {
        if (!(value instanceof DeviceArray a)) {
            throw new IllegalArgumentException("cross-process edge '" + edge.name() + "': sendTo takes a DeviceArray,"
                    + " got " + (value == null ? "null" : value.getClass().getName()));
        }
        try {
            if (a.device() != device) {
                throw new IllegalArgumentException("cross-process edge '" + edge.name() + "': the array is on device "
                        + a.device().ordinal() + ", not on the sending actor's device " + device.ordinal());
            }
            long deadline = System.nanoTime() + edge.timeout().toNanos();
            check(deadline, "the receiver");
            while (!writer.offer(a)) { // offer hands over finished copies and takes back freed slots first
                check(deadline, "a free slot (the receiving graph has not taken the " + edge.slots()
                        + " arrays in flight; execute it, or raise RemoteEdge.withSlots/withTimeout)");
                LockSupport.parkNanos(20_000);
            }
            return a.bytes();
        } finally {
            a.close(); // moved into the edge; the pool reuses the memory after the queued copy (stream order)
        }
    }

    @Override
    public int progress() {
        int before = writer.pending();
        if (before == 0) {
            return 0;
        }
        writer.progress();
        return before - writer.pending();
    }

    @Override
    public boolean hasPending() {
        return writer.pending() > 0;
    }

    private void check(long deadline, String what) {
        if (writer.isReaderClosed() || reader.isGone()) {
            throw new IllegalStateException("cross-process edge '" + edge.name() + "': the receiving process "
                    + reader.pid() + (reader.isGone() ? " is gone" : " closed its end (its graph was closed)")
                    + "; compile both halves again");
        }
        if (Thread.currentThread().isInterrupted()) {
            throw new IllegalStateException("cross-process edge '" + edge.name() + "': interrupted waiting for "
                    + what);
        }
        if (System.nanoTime() - deadline > 0) {
            throw new IllegalStateException("cross-process edge '" + edge.name() + "': timed out after "
                    + edge.timeout().toMillis() + " ms waiting for " + what);
        }
    }

    @Override
    public void release() {
        if (released) {
            return;
        }
        released = true;
        writer.close();
    }

    @Override
    public String toString() {
        return "sendTo[" + edge.name() + " -> pid " + reader.pid() + "]";
    }
}
