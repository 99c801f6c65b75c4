package io.stoker.llm.tensor;

/**
 * A weight tensor as the model sees it: a name (Hugging Face naming), an element type and a 2-D view
 * {@code [rows, cols]} (row-major; a 1-D tensor has one row). Storage belongs to whoever created it (a mapped file,
 * a device buffer); kernels of the matching backend know how to read it.
 */
public interface Tensor {
    String name();

    DType dtype();

    /** @return the shape as stored, outermost first (Hugging Face order: {@code [out_features, in_features]}) */
    long[] shape();

    int rows();

    int cols();

    default long elements() {
        return (long) rows() * cols();
    }
}
