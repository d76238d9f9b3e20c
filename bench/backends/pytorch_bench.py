"""Times the benchmark cases with PyTorch. Reads {cases, plan, device} as JSON on stdin, writes
{version, device, samples: {case id: [ms per run] or null}} as JSON on stdout. Mirrors bench/backends/tessera.ts:
each case runs with torch.set_num_threads(case["threads"]). device "auto" (the webgpu set) uses CUDA when PyTorch
sees a GPU, with TF32 off so f32 matmul is true f32, and waits for the GPU after every run."""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def attention(q, k, v, causal_mask):
    """softmax(q·kᵀ/√D + mask)·v written out: torch 1.13 has no fused scaled_dot_product_attention."""
    scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    if causal_mask is not None:
        scores = scores.masked_fill(causal_mask, float("-inf"))
    return torch.matmul(torch.softmax(scores, -1), v)


class Block(nn.Module):
    def __init__(self, d, heads, ratio):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, ratio * d), nn.GELU(approximate="tanh"), nn.Linear(ratio * d, d))

    def forward(self, h, mask):
        B, T, d = h.shape
        q, k, v = self.qkv(self.ln1(h)).view(B, T, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        h = h + self.proj(attention(q, k, v, mask).transpose(1, 2).reshape(B, T, d))
        return h + self.mlp(self.ln2(h))


class TinyGPT(nn.Module):
    """The same model as bench/models/tiny-gpt.ts: learned positions, pre-LayerNorm, untied bias-free head."""

    def __init__(self, p):
        super().__init__()
        d = p["dModel"]
        self.tok_emb, self.pos_emb = nn.Embedding(p["vocab"], d), nn.Embedding(p["context"], d)
        self.blocks = nn.ModuleList(Block(d, p["heads"], p["mlpRatio"]) for _ in range(p["layers"]))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, p["vocab"], bias=False)

    def forward(self, ids, mask):
        h = self.tok_emb(ids) + self.pos_emb(torch.arange(ids.shape[1], device=ids.device))
        for block in self.blocks:
            h = block(h, mask)
        return self.head(self.ln_f(h))


def causal(S, on, dev):
    return torch.triu(torch.ones(S, S, dtype=torch.bool), 1).to(dev) if on else None


def prepare(kind, p, gen, dev):
    randn = lambda *shape: torch.randn(*shape, generator=gen).to(dev)
    if kind == "matmul":
        a, b = randn(p["n"], p["n"]), randn(p["n"], p["n"])
        return lambda: torch.matmul(a, b)
    if kind == "fma":
        a, b, c = randn(p["n"]), randn(p["n"]), randn(p["n"])
        return lambda: a * b + c
    shape = (p.get("B"), p.get("H"), p.get("S"), p.get("D"))
    if kind == "attention":
        q, k, v = randn(*shape), randn(*shape), randn(*shape)
        mask = causal(p["S"], p["causal"], dev)
        return lambda: attention(q, k, v, mask)
    if kind == "attentionTrain":
        q, k, v = (randn(*shape).requires_grad_() for _ in range(3))
        d_out, mask = randn(*shape), causal(p["S"], p["causal"], dev)
        return lambda: torch.autograd.grad(attention(q, k, v, mask), (q, k, v), d_out)
    if kind == "gptStep":
        torch.manual_seed(1)
        model = TinyGPT(p).to(dev)
        count = sum(t.numel() for t in model.parameters())
        expected = p.get("expectedParameters")
        if expected is not None and count != expected:
            raise ValueError(f"tiny GPT has {count} parameters, expected {expected}")
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        x = torch.randint(0, p["vocab"], (p["batch"], p["context"]), generator=gen).to(dev)
        y = torch.randint(0, p["vocab"], (p["batch"], p["context"]), generator=gen).to(dev)
        mask = causal(p["context"], True, dev)

        def step():
            loss = F.cross_entropy(model(x, mask).view(-1, p["vocab"]), y.view(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            return loss.item()

        return step
    return None


def time_case(fn, plan):
    slow = False
    for _ in range(plan["warmup"]):
        t0 = time.perf_counter()
        fn()
        if (time.perf_counter() - t0) * 1000 > plan["slowRunMs"]:
            slow = True
            break
    least = plan["minSlowSamples"] if slow else plan["minSamples"]
    samples = []
    start = time.perf_counter()
    while len(samples) < plan["maxSamples"] and (
        len(samples) < least or (not slow and (time.perf_counter() - start) * 1000 < plan["budgetMs"])
    ):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def main():
    spec = json.load(sys.stdin)
    torch.set_num_interop_threads(1)
    cuda = spec.get("device") == "auto" and torch.cuda.is_available()
    dev = torch.device("cuda" if cuda else "cpu")
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    gen = torch.Generator().manual_seed(1)
    out = {}
    for c in spec["cases"]:
        torch.set_num_threads(c["threads"])
        with torch.no_grad() if c["kind"] in ("matmul", "fma", "attention") else torch.enable_grad():
            fn = prepare(c["kind"], c["params"], gen, dev)
            if fn is not None and cuda:
                fn = synchronized(fn)
            out[c["id"]] = None if fn is None else time_case(fn, {**spec["plan"], **c.get("plan", {})})
    name = torch.cuda.get_device_name(0) if cuda else "CPU"
    json.dump({"version": torch.__version__, "device": name, "blas": blas_library(), "samples": out}, sys.stdout)


def synchronized(fn):
    """A run on the GPU ends when its kernels have finished, not when they are queued."""

    def run():
        fn()
        torch.cuda.synchronize()

    return run


def blas_library():
    """The BLAS this process actually loaded (Debian's torch links the libblas.so.3 alternative)."""
    try:
        with open("/proc/self/maps") as maps:
            names = {line.split()[-1].rsplit("/", 1)[-1] for line in maps if "blas" in line.lower()}
        return ", ".join(sorted(names)) or "unknown BLAS"
    except OSError:
        return "unknown BLAS"


if __name__ == "__main__":
    main()
