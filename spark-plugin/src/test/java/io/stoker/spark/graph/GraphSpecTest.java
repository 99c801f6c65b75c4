package io.stoker.spark.graph;

import io.stoker.spark.actor.ActorPoolSpec;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GraphSpecTest {
    @Test
    void shouldGiveEqualSpecsTheSameKeySoExecutorsCompileThemOnce() {
        GraphSpec a = GraphSpec.builder("g").actor("t", "tok", "encode", GraphSpec.INPUT)
                .actor("m", "model", "score", "t").build();
        GraphSpec b = GraphSpec.builder("g").actor("t", "tok", "encode", GraphSpec.INPUT)
                .actor("m", "model", "score", "t").build();
        GraphSpec c = GraphSpec.builder("g").actor("t", "tok", "encode", GraphSpec.INPUT)
                .actor("m", "model", "score2", "t").build();
        assertThat(a.key()).isEqualTo(b.key()).isNotEqualTo(c.key());
        assertThat(a.poolsUsed()).containsExactly("tok", "model");
        assertThat(a.output()).isEqualTo("m");
    }

    @Test
    void shouldSurviveJavaSerializationWithFunctionsAndFactories() throws Exception {
        GraphSpec s = GraphSpec.builder("g").pool(ActorPoolSpec.ofFactory("p", env -> new Object()).withCount(2))
                .function("f", args -> args[0], GraphSpec.INPUT).actor("a", "p", "toString", "f").build();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(s);
        }
        GraphSpec back = (GraphSpec) new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray())).readObject();
        assertThat(back.key()).isEqualTo(s.key());
        assertThat(back.pools().get("p").count()).isEqualTo(2);
        assertThat(back.steps().get(0).function().apply(new Object[]{"x"})).isEqualTo("x");
    }

    @Test
    void shouldRejectWiringToUnknownOrLaterSteps() {
        assertThatThrownBy(() -> GraphSpec.builder("g").actor("a", "p", "m", "b"))
                .hasMessageContaining("reads 'b', which is neither GraphSpec.INPUT nor an earlier step");
        assertThatThrownBy(() -> GraphSpec.builder("g").actor("a", "p", "m", GraphSpec.INPUT)
                .actor("a", "p", "m", GraphSpec.INPUT)).hasMessageContaining("step id 'a' is used twice");
        assertThatThrownBy(() -> GraphSpec.builder("g").actor("a", "p", "m", GraphSpec.INPUT).output("z").build())
                .hasMessageContaining("output step 'z' does not exist");
    }
}
