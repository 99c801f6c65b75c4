package io.stoker.spark.config;

import io.stoker.runtime.channel.IdleKind;
import io.stoker.spark.actor.ActorPoolSpec;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StokerConfTest {
    @Test
    void shouldUseDocumentedDefaultsWhenNothingIsSet() {
        StokerConf c = StokerConf.parse(Map.of("spark.master", "local[2]"));
        assertThat(c.enabled()).isTrue();
        assertThat(c.batchRows()).isEqualTo(4096);
        assertThat(c.maxBatchesInFlightPerTask()).isEqualTo(2);
        assertThat(c.graphMaxInFlight()).isEqualTo(16);
        assertThat(c.idle()).isEqualTo(IdleKind.BACKOFF);
        assertThat(c.gpuResource()).isEqualTo("gpu");
        assertThat(c.memoryLimitBytes()).isEqualTo(Long.MAX_VALUE);
        assertThat(c.pools()).isEmpty();
    }

    @Test
    void shouldRejectUnknownOptionNamingItAndTheClosestKnownKey() {
        assertThatThrownBy(() -> StokerConf.parse(Map.of("spark.stoker.batch.row", "10")))
                .isInstanceOf(StokerConfException.class)
                .hasMessageContaining("unknown Stoker option spark.stoker.batch.row")
                .hasMessageContaining("did you mean spark.stoker.batch.rows?");
    }

    @Test
    void shouldRejectMalformedValuesNamingKeyAndValue() {
        Map<String, String> m = new HashMap<>();
        m.put("spark.stoker.batch.rows", "-1");
        m.put("spark.stoker.enabled", "yes");
        m.put("spark.stoker.runtime.idle", "snooze");
        m.put("spark.stoker.pool.model.gpus", "one");
        StokerConfException e = org.junit.jupiter.api.Assertions.assertThrows(StokerConfException.class,
                () -> StokerConf.parse(m));
        assertThat(e.problems()).anyMatch(p -> p.contains("spark.stoker.batch.rows=-1 must be ≥ 1"));
        assertThat(e.problems()).anyMatch(p -> p.contains("spark.stoker.enabled=yes must be true or false"));
        assertThat(e.problems()).anyMatch(p -> p.contains("spark.stoker.runtime.idle=snooze"));
        assertThat(e.problems()).anyMatch(p -> p.contains("spark.stoker.pool.model.class is missing"));
    }

    @Test
    void shouldRejectUnknownPoolOptionSuggestingTheRightOne() {
        assertThatThrownBy(() -> StokerConf.parse(Map.of("spark.stoker.pool.model.class", "a.B",
                "spark.stoker.pool.model.gpu", "1")))
                .hasMessageContaining("unknown Stoker option spark.stoker.pool.model.gpu")
                .hasMessageContaining("did you mean spark.stoker.pool.model.gpus?");
    }

    @Test
    void shouldParsePoolsAndRoundTripThroughExtraConf() {
        Map<String, String> m = new HashMap<>();
        m.put("spark.stoker.pool.model.class", "com.example.Model");
        m.put("spark.stoker.pool.model.count", "auto");
        m.put("spark.stoker.pool.model.gpus", "1");
        m.put("spark.stoker.pool.model.cpus", "0.5");
        m.put("spark.stoker.pool.model.eager", "true");
        m.put("spark.stoker.pool.model.artifacts", "weights=hdfs://nn:8020/m/w.bin, vocab=file:///tmp/v.txt");
        m.put("spark.stoker.pool.model.property.dtype", "f16");
        m.put("spark.stoker.pool.tok.class", "com.example.Tokenizer");
        m.put("spark.stoker.pool.tok.count", "3");
        m.put("spark.stoker.batch.rows", "128");
        StokerConf c = StokerConf.parse(m);
        ActorPoolSpec model = c.pools().get("model");
        assertThat(model.className()).isEqualTo("com.example.Model");
        assertThat(model.count()).isEqualTo(ActorPoolSpec.AUTO);
        assertThat(model.actorsFor(4)).isEqualTo(4);
        assertThat(model.actorsFor(0)).isEqualTo(1);
        assertThat(model.cpus()).isEqualTo(0.5);
        assertThat(model.eager()).isTrue();
        assertThat(model.artifacts()).containsEntry("weights", "hdfs://nn:8020/m/w.bin")
                .containsEntry("vocab", "file:///tmp/v.txt");
        assertThat(model.properties()).containsEntry("dtype", "f16");
        assertThat(c.pools().get("tok").actorsFor(4)).isEqualTo(3);
        assertThat(StokerConf.parse(c.toMap())).isEqualTo(c);
    }

    @Test
    void shouldRejectArtifactWithoutScheme() {
        assertThatThrownBy(() -> StokerConf.parse(Map.of("spark.stoker.pool.m.class", "a.B",
                "spark.stoker.pool.m.artifacts", "w=/no/scheme")))
                .hasMessageContaining("artifact 'w'=/no/scheme is not an absolute URI");
    }

    @Test
    void shouldDocumentEveryOptionInConfigurationMd() throws Exception {
        Path doc = Path.of("..", "docs", "configuration.md");
        String text = Files.readString(doc);
        for (StokerOption o : StokerOption.values()) {
            assertThat(text).as("docs/configuration.md lists " + o.key()).contains("`" + o.key() + "`");
        }
        for (PoolOption o : PoolOption.values()) {
            assertThat(text).as("docs/configuration.md lists pool option " + o.suffix())
                    .contains("`spark.stoker.pool.<name>." + o.suffix() + "`");
        }
        for (String suffix : io.stoker.spark.server.ServerSpec.OPTIONS.keySet()) {
            assertThat(text).as("docs/configuration.md lists server option " + suffix)
                    .contains("`spark.stoker.server.<name>." + suffix + "`");
        }
    }

    @Test
    void shouldParseManagedServersAndNameEveryProblem() {
        StokerConf c = StokerConf.parse(Map.of("spark.stoker.server.vllm.command",
                "vllm serve {model} --port {port} --tensor-parallel-size {gpus}", "spark.stoker.server.vllm.model",
                "/m", "spark.stoker.server.vllm.gpus", "2", "spark.stoker.server.vllm.env.HF_HOME", "/cache",
                "spark.stoker.secret.openai", "sk-x"));
        io.stoker.spark.server.ServerSpec s = c.servers().get("vllm");
        assertThat(s.command(8123, java.util.List.of("4", "5"))).containsExactly("vllm", "serve", "/m", "--port",
                "8123", "--tensor-parallel-size", "2");
        assertThat(s.env()).containsEntry("HF_HOME", "/cache");
        assertThat(StokerConf.parse(c.toMap())).isEqualTo(c);
        assertThat(c.toMap()).doesNotContainKey("spark.stoker.secret.openai");
        assertThatThrownBy(() -> StokerConf.parse(Map.of("spark.stoker.server.a.command", "srv --model {modle}",
                "spark.stoker.server.b.gpus", "1", "spark.stoker.server.c.comand", "x")))
                .hasMessageContaining("spark.stoker.server.a.command has the unknown placeholder {modle}")
                .hasMessageContaining("spark.stoker.server.a.command must contain {port}")
                .hasMessageContaining("spark.stoker.server.b.command is missing")
                .hasMessageContaining("unknown Stoker option spark.stoker.server.c.comand");
    }
}
