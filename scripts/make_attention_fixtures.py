#!/usr/bin/env python3
"""PyTorch golden values for @tessera/attention (forward outputs and gradients, float64).

Regenerate (needs torch >= 1.13; CI has no torch, so the output is committed):
    /usr/bin/python3 scripts/make_attention_fixtures.py
Writes test/fixtures/attention/{sdpa,mha,gqa,rope}.json, read by packages/attention/test/*.test.ts.

torch 1.13 has nn.MultiheadAttention but no F.scaled_dot_product_attention, so SDPA, the LLaMA-style grouped-query
attention and RoPE are small reference implementations below, written from the attention spec (sections 2, 4.2,
9.6) in plain tensor ops: SDPA in its "equivalent math" form, GQA with Hugging Face's repeat_kv (expand + reshape),
rotate-half RoPE with HF's rotate_half, interleaved RoPE through complex multiplication (Meta's LLaMA). The
nn.MultiheadAttention cases run torch's own module and store its state dict, which the TS side loads.

Every case stores its inputs, the forward outputs, a fixed upstream gradient and the gradients of every input that
requires grad (for modules: of the inputs and of every parameter, by state-dict name).
"""
import json
import math
import os

import torch

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'attention')
F64 = torch.float64
NEG_INF = float('-inf')


def enc_num(v):
    if math.isnan(v):
        return 'NaN'
    if math.isinf(v):
        return 'Infinity' if v > 0 else '-Infinity'
    return float('%.12g' % v)


def enc(t):
    """A tensor as {shape, dtype, data}; bool stays bool, -inf becomes the string '-Infinity'."""
    t = t.detach()
    if t.dtype == torch.bool:
        return {'shape': list(t.shape), 'dtype': 'bool', 'data': [bool(x) for x in t.reshape(-1).tolist()]}
    return {'shape': list(t.shape), 'dtype': 'float64', 'data': [enc_num(float(x)) for x in t.reshape(-1).tolist()]}


def rounded(t):
    """Rounded to 6 decimals, so the stored inputs are exactly the values the outputs were computed from."""
    return torch.round(t * 1e6) / 1e6


def rand(*shape, gen, scale=1.0):
    return rounded(torch.randn(*shape, generator=gen, dtype=F64) * scale)


def bool_mask(shape, gen, p=0.7):
    """Random bool mask (True = may attend) with at least one True per row, so no row is fully masked."""
    m = torch.rand(*shape, generator=gen) < p
    m[..., 0] = True
    return m


def grads_of(out, inputs, gen):
    up = rand(*out.shape, gen=gen)
    gs = torch.autograd.grad(out, inputs, up, allow_unused=True)
    return up, [None if g is None else g for g in gs]


# ---- SDPA ---------------------------------------------------------------------------------------------------------

def sdpa_ref(q, k, v, attn_mask=None, is_causal=False, alignment='topLeft', scale=None, enable_gqa=False):
    """The "equivalent math" of torch.nn.functional.scaled_dot_product_attention (spec §2.2), plus bottom-right."""
    L, S = q.size(-2), k.size(-2)
    s = 1 / math.sqrt(q.size(-1)) if scale is None else scale
    bias = torch.zeros(L, S, dtype=q.dtype)
    if is_causal:
        offset = S - L if alignment == 'bottomRight' else 0
        allowed = torch.ones(L, S, dtype=torch.bool).tril(diagonal=offset)
        bias = bias.masked_fill(~allowed, NEG_INF)
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            bias = torch.where(attn_mask, bias, torch.tensor(NEG_INF, dtype=q.dtype))
        else:
            bias = bias + attn_mask
    if enable_gqa:
        k = k.repeat_interleave(q.size(-3) // k.size(-3), -3)
        v = v.repeat_interleave(q.size(-3) // v.size(-3), -3)
    w = torch.softmax(q @ k.transpose(-2, -1) * s + bias, dim=-1)
    return w @ v


def sdpa_cases():
    cases = []

    def case(name, qs, ks, vs, seed, mask=None, mask_grad=False, **opts):
        gen = torch.Generator().manual_seed(seed)
        q, k, v = rand(*qs, gen=gen), rand(*ks, gen=gen), rand(*vs, gen=gen)
        m = None
        if mask is not None:
            m = mask(gen)
        leaves = [x.requires_grad_() for x in (q, k, v)]
        if m is not None and mask_grad:
            m.requires_grad_()
            leaves.append(m)
        out = sdpa_ref(q, k, v, attn_mask=m, **opts)
        up, gs = grads_of(out, leaves, gen)
        cases.append({
            'name': name, 'options': opts,
            'q': enc(q), 'k': enc(k), 'v': enc(v), 'mask': None if m is None else enc(m), 'maskGrad': mask_grad,
            'out': enc(out), 'upstream': enc(up), 'grads': [enc(g) for g in gs],
        })

    case('plain, L != S, E != Ev', [2, 3, 4, 5], [2, 3, 6, 5], [2, 3, 6, 7], 1)
    case('bool mask [L, S]', [2, 3, 4, 5], [2, 3, 6, 5], [2, 3, 6, 5], 2, mask=lambda g: bool_mask([4, 6], g))
    case('bool mask per batch, broadcast over heads', [2, 3, 4, 5], [2, 3, 6, 5], [2, 3, 6, 5], 3, mask=lambda g: bool_mask([2, 1, 4, 6], g))
    case('float mask per head, differentiable', [2, 3, 4, 5], [2, 3, 6, 5], [2, 3, 6, 5], 4, mask=lambda g: rand(2, 3, 4, 6, gen=g), mask_grad=True)
    case('float mask with -inf entries', [2, 2, 4, 3], [2, 2, 5, 3], [2, 2, 5, 3], 5,
         mask=lambda g: torch.where(bool_mask([4, 5], g), rand(4, 5, gen=g), torch.tensor(NEG_INF, dtype=F64)))
    case('causal top-left, square', [2, 2, 5, 4], [2, 2, 5, 4], [2, 2, 5, 4], 6, is_causal=True)
    case('causal top-left, L < S', [1, 2, 3, 4], [1, 2, 6, 4], [1, 2, 6, 4], 7, is_causal=True)
    case('causal top-left, L > S', [1, 2, 6, 4], [1, 2, 4, 4], [1, 2, 4, 3], 8, is_causal=True)
    case('causal bottom-right, L < S', [2, 2, 3, 4], [2, 2, 7, 4], [2, 2, 7, 4], 9, is_causal=True, alignment='bottomRight')
    case('explicit scale', [2, 2, 4, 5], [2, 2, 4, 5], [2, 2, 4, 5], 10, scale=0.3)
    case('gqa 6 query heads over 2 kv heads, causal', [2, 6, 4, 4], [2, 2, 4, 4], [2, 2, 4, 3], 11, is_causal=True, enable_gqa=True)
    case('gqa with float mask per query head', [1, 4, 3, 4], [1, 1, 5, 4], [1, 1, 5, 4], 12,
         mask=lambda g: rand(4, 3, 5, gen=g), mask_grad=True, enable_gqa=True)
    case('3-D inputs (no batch dim)', [3, 4, 5], [3, 6, 5], [3, 6, 2], 13, mask=lambda g: bool_mask([3, 4, 6], g))
    return cases


# ---- nn.MultiheadAttention ----------------------------------------------------------------------------------------

def mha_cases():
    cases = []

    def case(name, seed, E, H, L, S, N, kdim=None, vdim=None, batch_first=False, bias=True, add_bias_kv=False,
             add_zero_attn=False, kpm=False, attn_mask=None, need_weights=True, average=True, unbatched=False):
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        mod = torch.nn.MultiheadAttention(E, H, bias=bias, add_bias_kv=add_bias_kv, add_zero_attn=add_zero_attn,
                                          kdim=kdim, vdim=vdim, batch_first=batch_first, dtype=F64)
        with torch.no_grad():  # zero-initialised biases would hide bias bugs
            for name_, p in mod.named_parameters():
                p.copy_(rand(*p.shape, gen=gen, scale=0.1) if 'bias' in name_ else rounded(p))
        kd, vd = kdim or E, vdim or E

        def seq(length, width):
            if unbatched:
                return rand(length, width, gen=gen)
            return rand(N, length, width, gen=gen) if batch_first else rand(length, N, width, gen=gen)

        query, key, value = seq(L, E), seq(S, kd), seq(S, vd)
        if kd == E and vd == E and name.startswith('self'):
            key, value = query.clone(), query.clone()
        masks = {}
        if kpm:
            m = torch.rand((S,) if unbatched else (N, S), generator=gen) < 0.3
            m[..., 0] = False  # keep one real key per row
            masks['keyPaddingMask'] = m
        if attn_mask == 'bool':
            m = torch.rand(L, S, generator=gen) < 0.3
            m[:, 0] = False
            masks['attnMask'] = m
        elif attn_mask == 'float':
            masks['attnMask'] = rand(N * H, L, S, gen=gen)
        for t in (query, key, value):
            t.requires_grad_()
        out, weights = mod(query, key, value, key_padding_mask=masks.get('keyPaddingMask'), need_weights=need_weights,
                           attn_mask=masks.get('attnMask'), average_attn_weights=average)
        params = dict(mod.named_parameters())
        up = rand(*out.shape, gen=gen)
        leaves = [query, key, value] + list(params.values())
        gs = torch.autograd.grad(out, leaves, up)
        cases.append({
            'name': name,
            'config': {'embedDim': E, 'numHeads': H, 'kdim': kd, 'vdim': vd, 'batchFirst': batch_first, 'bias': bias,
                       'addBiasKv': add_bias_kv, 'addZeroAttn': add_zero_attn},
            'call': {'needWeights': need_weights, 'averageAttnWeights': average},
            'state': {k: enc(v) for k, v in mod.state_dict().items()},
            'query': enc(query), 'key': enc(key), 'value': enc(value),
            'masks': {k: enc(v) for k, v in masks.items()},
            'out': enc(out), 'weights': None if weights is None else enc(weights), 'upstream': enc(up),
            'inputGrads': [enc(g) for g in gs[:3]],
            'paramGrads': {k: enc(g) for k, g in zip(params.keys(), gs[3:])},
        })

    case('self-attention, packed in_proj, seq-first, key padding', 1, E=8, H=2, L=4, S=4, N=2, kpm=True)
    case('cross kdim/vdim, batch-first, bool attn mask, per-head weights', 2, E=8, H=4, L=3, S=5, N=2, kdim=6, vdim=5,
         batch_first=True, attn_mask='bool', average=False)
    case('float attn mask per batch-head, no bias', 3, E=6, H=3, L=4, S=5, N=2, attn_mask='float', bias=False)
    case('bias_kv and zero attn with key padding', 4, E=8, H=2, L=3, S=4, N=2, kdim=5, vdim=7, add_bias_kv=True,
         add_zero_attn=True, kpm=True)
    case('unbatched, need_weights false', 5, E=4, H=2, L=3, S=5, N=1, kdim=3, vdim=3, unbatched=True,
         need_weights=False, kpm=True)
    return cases


# ---- LLaMA-style GQA with RoPE -------------------------------------------------------------------------------------

def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def rope_ref(x, positions, theta, convention, rotary_dim):
    """RoPE on x [..., T, D] at positions (broadcastable to x.shape[:-1])."""
    rd = rotary_dim
    inv = theta ** (-torch.arange(0, rd, 2, dtype=F64) / rd)
    ang = positions.to(F64)[..., None] * inv
    xr, xp = x[..., :rd], x[..., rd:]
    if convention == 'half':  # Hugging Face: x * cos + rotate_half(x) * sin with duplicated frequencies
        cos, sin = torch.cat([ang.cos(), ang.cos()], -1), torch.cat([ang.sin(), ang.sin()], -1)
        out = xr * cos + rotate_half(xr) * sin
    else:  # Meta LLaMA: consecutive pairs as complex numbers times e^{i·angle}
        z = torch.view_as_complex(xr.reshape(*xr.shape[:-1], rd // 2, 2).contiguous())
        out = torch.view_as_real(z * torch.polar(torch.ones_like(ang), ang)).flatten(-2)
    return torch.cat([out, xp], dim=-1)


def llama_attention(x, wq, wk, wv, wo, H, Hkv, dh, rope, causal=True):
    B, T, _ = x.shape
    q = (x @ wq.T).view(B, T, H, dh).transpose(1, 2)
    k = (x @ wk.T).view(B, T, Hkv, dh).transpose(1, 2)
    v = (x @ wv.T).view(B, T, Hkv, dh).transpose(1, 2)
    if rope is not None:
        pos = torch.arange(T) + rope.get('offset', 0)
        q = rope_ref(q, pos, rope['theta'], rope['convention'], rope['rotaryDim'])
        k = rope_ref(k, pos, rope['theta'], rope['convention'], rope['rotaryDim'])
    g = H // Hkv
    k = k[:, :, None].expand(B, Hkv, g, T, dh).reshape(B, H, T, dh)  # HF repeat_kv
    v = v[:, :, None].expand(B, Hkv, g, T, dh).reshape(B, H, T, dh)
    scores = q @ k.transpose(-2, -1) / math.sqrt(dh)
    if causal:
        scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), NEG_INF)
    o = torch.softmax(scores, -1) @ v
    return o.transpose(1, 2).reshape(B, T, H * dh) @ wo.T


def gqa_cases():
    cases = []

    def case(name, seed, d, H, Hkv, dh, B, T, rope, causal=True):
        gen = torch.Generator().manual_seed(seed)
        x = rand(B, T, d, gen=gen)
        params = {
            'q_proj.weight': rand(H * dh, d, gen=gen, scale=0.3), 'k_proj.weight': rand(Hkv * dh, d, gen=gen, scale=0.3),
            'v_proj.weight': rand(Hkv * dh, d, gen=gen, scale=0.3), 'o_proj.weight': rand(d, H * dh, gen=gen, scale=0.3),
        }
        leaves = [x] + list(params.values())
        for t in leaves:
            t.requires_grad_()
        out = llama_attention(x, *params.values(), H=H, Hkv=Hkv, dh=dh, rope=rope, causal=causal)
        up, gs = grads_of(out, leaves, gen)
        cases.append({
            'name': name,
            'config': {'hiddenSize': d, 'numHeads': H, 'numKvHeads': Hkv, 'headDim': dh, 'causal': causal,
                       'rope': None if rope is None else {k: v for k, v in rope.items() if k != 'offset'}},
            'state': {k: enc(v) for k, v in params.items()},
            'x': enc(x), 'out': enc(out), 'upstream': enc(up),
            'inputGrads': [enc(gs[0])], 'paramGrads': {k: enc(g) for k, g in zip(params.keys(), gs[1:])},
        })

    case('gqa 4/2 heads, rotate-half rope', 1, d=16, H=4, Hkv=2, dh=4, B=2, T=5,
         rope={'theta': 10000.0, 'convention': 'half', 'rotaryDim': 4})
    case('mqa 4/1 heads, interleaved partial rope, theta 5e5', 2, d=12, H=4, Hkv=1, dh=6, B=2, T=4,
         rope={'theta': 500000.0, 'convention': 'interleaved', 'rotaryDim': 4})
    case('mha 3/3 heads, head dim != d/H, no rope, non-causal', 3, d=10, H=3, Hkv=3, dh=4, B=1, T=6, rope=None, causal=False)
    case('gqa 6/3 heads, partial rotate-half rope', 4, d=12, H=6, Hkv=3, dh=4, B=2, T=3,
         rope={'theta': 10000.0, 'convention': 'half', 'rotaryDim': 2})
    return cases


# ---- RoPE ----------------------------------------------------------------------------------------------------------

def rope_cases():
    cases = []

    def case(name, seed, shape, convention, rotary_dim, theta, offset=0, per_row=False):
        gen = torch.Generator().manual_seed(seed)
        x = rand(*shape, gen=gen).requires_grad_()
        T = shape[-2]
        if per_row:  # [B, 1, T] positions, one row per batch entry
            pos = torch.randint(0, 50, (shape[0], 1, T), generator=gen)
        else:
            pos = torch.arange(T) + offset
        out = rope_ref(x, pos, theta, convention, rotary_dim)
        up, gs = grads_of(out, [x], gen)
        cases.append({
            'name': name, 'convention': convention, 'rotaryDim': rotary_dim, 'theta': theta,
            'offset': offset, 'positions': pos.reshape(-1).tolist() if per_row else None,
            'positionsShape': list(pos.shape) if per_row else None,
            'x': enc(x), 'out': enc(out), 'upstream': enc(up), 'grads': [enc(gs[0])],
        })

    case('rotate-half, offset 3', 1, [2, 3, 5, 8], 'half', 8, 10000.0, offset=3)
    case('interleaved, offset 3', 2, [2, 3, 5, 8], 'interleaved', 8, 10000.0, offset=3)
    case('rotate-half partial 4 of 6, theta 5e5', 3, [2, 4, 6], 'half', 4, 500000.0, offset=7)
    case('interleaved partial 2 of 6', 4, [1, 2, 4, 6], 'interleaved', 2, 10000.0)
    case('per-row positions [B, 1, T]', 5, [2, 2, 3, 4], 'half', 4, 10000.0, per_row=True)
    return cases


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    groups = {'sdpa': sdpa_cases, 'mha': mha_cases, 'gqa': gqa_cases, 'rope': rope_cases}
    for name, make in groups.items():
        path = os.path.join(OUT_DIR, f'{name}.json')
        with open(path, 'w') as f:
            json.dump({'generator': 'scripts/make_attention_fixtures.py', 'torch': torch.__version__, 'cases': make()},
                      f, separators=(',', ':'))
        print(f'wrote {path}')


if __name__ == '__main__':
    main()
