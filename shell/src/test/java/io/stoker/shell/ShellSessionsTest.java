package io.stoker.shell;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ShellSessionsTest {
    @Test
    void shouldAddStokerPluginOnceToAnyPluginList() {
        String stoker = "io.stoker.spark.StokerSparkPlugin";
        assertThat(ShellSessions.withStokerPlugin(null)).isEqualTo(stoker);
        assertThat(ShellSessions.withStokerPlugin("a.B")).isEqualTo("a.B," + stoker);
        assertThat(ShellSessions.withStokerPlugin("a.B, " + stoker)).isEqualTo("a.B, " + stoker);
    }

    @Test
    void shouldParseSharedOptionsAndLeaveTheRestInOrder() {
        SessionOptions o = SessionOptions.parse("stoker sql", new String[] {"-e", "SELECT 1", "--conf", "a.b=c=d",
            "--master=local[2]", "--conf=x=1", "-v", "-f", "q.sql"});
        assertThat(o.master()).isEqualTo("local[2]");
        assertThat(o.conf()).containsExactly(java.util.Map.entry("a.b", "c=d"), java.util.Map.entry("x", "1"));
        assertThat(o.verbose()).isTrue();
        assertThat(o.rest()).isEqualTo(List.of("-e", "SELECT 1", "-f", "q.sql"));
        assertThat(SessionOptions.parse("s", new String[] {"--conf", "spark.master=local[3]"}).effectiveMaster())
                .isEqualTo("local[3]");
        assertThat(SessionOptions.parse("s", new String[0]).effectiveMaster()).isEqualTo("local[*]");
    }

    @Test
    void shouldRefuseMalformedOptionsNamingThem() {
        assertThatThrownBy(() -> SessionOptions.parse("stoker sql", new String[] {"--conf", "novalue"}))
                .hasMessage("stoker sql: --conf takes key=value, got 'novalue'");
        assertThatThrownBy(() -> SessionOptions.parse("stoker shell", new String[] {"--master"}))
                .hasMessage("stoker shell: --master needs a value");
    }
}
