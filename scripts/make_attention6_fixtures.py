#!/usr/bin/env python3
"""Golden values for @tessera/attention's MoH, MLA, Titans and linear-attention modules (spec §6–8, §9.4).

Run with /usr/bin/python3 (torch 1.13, CPU); CI only reads the output. Every reference below is a small, plain
PyTorch implementation written from the attention spec (loops where the spec states a per-token rule), not a copy
of any repository. Writes to test/fixtures/attention6/:

  linear.json   Lightning attention block (TNL): output and gradients of all parameters and the input
  mla.json      Multi-head Latent Attention (naive path, interleaved RoPE, YaRN scale): output and gradients
  moh.json      Mixture-of-Head attention (released gating, GQA host, RoPE): output, gates, balance loss, gradients
  titans.json   Titans neural memory (2-layer residual-norm MLP, chunks, mini-batches): output and gradients,
                taken through the inner gradient with create_graph=True (double backward)
  titans_arch.json   MAC / MAG / MAL layers built on the same memory: output and gradients

Each case: {name, config, params: {name: {shape, data}}, input, gradOutput, output, grads: {name or 'input': ...}};
the loss differentiated is sum(output * gradOutput) (+ the balance loss for MoH).
"""
import json
import math
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'attention6')
torch.set_default_dtype(torch.float64)


def enc(t):
    t = t.detach()
    return {'shape': list(t.shape), 'data': t.reshape(-1).tolist()}


def write_json(name, obj):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')


def make_params(shapes, scale=0.4, ones=()):
    """Random float64 parameters; names in `ones` are 1 + noise (norm gains)."""
    p = {}
    for name, shape in shapes.items():
        t = torch.randn(*shape) * (0.1 if name in ones else scale)
        if name in ones:
            t = t + 1
        p[name] = t.requires_grad_()
    return p


def run_case(name, config, params, x, fn, extra_loss=None):
    x = x.clone().requires_grad_()
    out = fn(params, x)
    y = out[0] if isinstance(out, tuple) else out
    g = torch.randn(y.shape)
    loss = (y * g).sum()
    if extra_loss is not None:
        loss = loss + extra_loss(out)
    names = list(params.keys())
    grads = torch.autograd.grad(loss, [params[n] for n in names] + [x], allow_unused=True)
    case = {
        'name': name, 'config': config, 'params': {k: enc(v) for k, v in params.items()}, 'input': enc(x),
        'gradOutput': enc(g), 'output': enc(y),
        'grads': {n: enc(gr if gr is not None else torch.zeros_like(params[n])) for n, gr in zip(names, grads[:-1])},
    }
    case['grads']['input'] = enc(grads[-1])
    return case, out


def rms_norm(x, w, eps=None):
    eps = torch.finfo(x.dtype).eps if eps is None else eps
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope_half(x, pos, theta=10000.0):
    D = x.shape[-1]
    inv = theta ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)
    ang = pos[:, None] * inv[None, :]
    cos, sin = ang.cos(), ang.sin()
    a, b = x[..., : D // 2], x[..., D // 2:]
    return torch.cat([a * cos - b * sin, b * cos + a * sin], -1)


def rope_interleaved(x, pos, inv, factor=1.0):
    ang = pos[:, None] * inv[None, :]
    cos, sin = ang.cos() * factor, ang.sin() * factor
    pairs = x.reshape(*x.shape[:-1], x.shape[-1] // 2, 2)
    a, b = pairs[..., 0], pairs[..., 1]
    return torch.stack([a * cos - b * sin, a * sin + b * cos], -1).flatten(-2)


def causal_softmax_attention(q, k, v, scale):
    T, S = q.shape[-2], k.shape[-2]
    scores = q @ k.transpose(-1, -2) * scale
    allowed = torch.ones(T, S, dtype=torch.bool).tril(S - T)
    return scores.masked_fill(~allowed, float('-inf')).softmax(-1) @ v


# ---------------------------------------------------------------------------------------------------------------
# Linear attention (Lightning, TNL block), spec §9.4
# ---------------------------------------------------------------------------------------------------------------
def alibi_slopes(H):
    def pow2(n):
        return [2 ** (-8 * (h + 1) / n) for h in range(n)]
    if math.log2(H).is_integer():
        return pow2(H)
    P = 2 ** math.floor(math.log2(H))
    return pow2(P) + pow2(2 * P)[0::2][: H - P]


def lightning_block(p, x, H, slopes):
    B, T, d = x.shape
    dh = d // H
    heads = lambda t: F.silu(t).view(B, T, H, dh).transpose(1, 2)
    q, k, v = heads(x @ p['q_proj.weight'].T), heads(x @ p['k_proj.weight'].T), heads(x @ p['v_proj.weight'].T)
    s = torch.tensor(slopes).view(H, 1, 1)
    t = torch.arange(T, dtype=torch.float64)
    dist = t[:, None] - t[None, :]
    M = torch.where(dist >= 0, torch.exp(-s * dist.clamp(min=0)), torch.zeros(()))
    o = ((q @ k.transpose(-1, -2)) * M) @ v
    o = o.transpose(1, 2).reshape(B, T, d)
    o = F.layer_norm(o, (d,), p['norm.weight'], p['norm.bias'], 1e-5)
    gate = torch.sigmoid(x @ p['output_gate.0.weight'].T @ p['output_gate.1.weight'].T)
    return (o * gate) @ p['o_proj.weight'].T


def linear_cases():
    cases = []
    for H, layer, layers in [(2, 0, 12), (3, 2, 4)]:
        d, T = 4 * H, 7
        dh = d // H
        slopes = [s * (1 - layer / (layers - 1) + 1e-5) for s in alibi_slopes(H)]
        shapes = {
            'q_proj.weight': (d, d), 'k_proj.weight': (d, d), 'v_proj.weight': (d, d), 'o_proj.weight': (d, d),
            'norm.weight': (d,), 'norm.bias': (d,), 'output_gate.0.weight': (dh, d), 'output_gate.1.weight': (d, dh),
        }
        p = make_params(shapes, 0.5, ones=('norm.weight',))
        cfg = {'hiddenSize': d, 'numHeads': H, 'layerIndex': layer, 'numLayers': layers, 'slopes': slopes}
        case, _ = run_case(f'lightning_H{H}', cfg, p, torch.randn(2, T, d), lambda p, x: lightning_block(p, x, H, slopes))
        cases.append(case)
    return cases


# ---------------------------------------------------------------------------------------------------------------
# MLA, spec §7 (naive path; the TypeScript absorbed path must match it too)
# ---------------------------------------------------------------------------------------------------------------
def yarn_get_mscale(scale, m=1.0):
    return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0


def yarn_inv_freq(dim, base, scaling):
    freqs = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    if scaling is None:
        return freqs
    factor, orig = scaling['factor'], scaling['originalMaxPositionEmbeddings']
    corr = lambda rot: dim * math.log(orig / (rot * 2 * math.pi)) / (2 * math.log(base))
    low = max(math.floor(corr(scaling.get('betaFast', 32))), 0)
    high = min(math.ceil(corr(scaling.get('betaSlow', 1))), dim - 1)
    if low == high:
        high += 0.001
    ramp = ((torch.arange(dim // 2, dtype=torch.float64) - low) / (high - low)).clamp(0, 1)
    smooth = 1 - ramp
    return freqs / factor * (1 - smooth) + freqs * smooth


def mla_forward(p, x, c):
    B, T, d = x.shape
    H, dc, dn, dr, dv = c['numHeads'], c['kvLoraRank'], c['qkNopeHeadDim'], c['qkRopeHeadDim'], c['vHeadDim']
    scaling = c.get('ropeScaling')
    inv = yarn_inv_freq(dr, 10000.0, scaling)
    rope_factor = 1.0
    scale = (dn + dr) ** -0.5
    if scaling:
        ms, msa = scaling.get('mscale', 1.0), scaling.get('mscaleAllDim', 0.0)
        rope_factor = yarn_get_mscale(scaling['factor'], ms) / yarn_get_mscale(scaling['factor'], msa) if (ms and msa) else yarn_get_mscale(scaling['factor'])
        if msa:
            scale = scale * yarn_get_mscale(scaling['factor'], msa) ** 2
    pos = torch.arange(T, dtype=torch.float64)
    if c.get('qLoraRank'):
        cq = rms_norm(x @ p['q_a_proj.weight'].T, p['q_a_layernorm.weight'], 1e-6)
        q = cq @ p['q_b_proj.weight'].T
    else:
        q = x @ p['q_proj.weight'].T
    q = q.view(B, T, H, dn + dr).transpose(1, 2)
    q_nope, q_pe = q[..., :dn], rope_interleaved(q[..., dn:], pos, inv, rope_factor)
    kv_a = x @ p['kv_a_proj_with_mqa.weight'].T
    latent = rms_norm(kv_a[..., :dc], p['kv_a_layernorm.weight'], 1e-6)
    k_pe = rope_interleaved(kv_a[..., dc:], pos, inv, rope_factor)  # [B, T, dr], shared by all heads
    kv = (latent @ p['kv_b_proj.weight'].T).view(B, T, H, dn + dv).transpose(1, 2)
    k = torch.cat([kv[..., :dn], k_pe[:, None].expand(B, H, T, dr)], -1)
    o = causal_softmax_attention(torch.cat([q_nope, q_pe], -1), k, kv[..., dn:], scale)
    return o.transpose(1, 2).reshape(B, T, H * dv) @ p['o_proj.weight'].T


def mla_cases():
    cases = []
    configs = [
        {'hiddenSize': 16, 'numHeads': 2, 'qLoraRank': 6, 'kvLoraRank': 8, 'qkNopeHeadDim': 4, 'qkRopeHeadDim': 4, 'vHeadDim': 3,
         'ropeScaling': {'factor': 40, 'originalMaxPositionEmbeddings': 8, 'betaFast': 32, 'betaSlow': 1, 'mscale': 0.707, 'mscaleAllDim': 0.707}},
        {'hiddenSize': 12, 'numHeads': 3, 'qLoraRank': None, 'kvLoraRank': 5, 'qkNopeHeadDim': 2, 'qkRopeHeadDim': 6, 'vHeadDim': 4,
         'ropeScaling': {'factor': 4, 'originalMaxPositionEmbeddings': 16, 'mscale': 1.0, 'mscaleAllDim': 0.5}},
        {'hiddenSize': 8, 'numHeads': 2, 'qLoraRank': None, 'kvLoraRank': 4, 'qkNopeHeadDim': 3, 'qkRopeHeadDim': 2, 'vHeadDim': 3, 'ropeScaling': None},
    ]
    for i, c in enumerate(configs):
        d, H, dc, dn, dr, dv = c['hiddenSize'], c['numHeads'], c['kvLoraRank'], c['qkNopeHeadDim'], c['qkRopeHeadDim'], c['vHeadDim']
        shapes = {}
        if c['qLoraRank']:
            shapes.update({'q_a_proj.weight': (c['qLoraRank'], d), 'q_a_layernorm.weight': (c['qLoraRank'],), 'q_b_proj.weight': (H * (dn + dr), c['qLoraRank'])})
        else:
            shapes['q_proj.weight'] = (H * (dn + dr), d)
        shapes.update({'kv_a_proj_with_mqa.weight': (dc + dr, d), 'kv_a_layernorm.weight': (dc,), 'kv_b_proj.weight': (H * (dn + dv), dc), 'o_proj.weight': (d, H * dv)})
        p = make_params(shapes, 0.4, ones=('q_a_layernorm.weight', 'kv_a_layernorm.weight'))
        case, _ = run_case(f'mla_{i}', c, p, torch.randn(2, 6, d), lambda p, x: mla_forward(p, x, c))
        cases.append(case)
    return cases


# ---------------------------------------------------------------------------------------------------------------
# MoH, spec §6.3–6.4 (released-code gating)
# ---------------------------------------------------------------------------------------------------------------
def moh_forward(p, x, c):
    B, T, d = x.shape
    H, Hkv, hs, K = c['numHeads'], c['numKvHeads'], c['sharedHeads'], c['routedTopK']
    dh = d // H
    hr = H - hs
    eps = torch.finfo(x.dtype).eps
    balance = None
    routed = None
    if K > 0:
        probs = (x @ p['wg.weight'].T).softmax(-1)
        idx = probs.topk(K, -1).indices
        mask = torch.zeros_like(probs).scatter(-1, idx, 1.0)
        kept = probs * mask
        routed = K * kept / kept.sum(-1, keepdim=True).clamp(min=eps)
        P = probs.reshape(-1, hr).mean(0)
        f = mask.reshape(-1, hr).mean(0)
        balance = hr * (P * f).sum()
    if hs == 0:
        gates = routed
    else:
        shared = hs * (x @ p['wg_1.weight'].T).softmax(-1) if hs > 1 else torch.ones(B, T, 1)
        if K == 0:
            gates = shared
        else:
            a = 2 * (x @ p['wg_0.weight'].T).softmax(-1)
            gates = torch.cat([shared * a[..., :1], routed * a[..., 1:]], -1)
    pos = torch.arange(T, dtype=torch.float64)
    q = rope_half((x @ p['q_proj.weight'].T).view(B, T, H, dh).transpose(1, 2), pos)
    k = rope_half((x @ p['k_proj.weight'].T).view(B, T, Hkv, dh).transpose(1, 2), pos)
    v = (x @ p['v_proj.weight'].T).view(B, T, Hkv, dh).transpose(1, 2)
    g = H // Hkv
    k, v = k.repeat_interleave(g, 1), v.repeat_interleave(g, 1)
    o = causal_softmax_attention(q, k, v, dh ** -0.5)  # [B, H, T, dh]
    o = o * gates.transpose(1, 2)[..., None]
    y = o.transpose(1, 2).reshape(B, T, H * dh) @ p['o_proj.weight'].T
    return y, gates, balance


def moh_cases():
    cases = []
    for H, Hkv, hs, K in [(4, 2, 2, 1), (4, 4, 1, 2), (4, 2, 0, 2), (4, 2, 4, 0), (6, 3, 2, 3)]:
        d = 4 * H
        dh = d // H
        shapes = {'q_proj.weight': (d, d), 'k_proj.weight': (Hkv * dh, d), 'v_proj.weight': (Hkv * dh, d), 'o_proj.weight': (d, d)}
        if K > 0:
            shapes['wg.weight'] = (H - hs, d)
        if K > 0 and hs > 0:
            shapes['wg_0.weight'] = (2, d)
        if hs > 1:
            shapes['wg_1.weight'] = (hs, d)
        p = make_params(shapes, 0.4)
        cfg = {'hiddenSize': d, 'numHeads': H, 'numKvHeads': Hkv, 'sharedHeads': hs, 'routedTopK': K}
        case, out = run_case(f'moh_h{H}_kv{Hkv}_s{hs}_k{K}', cfg, p, torch.randn(2, 5, d), lambda p, x: moh_forward(p, x, cfg),
                             extra_loss=lambda o: o[2] if o[2] is not None else 0.0)
        case['gates'] = enc(out[1])
        case['balanceLoss'] = None if out[2] is None else out[2].item()
        cases.append(case)
    return cases


# ---------------------------------------------------------------------------------------------------------------
# Titans neural memory, spec §8.1–8.4 — literal per-token inner gradients with autograd (create_graph=True)
# ---------------------------------------------------------------------------------------------------------------
def memory_apply(W, k, depth, residual):
    h = k
    for l in range(depth):
        h = h @ W[l]
        if l < depth - 1:
            h = F.gelu(h)
    if not residual:
        return h
    return F.layer_norm(h, (h.shape[-1],), eps=1e-5) * (1 + W[depth]) + k


def neural_memory_forward(p, x, c, prefix='', return_final=False):
    B, T, d = x.shape
    H, dh, C, b, depth = c['heads'], c['headDim'], c['chunkSize'], c['batchSize'], c['memoryDepth']
    residual = depth > 1
    theta_max = c.get('maxLearningRate', 1.0)
    p = {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}
    xh = rms_norm(x, p['store_norm.weight'])
    k = (xh @ p['to_keys.weight'].T).view(B, T, H, dh)
    v = (xh @ p['to_values.weight'].T).view(B, T, H, dh)
    theta = torch.sigmoid(xh @ p['to_adaptive_step.weight'].T + p['to_adaptive_step.bias']) * theta_max  # [B, T, H]
    n = T // C
    pooled = xh[:, : n * C].reshape(B, n, C, d).mean(2)
    eta = torch.sigmoid(pooled @ p['to_momentum.weight'].T + p['to_momentum.bias'])  # [B, n, H]
    alpha = torch.sigmoid(pooled @ p['to_decay_factor.weight'].T + p['to_decay_factor.bias'])
    xr = rms_norm(x, p['retrieve_norm.weight'])
    q = (xr @ p['to_queries.weight'].T).view(B, T, H, dh)
    names = [f'memory_model.w{l}' for l in range(depth)] + (['memory_model.gamma'] if residual else [])
    rows = []
    finals = []
    for bi in range(B):
        head_rows = []
        finals.append([])
        for h in range(H):
            W0 = [p[nm][h] for nm in names]
            W, S = W0, [torch.zeros_like(w) for w in W0]
            after = [W0]
            anchor = W0
            for ci in range(n):
                if b is None:
                    at = W0
                elif (ci * C) % b == 0:
                    at = anchor = W
                else:
                    at = anchor
                u = [torch.zeros_like(w) for w in W0]
                for t in range(ci * C, (ci + 1) * C):
                    loss = (memory_apply(at, k[bi, t, h][None], depth, residual) - v[bi, t, h][None]).pow(2).mean()
                    gr = torch.autograd.grad(loss, at, create_graph=True)
                    u = [ui - theta[bi, t, h] * gi for ui, gi in zip(u, gr)]
                S = [eta[bi, ci, h] * s + ui for s, ui in zip(S, u)]
                W = [(1 - alpha[bi, ci, h]) * w + s for w, s in zip(W, S)]
                after.append(W)
            finals[bi].append(after[-1])
            outs = [memory_apply(after[(t + 1) // C], q[bi, t, h][None], depth, residual)[0] for t in range(T)]
            head_rows.append(torch.stack(outs))  # [T, dh]
        rows.append(torch.stack(head_rows, 1))  # [T, H, dh]
    r = torch.stack(rows)  # [B, T, H, dh]
    out = readout(p, xr, r, c)
    return (out, finals) if return_final else out


def readout(p, xr, r, c):
    B, T = xr.shape[:2]
    H, dh, d = c['heads'], c['headDim'], c['dim']
    if H > 1:
        r = r * torch.sigmoid(xr @ p['retrieve_gate.weight'].T)[..., None]
    out = r.reshape(B, T, H * dh)
    if H > 1 or H * dh != d:
        out = out @ p['combine_heads.weight'].T
    return out


def memory_retrieve_static(p, x, c, weights, prefix=''):
    """Read-only retrieval: every token reads `weights` (per batch, per head; None = the learned W^(0))."""
    p = {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}
    B, T, d = x.shape
    H, dh, depth = c['heads'], c['headDim'], c['memoryDepth']
    names = [f'memory_model.w{l}' for l in range(depth)] + (['memory_model.gamma'] if depth > 1 else [])
    xr = rms_norm(x, p['retrieve_norm.weight'])
    q = (xr @ p['to_queries.weight'].T).view(B, T, H, dh)
    rows = []
    for bi in range(B):
        heads = []
        for h in range(H):
            W = weights[bi][h] if weights is not None else [p[nm][h] for nm in names]
            heads.append(memory_apply(W, q[bi, :, h], depth, depth > 1))
        rows.append(torch.stack(heads, 1))
    return readout(p, xr, torch.stack(rows), c)


def neural_memory_shapes(c):
    d, H, dh, depth, e = c['dim'], c['heads'], c['headDim'], c['memoryDepth'], c['memoryExpansion']
    hidden = int(dh * e)
    widths = [dh] + [hidden] * (depth - 1) + [dh]
    shapes = {
        'store_norm.weight': (d,), 'retrieve_norm.weight': (d,), 'to_queries.weight': (H * dh, d), 'to_keys.weight': (H * dh, d),
        'to_values.weight': (H * dh, d), 'to_adaptive_step.weight': (H, d), 'to_adaptive_step.bias': (H,), 'to_momentum.weight': (H, d),
        'to_momentum.bias': (H,), 'to_decay_factor.weight': (H, d), 'to_decay_factor.bias': (H,),
    }
    if H > 1:
        shapes['retrieve_gate.weight'] = (H, d)
    if H > 1 or H * dh != d:
        shapes['combine_heads.weight'] = (d, H * dh)
    for l in range(depth):
        shapes[f'memory_model.w{l}'] = (H, widths[l], widths[l + 1])
    if depth > 1:
        shapes['memory_model.gamma'] = (H, dh)
    return shapes


def titans_cases():
    cases = []
    for i, (H, C, b, depth, T) in enumerate([(2, 2, None, 2, 7), (2, 2, 4, 2, 9), (1, 1, None, 2, 5), (2, 3, 3, 1, 7)]):
        c = {'dim': 8, 'heads': H, 'headDim': 4, 'chunkSize': C, 'batchSize': b, 'memoryDepth': depth, 'memoryExpansion': 2}
        p = make_params(neural_memory_shapes(c), 0.4, ones=('store_norm.weight', 'retrieve_norm.weight'))
        case, _ = run_case(f'neural_memory_{i}', c, p, torch.randn(2, T, 8), lambda p, x: neural_memory_forward(p, x, c))
        cases.append(case)
    return cases


# ---------------------------------------------------------------------------------------------------------------
# Titans MAC / MAG / MAL, spec §8.5–8.6 (this spec's choices for the gate and the MAC mask)
# ---------------------------------------------------------------------------------------------------------------
def window_attention(p, prefix, x, heads, n_persistent, window):
    """Causal attention; keys at positions < n_persistent always visible, others within `window` keys."""
    B, T, d = x.shape
    dh = d // heads
    proj = lambda name: (x @ p[f'{prefix}{name}.weight'].T).view(B, T, heads, dh).transpose(1, 2)
    q, k, v = proj('q_proj'), proj('k_proj'), proj('v_proj')
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    allowed = (j <= i) & ((j < n_persistent) | (i - j < window))
    scores = (q @ k.transpose(-1, -2)) * dh ** -0.5
    o = scores.masked_fill(~allowed, float('-inf')).softmax(-1) @ v
    return o.transpose(1, 2).reshape(B, T, d) @ p[f'{prefix}o_proj.weight'].T


def gate(p, y, r):
    return rms_norm(y, p['attention_norm.weight']) * torch.sigmoid(rms_norm(r, p['memory_norm.weight']))


def prepend(p, x):
    P = p['persistent_memory']
    return torch.cat([P[None].expand(x.shape[0], *P.shape), x], 1), P.shape[0]


def mag_forward(p, x, c):
    xt, n = prepend(p, x)
    y = window_attention(p, 'attention.', xt, c['heads'], n, c['window'])
    m = neural_memory_forward(p, xt, c['memory'], prefix='memory.')
    return gate(p, y, m)[:, n:]


def mal_forward(p, x, c):
    xt, n = prepend(p, x)
    y = neural_memory_forward(p, xt, c['memory'], prefix='memory.')
    return window_attention(p, 'attention.', y, c['heads'], n, c['window'])[:, n:]


def mac_forward(p, x, c):
    """Per segment: h = memory before the segment read with the segment; attention over [P; h; segment] (h_j and
    x_j visible to segment offsets >= j); y written into the memory (whose stream is all y so far); gate."""
    B, T, d = x.shape
    H, seg, mc = c['heads'], c['segmentLength'], c['memory']
    dh = d // H
    P = p['persistent_memory']
    n = P.shape[0]
    stream = None
    outs = []
    for s0 in range(0, T, seg):
        xs = x[:, s0:s0 + seg]
        L = xs.shape[1]
        before = None if stream is None else neural_memory_forward(p, stream, mc, prefix='memory.', return_final=True)[1]
        h = memory_retrieve_static(p, xs, mc, before, prefix='memory.')
        proj = lambda t, name: (t @ p[f'{name}.weight'].T).view(B, t.shape[1], H, dh).transpose(1, 2)
        window = torch.cat([P[None].expand(B, n, d), h, xs], 1)
        q, k, v = proj(xs, 'q_proj'), proj(window, 'k_proj'), proj(window, 'v_proj')
        i = torch.arange(L)[:, None]
        j = torch.arange(L)[None, :]
        allowed = torch.cat([torch.ones(L, n, dtype=torch.bool), j <= i, j <= i], 1)
        o = ((q @ k.transpose(-1, -2)) * dh ** -0.5).masked_fill(~allowed, float('-inf')).softmax(-1) @ v
        y = o.transpose(1, 2).reshape(B, L, d) @ p['o_proj.weight'].T
        stream = y if stream is None else torch.cat([stream, y], 1)
        r = neural_memory_forward(p, stream, mc, prefix='memory.')[:, -L:]
        outs.append(gate(p, y, r))
    return torch.cat(outs, 1)


def titans_arch_cases():
    cases = []
    mem = {'dim': 8, 'heads': 2, 'headDim': 4, 'chunkSize': 2, 'batchSize': None, 'memoryDepth': 2, 'memoryExpansion': 2}
    d, n = 8, 2
    attn = lambda prefix: {f'{prefix}{k}_proj.weight': (d, d) for k in 'qkvo'}
    mem_shapes = lambda: {f'memory.{k}': v for k, v in neural_memory_shapes(mem).items()}
    ones = ('memory.store_norm.weight', 'memory.retrieve_norm.weight', 'attention_norm.weight', 'memory_norm.weight')
    for kind in ['mac', 'mag', 'mal']:
        shapes = {'persistent_memory': (n, d), **mem_shapes()}
        if kind == 'mac':
            shapes.update(attn(''))
        else:
            shapes.update(attn('attention.'))
        if kind != 'mal':
            shapes.update({'attention_norm.weight': (d,), 'memory_norm.weight': (d,)})
        c = {'dim': d, 'heads': 2, 'numPersistent': n, 'memory': mem, 'window': 3, 'segmentLength': 3}
        p = make_params(shapes, 0.4, ones=ones)
        fn = {'mac': mac_forward, 'mag': mag_forward, 'mal': mal_forward}[kind]
        case, _ = run_case(kind, c, p, torch.randn(2, 7, d), lambda p, x: fn(p, x, c))
        cases.append(case)
    return cases


if __name__ == '__main__':
    torch.manual_seed(0)
    write_json('linear.json', linear_cases())
    write_json('mla.json', mla_cases())
    write_json('moh.json', moh_cases())
    write_json('titans.json', titans_cases())
    write_json('titans_arch.json', titans_arch_cases())
    print('wrote', OUT)
