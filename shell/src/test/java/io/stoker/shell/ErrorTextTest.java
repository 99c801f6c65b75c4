package io.stoker.shell;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ErrorTextTest {
    @Test
    void shouldKeepFirstLinesAndNameTheRootCauseWithoutStackTraces() {
        Exception root = new IllegalArgumentException("prompt is empty; give every row a prompt\n\tat some.Frame");
        Exception top = new RuntimeException("Job aborted: task failed\nDriver stacktrace:\n\tat x.Y",
                new IllegalStateException("wrapper", root));
        assertThat(ErrorText.brief(top)).isEqualTo("RuntimeException: Job aborted: task failed\n"
                + "caused by: IllegalArgumentException: prompt is empty; give every row a prompt");
    }

    @Test
    void shouldNotRepeatARootCauseTheTopMessageAlreadySays() {
        Exception root = new IllegalStateException("row 3 failed");
        Exception top = new RuntimeException("Lost task 0.0: IllegalStateException: row 3 failed", root);
        assertThat(ErrorText.brief(top)).isEqualTo("RuntimeException: Lost task 0.0: IllegalStateException: row 3 failed");
        assertThat(ErrorText.brief(new NullPointerException())).isEqualTo("java.lang.NullPointerException");
    }
}
