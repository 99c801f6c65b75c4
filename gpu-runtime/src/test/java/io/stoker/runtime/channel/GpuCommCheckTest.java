package io.stoker.runtime.channel;

import io.stoker.runtime.cuda.CudaTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The lent-GPU communication check ({@code benchmarks/gpu-comm-check.sh}) runs end to end on the simulator, so the
 * script is known to work before a GPU is lent: single-rank NCCL, CUDA IPC between two processes (each value
 * checked), and the throughput/round-trip measurements (their numbers mean nothing here; only that they ran).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class GpuCommCheckTest {
    @Test
    void shouldPassEveryCheckOnTheSimulator() {
        CudaTestSupport.assumeSimulator();
        String json = GpuCommCheckMain.run(true);
        assertThat(GpuCommCheckMain.passed(json)).as(json).isTrue();
        assertThat(json).contains("\"graph_edge_per_execute\":{\"status\":\"passed\",\"executions\":160,");
        assertThat(json).contains("\"nccl_single_rank\":{\"status\":\"passed\"")
                .contains("\"cuda_ipc_two_processes\":{\"status\":\"passed\",\"planner_kind\":\"cuda_ipc\"")
                .contains("\"channel_vs_raw_copy\":{\"status\":\"passed\"").contains("\"ipc_channel_gb_per_s\":");
    }
}
