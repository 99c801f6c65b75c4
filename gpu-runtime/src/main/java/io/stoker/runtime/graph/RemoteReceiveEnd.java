package io.stoker.runtime.graph;

import io.stoker.runtime.channel.CudaIpcChannel;
import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.DeviceArray;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The receiving end of a cross-process edge on one host: a {@link CudaIpcChannel.Reader} on the receiving actor's
 * device, read by the {@code receiveFrom} task as its second source (after the graph input that starts each
 * execution). Each array that arrives is copied out of its IPC slot into a new array on this device, which the task
 * owns, and the slot goes back to the sender once that copy has run: the task never holds a slot.
 *
 * <p>When no array is waiting and the sender closed its end or its process is gone, {@link #poll} throws, which fails
 * the waiting execution with a message naming the edge. Actor thread only.
 */
final class RemoteReceiveEnd implements RemoteReceiver {
    private final RemoteEdge edge;
    private final CudaDevice device;
    private final CudaIpcChannel.Reader reader;
    private final Path rendezvous;
    private final PeerProcess writer;
    private boolean released;

    private RemoteReceiveEnd(RemoteEdge edge, CudaDevice device, CudaIpcChannel.Reader reader, Path rendezvous) {
        this.edge = edge;
        this.device = device;
        this.reader = reader;
        this.rendezvous = rendezvous;
        this.writer = new PeerProcess(edge.peer().process());
    }

    /** Creates the slots and rings and publishes them for the sender. On the receiving actor's thread. */
    static RemoteReceiveEnd create(RemoteEdge edge) {
        CudaDevice d = CudaDevice.current();
        if (d == null) {
            throw new IllegalStateException("cross-process edge '" + edge.name() + "': the receiving actor's thread has"
                    + " no CUDA device open; receiveFrom needs a GPU actor (CudaActors.onDevice)");
        }
        Path file = EdgeRendezvous.file(edge, edge.peer().process(), ProcessHandle.current().pid());
        CudaIpcChannel.Reader r = CudaIpcChannel.Reader.create("edge-" + edge.name(), d, edge.slots(),
                edge.slotBytes(), edge.directory());
        try {
            EdgeRendezvous.publish(file, edge.name(), r.filledFile(), r.freeFile());
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
        return new RemoteReceiveEnd(edge, d, r, file);
    }

    /**
     * @return a new array on this device holding the next array sent, or null when none has arrived
     * @throws IllegalStateException when none is waiting and the sender closed its end or died
     */
    @Override
    public Object poll() {
        if (released) {
            return null;
        }
        DeviceArray view = reader.poll();
        if (view == null) {
            boolean closed = reader.isWriterClosed();
            if (!closed && !writer.isGone()) {
                return null;
            }
            view = reader.poll(); // sent just before the end closed
            if (view == null) {
                throw new IllegalStateException("cross-process edge '" + edge.name() + "': the sending process "
                        + writer.pid() + (closed ? " closed its end (its graph was closed or it exited)"
                        : " is gone") + "; no more arrays will arrive, compile both halves again");
            }
        }
        DeviceArray out;
        try {
            out = DeviceArray.allocate(device, view.type(), view.count(), "edge-" + edge.name());
        } catch (RuntimeException e) {
            reader.release(view);
            throw e;
        }
        out.buffer().copyFromAsync(view.buffer(), 0, 0, view.bytes(), device.stream());
        reader.release(view); // the slot goes back once the copy has run on this device's stream
        return out;
    }

    @Override
    public boolean hasValue() {
        return !released && (reader.hasValue() || reader.isWriterClosed() || writer.isGone());
    }

    @Override
    public boolean isClosed() {
        return released || reader.isWriterClosed();
    }

    @Override
    public void release() {
        if (released) {
            return;
        }
        released = true;
        try {
            Files.deleteIfExists(rendezvous);
        } catch (IOException e) {
            // the rings below are what matters; a stale rendezvous file names a reader pid that is gone
        }
        reader.close();
    }

    @Override
    public String toString() {
        return "receiveFrom[" + edge.name() + " <- pid " + writer.pid() + "]";
    }
}
