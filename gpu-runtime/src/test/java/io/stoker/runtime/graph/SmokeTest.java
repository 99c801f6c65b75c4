package io.stoker.runtime.graph;

import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SmokeTest {
    static final class Adder {
        int add(Integer x) {
            return x + 1;
        }
    }

    @Test
    void chainOfTwo() {
        try (StokerRuntime rt = StokerRuntime.create()) {
            ActorHandle<Adder> a = rt.createActor(ActorSpec.ofSupplier("a", Adder::new));
            ActorHandle<Adder> b = rt.createActor(ActorSpec.ofSupplier("b", Adder::new));
            GraphBuilder g = GraphBuilder.on(rt);
            InputNode<Integer> in = g.input();
            Node<Integer> x = g.bind(a, Adder::add, in);
            Node<Integer> y = g.bind(b, Adder::add, x);
            CompiledGraph<Integer, Integer> cg = g.compile(y);
            for (int i = 0; i < 1000; i++) {
                assertThat(cg.execute(i).get()).isEqualTo(i + 2);
            }
            System.out.println(cg.toDot());
            System.out.println(cg.scheduleToDot());
        }
    }
}
