package io.stoker.runtime.channel;

import java.util.Objects;

/**
 * Where an actor runs, as far as moving device memory to it is concerned.
 *
 * @param host    the node (host name or address)
 * @param process the process id on that node
 * @param gpu     the GPU (its id as the host assigned it, e.g. Spark's address), or null for a CPU actor
 */
public record ActorLocation(String host, long process, String gpu) {
    public ActorLocation {
        Objects.requireNonNull(host, "host");
    }

    /** An actor of this JVM on {@code gpu} (null: no GPU). */
    public static ActorLocation local(String gpu) {
        return new ActorLocation(LocalHost.NAME, ProcessHandle.current().pid(), gpu);
    }

    /** The local host's name, resolved once. */
    private static final class LocalHost {
        static final String NAME = resolve();

        private static String resolve() {
            try {
                return java.net.InetAddress.getLocalHost().getHostName();
            } catch (java.net.UnknownHostException e) {
                return "localhost";
            }
        }
    }
}
