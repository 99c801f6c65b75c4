#!/usr/bin/env python3
"""HF transformers' side of issue 12's decode benchmark (bin/stoker gpu-check runs it beside DecodeBenchmark).

Builds LlamaForCausalLM from a LlamaConfig of the Llama-3.1-8B shape with random bf16 weights made on the device
(nothing is downloaded or read from disk), then times `generate` (greedy, KV cache) at each batch size with the same
prompt length and new-token count as the Stoker side. Prints one JSON object:

  {"status": "ok", "torch": ..., "transformers": ..., "device": ..., "runs": [
     {"batch": 1, "generate_seconds": ..., "tokens_per_s": ...,           # whole generate (prefill included)
      "first_token_seconds": ...,                                          # generate of one new token (prefill)
      "decode_tokens_per_s": ..., "per_token_latency_ms": ...}, ...]}    # (N - 1) tokens over t(N) - t(1)

or {"status": "error", "error": "..."} when torch, transformers or CUDA is missing (exit 3) or a run fails (exit 1);
{"status": "partial", ...} with the runs done when --time-limit runs out.

  python3 benchmarks/hf_decode_bench.py                       # GPU machine: 8B shape, batch 1 and 64
  python3 benchmarks/hf_decode_bench.py --shape small --device cpu --batches 1,4 --prompt-tokens 8 --new-tokens 6
"""
import argparse
import json
import signal
import sys
import time

SHAPES = {
    # Llama-3.1-8B: the shape of Stoker's random:llama-3.1-8b
    "llama-3.1-8b": dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                         num_key_value_heads=8, vocab_size=128256, max_position_embeddings=131072,
                         rope_theta=500000.0),
    # DecodeBenchmark --small's shape
    "small": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, vocab_size=256, max_position_embeddings=256, rope_theta=10000.0),
}


class TimeLimit(Exception):
    pass


def emit(obj, code):
    print(json.dumps(obj))
    sys.stdout.flush()
    sys.exit(code)


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", choices=sorted(SHAPES), default="llama-3.1-8b")
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    p.add_argument("--batches", default="1,64", help="comma-separated batch sizes")
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--new-tokens", type=int, default=137, help="tokens generated per sequence (>= 2)")
    p.add_argument("--time-limit", type=float, default=0, help="seconds; stop and print the runs done (0: none)")
    a = p.parse_args()
    try:
        a.batches = [int(b) for b in a.batches.split(",")]
    except ValueError:
        p.error("--batches '%s': give comma-separated integers" % a.batches)
    if min(a.batches) < 1 or a.prompt_tokens < 1 or a.new_tokens < 2:
        p.error("--batches >= 1, --prompt-tokens >= 1 and --new-tokens >= 2")
    return a


def main():
    a = parse()
    try:
        import torch
    except Exception as e:  # ImportError, or a broken install
        emit({"status": "error", "error": "torch is not importable: %s" % e}, 3)
    try:
        import transformers
        from transformers import LlamaConfig, LlamaForCausalLM
    except Exception as e:
        emit({"status": "error", "error": "transformers is not importable (torch %s): %s" % (torch.__version__, e)}, 3)
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        emit({"status": "error", "error": "torch %s sees no CUDA device" % torch.__version__}, 3)

    out = {"status": "ok", "torch": torch.__version__, "transformers": transformers.__version__,
           "shape": a.shape, "weights_dtype": "bf16", "prompt_tokens": a.prompt_tokens, "new_tokens": a.new_tokens,
           "runs": []}
    if a.time_limit > 0:
        def on_alarm(signum, frame):
            raise TimeLimit()
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, a.time_limit)
    try:
        device = torch.device(a.device)
        out["device"] = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        t0 = time.perf_counter()
        config = LlamaConfig(rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
                             **SHAPES[a.shape])
        # random bf16 weights initialised on the device itself (no host copy, no file)
        torch.set_default_dtype(torch.bfloat16)
        try:
            if hasattr(device, "__enter__"):  # torch >= 2.0: parameters created on the device
                with device:
                    model = LlamaForCausalLM(config)
            else:
                model = LlamaForCausalLM(config).to(device)
        finally:
            torch.set_default_dtype(torch.float32)
        model.eval()
        sync(torch, device)
        out["load_seconds"] = time.perf_counter() - t0
        out["parameters"] = sum(p.numel() for p in model.parameters())
        out["attn_implementation"] = getattr(model.config, "_attn_implementation", None)
        gen = torch.Generator(device="cpu").manual_seed(0)
        for batch in a.batches:
            ids = torch.randint(1, config.vocab_size, (batch, a.prompt_tokens), generator=gen).to(device)
            mask = torch.ones_like(ids)
            generate(torch, model, ids, mask, 2, device)  # warm-up: kernels, cuBLAS handles, allocator
            first, _ = generate(torch, model, ids, mask, 1, device)
            total, n = generate(torch, model, ids, mask, a.new_tokens, device)
            decode = max(total - first, 1e-9)
            out["runs"].append({
                "batch": batch, "generated_tokens": n, "generate_seconds": total,
                "tokens_per_s": batch * n / total, "first_token_seconds": first,
                "decode_tokens_per_s": batch * (n - 1) / decode, "per_token_latency_ms": decode / (n - 1) * 1e3})
        if device.type == "cuda":
            out["max_memory_allocated_bytes"] = torch.cuda.max_memory_allocated(device)
    except TimeLimit:
        out["status"] = "partial"
        out["error"] = "time limit of %.0f s reached; runs done so far are listed" % a.time_limit
        emit(out, 1)
    except Exception as e:
        out["status"] = "error"
        out["error"] = "%s: %s" % (type(e).__name__, e)
        emit(out, 1)
    finally:
        if a.time_limit > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
    emit(out, 0)


def sync(torch, device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def generate(torch, model, ids, mask, new_tokens, device):
    """Seconds for a greedy generate of exactly new_tokens tokens per sequence (EOS suppressed by min_new_tokens)."""
    sync(torch, device)
    t0 = time.perf_counter()
    with torch.inference_mode():
        seq = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens,
                             min_new_tokens=new_tokens, do_sample=False, use_cache=True, pad_token_id=0)
    sync(torch, device)
    seconds = time.perf_counter() - t0
    n = seq.shape[1] - ids.shape[1]
    if n != new_tokens:
        raise RuntimeError("generate made %d tokens per sequence instead of %d" % (n, new_tokens))
    return seconds, n


if __name__ == "__main__":
    main()
