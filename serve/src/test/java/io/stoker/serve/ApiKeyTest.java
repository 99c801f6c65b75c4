package io.stoker.serve;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ApiKeyTest {
    @Test
    void shouldAcceptOnlyTheExactBearerKey() {
        ApiKey k = ApiKey.of("sk-abc123");
        assertThat(k.matches("Bearer sk-abc123")).isTrue();
        assertThat(k.matches("bearer sk-abc123")).as("the scheme is case-insensitive").isTrue();
        assertThat(k.matches("Bearer sk-abc1234")).isFalse();
        assertThat(k.matches("Bearer sk-abc12")).isFalse();
        assertThat(k.matches("sk-abc123")).as("no scheme").isFalse();
        assertThat(k.matches("Basic sk-abc123")).isFalse();
        assertThat(k.matches("Bearer ")).isFalse();
        assertThat(k.matches(null)).isFalse();
        assertThat(k.toString()).doesNotContain("abc");
    }

    @Test
    void shouldNameTheVariableButNeverAValueWhenTheEnvironmentHasNoKey() {
        assertThatThrownBy(() -> ApiKey.fromEnv("STOKER_SURELY_UNSET_KEY_VAR"))
                .hasMessageContaining("STOKER_SURELY_UNSET_KEY_VAR").hasMessageContaining("unset or empty");
        assertThatThrownBy(() -> ApiKey.of("")).hasMessageContaining("empty");
    }
}
