#!/usr/bin/env python3
"""Independent float64 reference for Stoker's Llama-family engine tests.

Reads a Hugging Face directory (config.json + model.safetensors) with numpy only, runs the forward pass of
transformers' modeling_llama.py (RMSNorm, rotate_half RoPE with Llama 3 scaling, repeat_kv GQA, causal softmax
attention, SwiGLU, tied or untied lm_head, Qwen2 qkv bias) in float64 with torch, and writes:

  OUT.logits  raw little-endian float64, shape (len(ids), vocab): logits at every prompt position
  OUT.json    {"vocab": V, "greedy": [32 argmax tokens continuing the prompt], "margins": [top1 - top2 per step]}

--quantize f16|q8_0 first rounds every 2-D weight the way a GGUF file of that type stores it (q8_0: blocks of 32,
d = max|x| / 127 stored as f16, q = roundf(x / d) in float32), so quantized engines can be checked tightly too.
--kv f16 rounds keys (after RoPE) and values to binary16, as an f16 KV cache stores them.
Run it as /usr/bin/python3 (Debian's python3-numpy and python3-torch).
"""
import argparse
import json
import struct

import numpy as np
import torch


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[8 + n + b:8 + n + e]
        dt = info["dtype"]
        if dt == "F32":
            a = np.frombuffer(raw, "<f4")
        elif dt == "F16":
            a = np.frombuffer(raw, "<f2").astype(np.float32)
        elif dt == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit("unsupported dtype " + dt)
        out[name] = a.reshape(info["shape"]).astype(np.float64)
    return out


def quantize(w, mode):
    if mode == "f16":
        return w.astype(np.float32).astype(np.float16).astype(np.float64)
    x = w.astype(np.float32).reshape(-1, 32)
    amax = np.abs(x).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    safe = np.where(d != 0, d, np.float32(1)).astype(np.float32)
    inv = np.where(d != 0, np.float32(1) / safe, np.float32(0)).astype(np.float32)
    v = (x * inv[:, None]).astype(np.float32)
    q = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))
    dh = d.astype(np.float16).astype(np.float64)
    return (q.astype(np.float64) * dh[:, None]).reshape(w.shape)


def inv_freq(cfg, hd):
    theta = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type", rs.get("type")) == "llama3":
        factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wl, high_wl = old / low, old / high
        wl = 2 * np.pi / inv
        scaled = torch.where(wl > low_wl, inv / factor, inv)
        smooth = (old / wl - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wl >= high_wl) & (wl <= low_wl)
        inv = torch.where(medium, smoothed, scaled)
    return inv


def rms_norm(x, w, eps):
    return w * (x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def round_act(v, act):
    """GEMM inputs rounded to the weight type, as a device multiplying f16/bf16 weights on tensor cores does."""
    if act == "bf16":
        return v.float().to(torch.bfloat16).double()
    if act == "f16":
        return v.float().half().double()
    return v


def forward(W, cfg, ids, kv="none", act="none"):
    hidden = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads") or nh
    hd = cfg.get("head_dim") or hidden // nh
    eps = cfg.get("rms_norm_eps", 1e-6)
    T = len(ids)
    x = W["model.embed_tokens.weight"][torch.tensor(ids)]
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq(cfg, hd))
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    window = cfg.get("sliding_window") if cfg["architectures"][0] != "Qwen2ForCausalLM" else None
    if window:
        mask = mask + torch.full((T, T), float("-inf"), dtype=torch.float64).tril(-window)
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l

        def lin(name, v):
            y = round_act(v, act) @ W[p + name + ".weight"].T
            if p + name + ".bias" in W:
                y = y + W[p + name + ".bias"]
            return y

        res = x
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = lin("self_attn.q_proj", h).view(T, nh, hd).transpose(0, 1)
        k = lin("self_attn.k_proj", h).view(T, nkv, hd).transpose(0, 1)
        v = lin("self_attn.v_proj", h).view(T, nkv, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if kv == "f16":  # an f16 KV cache stores keys (after RoPE) and values rounded to binary16
            k = k.float().half().double()
            v = v.float().half().double()
        k = k.repeat_interleave(nh // nkv, dim=0)
        v = v.repeat_interleave(nh // nkv, dim=0)
        att = torch.softmax(q @ k.transpose(-1, -2) / np.sqrt(hd) + mask, dim=-1)
        o = (att @ v).transpose(0, 1).reshape(T, nh * hd)
        x = res + lin("self_attn.o_proj", o)
        res = x
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        g = lin("mlp.gate_proj", h)
        x = res + lin("mlp.down_proj", torch.nn.functional.silu(g) * lin("mlp.up_proj", h))
    x = rms_norm(x, W["model.norm.weight"], eps)
    head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    return round_act(x, act) @ head.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--quantize", default="none", choices=["none", "f16", "q8_0"])
    ap.add_argument("--kv", default="none", choices=["none", "f16"])
    ap.add_argument("--act", default="none", choices=["none", "bf16", "f16"])
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    cfg = json.load(open(a.model + "/config.json"))
    raw = load_safetensors(a.model + "/model.safetensors")
    if a.quantize != "none":
        raw = {k: (quantize(v, a.quantize) if v.ndim == 2 else v) for k, v in raw.items()}
    W = {k: torch.from_numpy(v) for k, v in raw.items()}
    ids = [int(t) for t in a.ids.split(",")]
    with torch.no_grad():
        logits = forward(W, cfg, ids, a.kv, a.act)
        logits.numpy().astype("<f8").tofile(a.out + ".logits")
        seq = list(ids)
        greedy, margins = [], []
        for _ in range(a.steps):
            last = forward(W, cfg, seq, a.kv, a.act)[-1]
            top = torch.topk(last, 2)
            greedy.append(int(top.indices[0]))
            margins.append(float(top.values[0] - top.values[1]))
            seq.append(greedy[-1])
    json.dump({"vocab": int(logits.shape[1]), "greedy": greedy, "margins": margins}, open(a.out + ".json", "w"))


if __name__ == "__main__":
    main()
