package io.stoker.shell;

import io.stoker.shell.DatabricksNotebook.Cell;
import io.stoker.shell.DatabricksNotebook.Kind;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DatabricksNotebookTest {
    private static final String NOTEBOOK = String.join("\n",
            "// Databricks notebook source",
            "// MAGIC %md",
            "// MAGIC # Title",
            "// MAGIC",
            "// MAGIC text",
            "",
            "// COMMAND ----------",
            "",
            "// DBTITLE 1,Make a table",
            "val x = 1",
            "println(x)",
            "",
            "// COMMAND ----------",
            "",
            "// COMMAND ----------",
            "// MAGIC %sql SELECT 1;",
            "// MAGIC SELECT 2",
            "// COMMAND ----------",
            "// MAGIC %python",
            "// MAGIC print(1)",
            "");

    @Test
    void shouldSplitCellsAndTellTheirKinds() {
        DatabricksNotebook nb = DatabricksNotebook.parse("nb.scala", NOTEBOOK);
        assertThat(nb.cells()).extracting(Cell::kind).containsExactly(Kind.MARKDOWN, Kind.SCALA, Kind.SQL, Kind.OTHER);
        assertThat(nb.cells()).extracting(Cell::number).containsExactly(1, 2, 3, 4);
        Cell md = nb.cells().get(0);
        assertThat(md.source()).isEqualTo("# Title\n\ntext");
        Cell scala = nb.cells().get(1);
        assertThat(scala.title()).isEqualTo("Make a table");
        assertThat(scala.source()).isEqualTo("val x = 1\nprintln(x)");
        assertThat(scala.line()).isEqualTo(10);
        assertThat(scala.describe()).isEqualTo("cell 2 (scala, \"Make a table\", line 10)");
        Cell sql = nb.cells().get(2);
        assertThat(sql.source()).isEqualTo("SELECT 1;\nSELECT 2");
        assertThat(sql.magic()).isEqualTo("%sql");
        assertThat(sql.line()).isEqualTo(16);
        assertThat(nb.cells().get(3).magic()).isEqualTo("%python");
    }

    @Test
    void shouldRefuseTextWithoutTheDatabricksHeader() {
        assertThatThrownBy(() -> DatabricksNotebook.parse("x.scala", "val x = 1\n"))
                .hasMessageContaining("x.scala is not a notebook in Databricks source format")
                .hasMessageContaining("// Databricks notebook source");
    }
}
