package io.stoker.runtime.actor;

import io.stoker.runtime.StokerRuntime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** An actor's own background work runs on the actor's thread, between its calls, and only while it has some. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BackgroundWorkTest {
    /** Counts down a budget of work items given by calls; records the thread of every item. */
    public static final class Worker implements BackgroundWork {
        final ConcurrentLinkedQueue<String> threads = new ConcurrentLinkedQueue<>();
        int pending;
        int done;

        public int give(int n) {
            pending += n;
            return pending;
        }

        public int done() {
            return done;
        }

        @Override
        public int doBackgroundWork() {
            if (pending == 0) {
                return 0;
            }
            pending--;
            done++;
            threads.add(Thread.currentThread().getName());
            return 1;
        }

        @Override
        public boolean hasBackgroundWork() {
            return pending > 0;
        }
    }

    @Test
    void shouldRunBackgroundWorkOnTheActorThreadUntilNoneIsLeft() throws Exception {
        try (StokerRuntime rt = StokerRuntime.create()) {
            ActorHandle<Worker> a = rt.createActor(ActorSpec.ofClass("bg", Worker.class));
            a.call(w -> w.give(500)).join();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (a.call(Worker::done).join() < 500) {
                assertThat(System.nanoTime()).as("500 items done within 10 s").isLessThan(deadline);
                Thread.sleep(5);
            }
            Thread.sleep(50);
            Worker w = a.call(x -> x).join();
            assertThat(a.call(Worker::done).join()).as("no work beyond what was given").isEqualTo(500);
            assertThat(w.threads).hasSize(500).allMatch(n -> n.equals("stoker-actor-bg"));
            a.call(x -> x.give(3)).join();
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (a.call(Worker::done).join() < 503) {
                assertThat(System.nanoTime()).as("an idle actor wakes for new work").isLessThan(deadline);
                Thread.sleep(5);
            }
        }
    }
}
