package io.stoker.llm.backend;

/**
 * An activation buffer owned by a {@link Backend}: up to {@link #maxRows()} rows of {@link #cols()} f32 values,
 * row-major, one row per token ({@code [tokens][features]}). On the CPU a heap array; on a device, device memory.
 * Only the backend that allocated it reads or writes it; the host sees its values only through
 * {@link Backend#copyToHost}.
 */
public interface Activation {
    /** @return a label for errors and traces (e.g. {@code q}, {@code logits}) */
    String name();

    int maxRows();

    int cols();
}
