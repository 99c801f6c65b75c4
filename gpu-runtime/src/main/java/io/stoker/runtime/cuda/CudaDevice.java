package io.stoker.runtime.cuda;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One device bound to one thread: opening it retains the device's primary context and makes it current on the
 * calling thread, which becomes the owner. Everything created through it (memory, streams, events, modules,
 * cuBLAS) is used from the owner thread only, and closed with the device in reverse order of creation.
 *
 * <p>A GPU actor opens its device in its factory, which runs on the actor's own thread (see {@link CudaActors}),
 * and closes it when the actor closes.
 *
 * <p>Thread-safety: confined to the owner thread; calls from another thread throw {@link IllegalStateException}.
 */
public final class CudaDevice implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CudaDevice.class);
    private static final ThreadLocal<CudaDevice> CURRENT = new ThreadLocal<>();

    private final int ordinal;
    private final long context;
    private final Thread owner;
    private final DeviceProperties properties;
    private final CudaDeviceConfig config;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final Map<String, CudaModule> modules = new HashMap<>();
    private final DeviceMemoryPool memory;
    private final CudaStream stream;
    private KernelCompiler compiler;
    private Cublas cublas;
    private boolean closed;

    private CudaDevice(int ordinal, CudaDeviceConfig config) {
        Cuda.load(CudaLibrary.DRIVER);
        int count = CudaNative.deviceCount();
        if (ordinal < 0 || ordinal >= count) {
            throw new IllegalArgumentException("CUDA device " + ordinal + " does not exist; this machine has " + count
                    + " (check the GPU addresses Spark assigned and CUDA_VISIBLE_DEVICES)");
        }
        this.ordinal = ordinal;
        this.config = config;
        this.owner = Thread.currentThread();
        this.properties = DeviceProperties.query(ordinal);
        this.context = CudaNative.primaryCtxRetain(CudaNative.deviceGet(ordinal));
        try {
            CudaNative.ctxSetCurrent(context);
            long budget = config.memoryBudgetBytes();
            if (budget == 0) {
                long[] info = new long[2];
                CudaNative.memGetInfo(info);
                budget = (long) (info[0] * config.memoryFraction());
            }
            this.memory = new DeviceMemoryPool(this, budget);
            this.stream = newStream();
            CURRENT.set(this);
        } catch (RuntimeException e) {
            CudaNative.primaryCtxRelease(ordinal);
            throw e;
        }
        LOG.info("bound CUDA device {} ({}, sm_{}) to thread '{}', memory budget {} bytes", ordinal,
                properties.name(), properties.arch(), owner.getName(), memory.budget());
    }

    /** Binds device {@code ordinal} to the calling thread. */
    public static CudaDevice open(int ordinal, CudaDeviceConfig config) {
        return new CudaDevice(ordinal, config);
    }

    /** Binds the device Spark (or another host) gave as {@code address} to the calling thread. */
    public static CudaDevice open(String address, CudaDeviceConfig config) {
        return new CudaDevice(ordinalOf(address, System.getenv("CUDA_VISIBLE_DEVICES")), config);
    }

    /**
     * The device ordinal for a GPU address: an integer address is a physical index; when
     * {@code CUDA_VISIBLE_DEVICES} lists integer indices that include it, the ordinal is its position in that list.
     */
    public static int ordinalOf(String address, String cudaVisibleDevices) {
        String a = address == null ? "" : address.trim();
        int index;
        try {
            index = Integer.parseInt(a);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("GPU address '" + address + "' is not a device index; Stoker expects "
                    + "the integer addresses a GPU discovery script prints (e.g. nvidia-smi --query-gpu=index)");
        }
        if (index < 0) {
            throw new IllegalArgumentException("GPU address '" + address + "' must be >= 0");
        }
        if (cudaVisibleDevices != null && !cudaVisibleDevices.isBlank()) {
            String[] visible = cudaVisibleDevices.split(",");
            for (int i = 0; i < visible.length; i++) {
                if (visible[i].trim().equals(a)) {
                    return i;
                }
            }
        }
        return index;
    }

    /**
     * @return the device most recently opened on the calling thread and still open (a GPU actor's device, for the
     * runtime's GPU channels), or null
     */
    public static CudaDevice current() {
        CudaDevice d = CURRENT.get();
        return d == null || d.closed ? null : d;
    }

    public int ordinal() {
        return ordinal;
    }

    public DeviceProperties properties() {
        return properties;
    }

    public CudaDeviceConfig config() {
        return config;
    }

    /** @return the thread this device is bound to */
    public Thread owner() {
        return owner;
    }

    /** @return the primary context handle */
    public long context() {
        return context;
    }

    /** Throws unless called on the owner thread of an open device. */
    public void checkThread() {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("CUDA device " + ordinal + " is bound to thread '" + owner.getName()
                    + "' but was used from '" + Thread.currentThread().getName() + "'");
        }
        if (closed) {
            throw new IllegalStateException("CUDA device " + ordinal + " is closed");
        }
    }

    public DeviceMemoryPool memory() {
        return memory;
    }

    /** The device's main stream (non-blocking): the stream kernels, copies and cuBLAS use unless told otherwise. */
    public CudaStream stream() {
        return stream;
    }

    /** Allocates from the memory pool. */
    public DeviceBuffer allocate(long bytes, String name) {
        return memory.allocate(bytes, name);
    }

    public CudaStream newStream() {
        checkThread();
        return track(new CudaStream(this));
    }

    /** An event that can time work ({@link CudaEvent#elapsedMillis}). */
    public CudaEvent newEvent() {
        checkThread();
        return track(new CudaEvent(this, true));
    }

    /** An event for ordering only (cheaper to record). */
    public CudaEvent newSyncEvent() {
        checkThread();
        return track(new CudaEvent(this, false));
    }

    public PinnedBuffer allocatePinned(long bytes) {
        checkThread();
        return track(new PinnedBuffer(this, bytes));
    }

    /** Compiles (or takes from the cache) and loads a program; modules stay loaded until the device closes. */
    public CudaModule module(CudaProgram program) {
        checkThread();
        String key = program.cacheKey();
        CudaModule m = modules.get(key);
        if (m == null) {
            if (compiler == null) {
                compiler = new KernelCompiler(config.kernelCacheDir());
            }
            CompiledKernel image = compiler.compile(program, properties);
            m = track(new CudaModule(this, program.name(), image));
            modules.put(key, m);
        }
        return m;
    }

    /** cuBLAS and cuBLASLt on this device, created on first use. */
    public Cublas cublas() {
        checkThread();
        if (cublas == null) {
            cublas = track(new Cublas(this, config.cublasWorkspaceBytes()));
        }
        return cublas;
    }

    /**
     * Lets this device read and write {@code peer}'s memory directly (NVLink or PCIe peer-to-peer), so peer copies
     * need not pass through the host.
     *
     * @return true when enabled (now or before); false when the two devices cannot reach each other, in which case
     * peer copies still work, staged by the driver
     */
    public boolean enablePeerAccess(CudaDevice peer) {
        checkThread();
        if (peer.context == context) {
            return true;
        }
        return CudaNative.ctxEnablePeerAccess(peer.context);
    }

    /**
     * Device memory another process exported with {@link CudaIpc#export}, mapped into this device's context. Close
     * the returned memory (or the device) to unmap it; it is never freed here.
     */
    public CudaIpc.ImportedMemory openIpc(byte[] handle, long bytes, String name) {
        checkThread();
        return track(CudaIpc.open(this, handle, bytes, name));
    }

    /** Waits for all work on the device's context. */
    public void synchronize() {
        checkThread();
        CudaNative.ctxSynchronize();
    }

    /** @return {free, total} bytes of the device */
    public long[] memoryInfo() {
        checkThread();
        long[] info = new long[2];
        CudaNative.memGetInfo(info);
        return info;
    }

    <T extends AutoCloseable> T track(T resource) {
        resources.add(resource);
        return resource;
    }

    void untrack(AutoCloseable resource) {
        resources.remove(resource);
    }

    boolean isClosed() {
        return closed;
    }

    /**
     * Waits for the device's work, closes everything created through it (newest first), checks the memory pool
     * for leaks, and releases the primary context. Idempotent.
     *
     * @throws IllegalStateException when device buffers were still open (they are freed first)
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        checkThread();
        RuntimeException failure = null;
        try {
            CudaNative.ctxSynchronize();
        } catch (RuntimeException e) {
            failure = e;
        }
        List<AutoCloseable> all = new ArrayList<>(resources);
        for (int i = all.size() - 1; i >= 0; i--) {
            try {
                all.get(i).close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = e instanceof RuntimeException ? (RuntimeException) e : new IllegalStateException(e);
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        resources.clear();
        modules.clear();
        try {
            memory.close();
        } catch (RuntimeException e) {
            if (failure == null) {
                failure = e;
            } else {
                failure.addSuppressed(e);
            }
        }
        closed = true;
        if (CURRENT.get() == this) {
            CURRENT.remove();
        }
        try {
            CudaNative.ctxSetCurrent(0);
            CudaNative.primaryCtxRelease(ordinal);
        } catch (RuntimeException e) {
            if (failure == null) {
                failure = e;
            } else {
                failure.addSuppressed(e);
            }
        }
        LOG.debug("released CUDA device {} from thread '{}'", ordinal, owner.getName());
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public String toString() {
        return "CudaDevice[" + ordinal + ", " + properties.name() + ", thread " + owner.getName() + "]";
    }
}
