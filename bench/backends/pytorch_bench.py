"""Times the benchmark cases with PyTorch. Reads {cases, plan} as JSON on stdin, writes
{version, threads, samples: {case id: [ms per run] or null}} as JSON on stdout. Mirrors bench/backends/tessera.ts."""
import json
import sys
import time

import torch
import torch.nn.functional as F


def prepare(kind, p, gen):
    f32 = dict(dtype=torch.float32, generator=gen)
    if kind == "matmul":
        a, b = torch.randn(p["n"], p["n"], **f32), torch.randn(p["n"], p["n"], **f32)
        return lambda: torch.matmul(a, b)
    if kind == "fma":
        a, b, c = (torch.randn(p["n"], **f32) for _ in range(3))
        return lambda: a * b + c
    if kind == "softmax":
        x = torch.randn(p["rows"], p["cols"], **f32)
        return lambda: torch.softmax(x, -1)
    if kind == "mlpStep":
        w1 = (torch.randn(p["in"], p["hidden"], **f32) * (2 / p["in"]) ** 0.5).requires_grad_()
        w2 = (torch.randn(p["hidden"], p["out"], **f32) * (2 / p["hidden"]) ** 0.5).requires_grad_()
        b1 = torch.zeros(p["hidden"], requires_grad=True)
        b2 = torch.zeros(p["out"], requires_grad=True)
        x = torch.randn(p["batch"], p["in"], **f32)
        y = torch.randint(0, p["out"], (p["batch"],), generator=gen)
        params = [w1, b1, w2, b2]

        def step():
            logits = torch.relu(x @ w1 + b1) @ w2 + b2
            loss = -F.log_softmax(logits, -1).gather(1, y.unsqueeze(1)).mean()
            loss.backward()
            with torch.no_grad():
                for q in params:
                    q.sub_(q.grad, alpha=0.01)
                    q.grad = None
            return loss.item()

        return step
    return None


def time_case(fn, plan):
    for _ in range(plan["warmup"]):
        fn()
    samples = []
    start = time.perf_counter()
    while len(samples) < plan["maxSamples"] and (
        len(samples) < plan["minSamples"] or (time.perf_counter() - start) * 1000 < plan["budgetMs"]
    ):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def main():
    spec = json.load(sys.stdin)
    gen = torch.Generator().manual_seed(1)
    out = {}
    for c in spec["cases"]:
        fn = prepare(c["kind"], c["params"], gen)
        out[c["id"]] = None if fn is None else time_case(fn, spec["plan"])
    json.dump({"version": torch.__version__, "threads": torch.get_num_threads(), "samples": out}, sys.stdout)


if __name__ == "__main__":
    main()
