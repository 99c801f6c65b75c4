package io.stoker.llm.bench;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.kv.KvCacheDescriptor;
import io.stoker.llm.model.llama.LlamaConfig;
import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.Tensor;

/**
 * The device memory one decode step must read at least: every weight once (in the type the CUDA backend keeps it:
 * linear layers in their stored type, norms and biases widened to f32), the embedding rows of the batch's tokens,
 * the K and V of every sequence's context, and the K and V written for the new tokens. Activations are left out
 * (a few MB against GBs of weights at real shapes).
 *
 * @param weightBytes      bytes of the weights a step reads once (the embedding table only when it is tied to the
 *                         LM head)
 * @param embeddingRowBytes bytes of one embedding row
 * @param kvBytesPerToken  K and V of one token over all layers
 * @param parameters       parameters of the model (every tensor's elements)
 */
public record DecodeTraffic(long weightBytes, long embeddingRowBytes, long kvBytesPerToken, long parameters) {

    /** The traffic of {@code model} with a KV cache of {@code kvType}. */
    public static DecodeTraffic of(LoadedModel model, DType kvType) {
        LlamaConfig c = model.config();
        long weights = 0;
        long params = 0;
        long rowBytes = 0;
        for (String name : model.tensors().names()) {
            Tensor t = model.tensors().get(name);
            params += t.elements();
            boolean widened = t.rows() == 1 || name.endsWith(".bias"); // norms and biases: f32 on the device
            long bytes = widened ? 4L * t.elements() : t.dtype().bytesFor(t.elements());
            if (name.equals("model.embed_tokens.weight")) {
                rowBytes = bytes / t.rows();
                if (c.tieWordEmbeddings()) {
                    weights += bytes; // the LM head reads the whole table
                }
            } else {
                weights += bytes;
            }
        }
        long kv = KvCacheDescriptor.bytesPerBlock(c.numHiddenLayers(), c.numKeyValueHeads(), 1, c.headDim(), kvType);
        return new DecodeTraffic(weights, rowBytes, kv, params);
    }

    /**
     * Bytes one decode step moves at least.
     *
     * @param batch       sequences in the step (one new token each)
     * @param contextSum  the sum over the sequences of the tokens each one attends to (its new token included)
     */
    public long bytesPerStep(int batch, long contextSum) {
        return weightBytes + batch * embeddingRowBytes + kvReadBytes(contextSum) + batch * kvBytesPerToken;
    }

    /** K and V read by attention over {@code contextSum} tokens. */
    public long kvReadBytes(long contextSum) {
        return contextSum * kvBytesPerToken;
    }
}
