package io.stoker.spark.llm;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.adaptive.AdaptiveSparkPlanExec;
import org.apache.spark.sql.execution.adaptive.QueryStageExec;

import java.util.ArrayList;
import java.util.List;

/** Finds the LLM operators of an executed DataFrame's physical plan (through adaptive execution's wrappers). */
final class Plans {
    private Plans() {
    }

    static List<LlmEvalExec> llmNodes(Dataset<?> df) {
        List<LlmEvalExec> out = new ArrayList<>();
        walk(df.queryExecution().executedPlan(), out);
        return out;
    }

    /** @return the value of one SQL metric summed over the plan's LLM operators */
    static long metric(Dataset<?> df, String name) {
        long v = 0;
        for (LlmEvalExec e : llmNodes(df)) {
            v += e.metrics().apply(name).value();
        }
        return v;
    }

    private static void walk(SparkPlan p, List<LlmEvalExec> out) {
        if (p instanceof LlmEvalExec) {
            out.add((LlmEvalExec) p);
        }
        if (p instanceof AdaptiveSparkPlanExec) {
            walk(((AdaptiveSparkPlanExec) p).executedPlan(), out);
        }
        if (p instanceof QueryStageExec) {
            walk(((QueryStageExec) p).plan(), out);
        }
        scala.collection.Iterator<SparkPlan> it = p.children().iterator();
        while (it.hasNext()) {
            walk(it.next(), out);
        }
    }
}
