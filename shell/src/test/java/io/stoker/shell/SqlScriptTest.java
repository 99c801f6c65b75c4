package io.stoker.shell;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SqlScriptTest {
    @Test
    void shouldSplitAtSemicolonsThatEndStatements() {
        List<SqlScript.Statement> s = SqlScript.split("SELECT 1;\nSELECT 'a;b', \"c;d\", `e;f`;\n\n  SELECT 3");
        assertThat(s).extracting(SqlScript.Statement::text)
                .containsExactly("SELECT 1", "SELECT 'a;b', \"c;d\", `e;f`", "SELECT 3");
        assertThat(s).extracting(SqlScript.Statement::line).containsExactly(1, 2, 4);
    }

    @Test
    void shouldIgnoreSemicolonsInCommentsAndEscapedQuotes() {
        String sql = "-- a comment; still a comment\nSELECT 'it\\'s; fine' AS x /* block; /* nested; */ more; */ ;"
                + "\nSELECT 2 -- trailing; comment";
        List<SqlScript.Statement> s = SqlScript.split(sql);
        assertThat(s).hasSize(2);
        assertThat(s.get(0).text()).startsWith("-- a comment; still a comment\nSELECT 'it\\'s; fine' AS x")
                .endsWith("more; */");
        assertThat(s.get(0).line()).isEqualTo(2);
        assertThat(s.get(1).text()).isEqualTo("SELECT 2 -- trailing; comment");
        assertThat(s.get(1).line()).isEqualTo(3);
    }

    @Test
    void shouldDropStatementsWithOnlyCommentsAndBlanks() {
        assertThat(SqlScript.split(";;  \n-- nothing here;\n/* nor; here */ ;")).isEmpty();
        assertThat(SqlScript.split("")).isEmpty();
    }

    @Test
    void shouldCountLinesInsideMultiLineStrings() {
        List<SqlScript.Statement> s = SqlScript.split("SELECT 'line one\nline two';\nSELECT 2;");
        assertThat(s).extracting(SqlScript.Statement::line).containsExactly(1, 3);
    }
}
