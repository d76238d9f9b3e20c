#!/usr/bin/env python3
"""Golden values for @tessera/nn, computed with PyTorch (run with /usr/bin/python3; CI only reads the output).

Writes to test/fixtures/nn/:
  layers.json        forward/backward of every layer with fixed weights (float64)
  losses.json        every loss and reduction, forward and input gradient (float64)
  optim.json         20-step training trajectories of SGD/Adam/AdamW with schedules and clipping (float64)
  schedulers.json    learning rates (and OneCycle momenta) per step
  torch_written.safetensors + .json   a file written from PyTorch tensors by a from-the-spec writer, and its values
  mlp_weights.safetensors + .json     MLP weights from PyTorch plus the output they give, for a load-and-run check
  tessera_written.check.json          validation of the Tessera-written file (when it exists; see safetensors.test.ts)

torch 1.13 has no safetensors package, so this script implements the format from its specification:
8-byte little-endian header length N, N bytes of JSON header padded with spaces to a multiple of 8,
then the raw little-endian data; entries ordered by the reference Dtype enum (descending), then name.
"""
import hashlib
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'nn')
torch.set_default_dtype(torch.float64)


def enc(t):
    """A tensor as {shape, data} with a flat row-major list (ints for integer tensors)."""
    t = t.detach()
    if t.dtype == torch.bool:
        data = [bool(v) for v in t.reshape(-1).tolist()]
    else:
        data = t.reshape(-1).tolist()
    return {'shape': list(t.shape), 'data': data}


def write_json(name, obj):
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')


def run_case(name, kind, args, module, x, integer_input=False):
    """Forward, then backward of sum(out * gOut): records params, output and all gradients."""
    params = {k: enc(v) for k, v in module.state_dict().items()}
    if not integer_input:
        x = x.clone().requires_grad_()
    y = module(x)
    g = torch.randn(y.shape)
    (y * g).sum().backward()
    case = {
        'name': name, 'kind': kind, 'args': args, 'params': params, 'input': enc(x), 'gradOutput': enc(g),
        'output': enc(y), 'paramGrads': {k: enc(p.grad) for k, p in module.named_parameters()},
    }
    if not integer_input:
        case['inputGrad'] = enc(x.grad)
    return case


class RMSNorm(nn.Module):
    """torch 1.13 has no nn.RMSNorm: x / sqrt(mean(x^2) + eps) * weight, eps defaulting to finfo(dtype).eps."""

    def __init__(self, shape, eps=None):
        super().__init__()
        self.shape = tuple(shape)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(self.shape))

    def forward(self, x):
        dims = tuple(range(-len(self.shape), 0))
        eps = self.eps if self.eps is not None else torch.finfo(x.dtype).eps
        return x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps) * self.weight


class MLP(nn.Module):
    def __init__(self, d, h, act):
        super().__init__()
        self.fc1 = nn.Linear(d, h)
        self.act = act
        self.fc2 = nn.Linear(h, d)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class SwiGLU(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.gate_proj = nn.Linear(d, h, bias=False)
        self.up_proj = nn.Linear(d, h, bias=False)
        self.down_proj = nn.Linear(h, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


def randomize(module):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape) * 0.7)
    return module


def make_layers():
    torch.manual_seed(1)
    cases = []
    cases.append(run_case('linear', 'Linear', {'in': 5, 'out': 3}, nn.Linear(5, 3), torch.randn(2, 4, 5)))
    cases.append(run_case('linear_nobias', 'Linear', {'in': 4, 'out': 2, 'bias': False}, nn.Linear(4, 2, bias=False), torch.randn(3, 4)))
    emb = nn.Embedding(10, 4, padding_idx=1)
    idx = torch.tensor([[1, 3, 3], [9, 1, 0]], dtype=torch.int64)
    cases.append(run_case('embedding_padding', 'Embedding', {'num': 10, 'dim': 4, 'paddingIdx': 1}, emb, idx, integer_input=True))
    emb2 = nn.Embedding(6, 3)
    cases.append(run_case('embedding', 'Embedding', {'num': 6, 'dim': 3}, emb2, torch.tensor([5, 0, 2, 2], dtype=torch.int64), integer_input=True))
    cases.append(run_case('layernorm', 'LayerNorm', {'shape': [3, 4]}, randomize(nn.LayerNorm([3, 4])), torch.randn(2, 3, 4)))
    cases.append(run_case('layernorm_noaffine', 'LayerNorm', {'shape': [5], 'affine': False, 'eps': 1e-3},
                          nn.LayerNorm(5, eps=1e-3, elementwise_affine=False), torch.randn(3, 5)))
    cases.append(run_case('rmsnorm', 'RMSNorm', {'shape': [6], 'eps': 1e-6}, randomize(RMSNorm([6], 1e-6)), torch.randn(2, 3, 6)))
    cases.append(run_case('rmsnorm_default_eps', 'RMSNorm', {'shape': [2, 3]}, randomize(RMSNorm([2, 3])), torch.randn(4, 2, 3)))
    x = torch.linspace(-4, 4, 21).reshape(3, 7) + 0.013  # keep clear of the kink at exactly 0
    acts = [
        ('relu', 'ReLU', {}, nn.ReLU()),
        ('gelu', 'GELU', {}, nn.GELU()),
        ('gelu_tanh', 'GELU', {'approximate': 'tanh'}, nn.GELU(approximate='tanh')),
        ('silu', 'SiLU', {}, nn.SiLU()),
        ('tanh', 'Tanh', {}, nn.Tanh()),
        ('sigmoid', 'Sigmoid', {}, nn.Sigmoid()),
        ('leaky_relu', 'LeakyReLU', {'negativeSlope': 0.2}, nn.LeakyReLU(0.2)),
        ('softplus', 'Softplus', {'beta': 2, 'threshold': 5}, nn.Softplus(beta=2, threshold=5)),
    ]
    for name, kind, args, m in acts:
        cases.append(run_case(name, kind, args, m, x))
    cases.append(run_case('mlp', 'MLP', {'in': 6, 'hidden': 16}, MLP(6, 16, nn.GELU()), torch.randn(4, 6)))
    cases.append(run_case('swiglu', 'SwiGLUMLP', {'dim': 6, 'hidden': 10}, SwiGLU(6, 10), torch.randn(2, 3, 6)))
    seq = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    cases.append(run_case('sequential', 'Sequential', {}, seq, torch.randn(5, 4)))
    write_json('layers.json', cases)


def make_losses():
    torch.manual_seed(2)
    cases = []

    def add(name, fn, opts, inp, target, log_softmax_input=False):
        x = inp.clone()
        if log_softmax_input:
            x = F.log_softmax(x, dim=1 if x.dim() > 1 else 0)
        x = x.detach().requires_grad_()
        out = fn(x, target, **opts)
        g = torch.randn(out.shape)
        (out * g).sum().backward()
        cases.append({'name': name, 'fn': fn.__name__, 'opts': {k: (enc(v) if torch.is_tensor(v) else v) for k, v in opts.items()},
                      'input': enc(x), 'target': enc(target), 'gradOutput': enc(g), 'output': enc(out), 'inputGrad': enc(x.grad)})

    tgt_opts = lambda **kw: kw  # noqa: E731
    logits = torch.randn(6, 5)
    labels = torch.tensor([0, 2, 4, 2, 1, 3])
    w5 = torch.rand(5) + 0.5
    for r in ['mean', 'sum', 'none']:
        add(f'ce_{r}', F.cross_entropy, tgt_opts(reduction=r), logits, labels)
        add(f'ce_weight_ignore_{r}', F.cross_entropy, tgt_opts(reduction=r, weight=w5, ignore_index=2), logits, labels)
        add(f'ce_smooth_{r}', F.cross_entropy, tgt_opts(reduction=r, label_smoothing=0.1, ignore_index=4), logits, labels)
        add(f'ce_smooth_weight_{r}', F.cross_entropy, tgt_opts(reduction=r, weight=w5, label_smoothing=0.2, ignore_index=2), logits, labels)
        add(f'nll_{r}', F.nll_loss, tgt_opts(reduction=r, weight=w5, ignore_index=1), logits, labels, log_softmax_input=True)
    nd = torch.randn(2, 4, 3, 2)
    nd_labels = torch.randint(0, 4, (2, 3, 2))
    nd_labels[0, 1, 1] = -100
    for r in ['mean', 'none']:
        add(f'ce_nd_{r}', F.cross_entropy, tgt_opts(reduction=r, label_smoothing=0.1), nd, nd_labels)
        add(f'ce_nd_weight_{r}', F.cross_entropy, tgt_opts(reduction=r, weight=torch.rand(4) + 0.5), nd, nd_labels)
    probs = F.softmax(torch.randn(3, 5), dim=1)
    for r in ['mean', 'sum', 'none']:
        add(f'ce_probs_{r}', F.cross_entropy, tgt_opts(reduction=r, label_smoothing=0.1, weight=w5), logits[:3], probs)
    add('ce_probs_nd', F.cross_entropy, tgt_opts(), torch.randn(2, 3, 4), F.softmax(torch.randn(2, 3, 4), dim=1))
    add('ce_unbatched', F.cross_entropy, tgt_opts(label_smoothing=0.05), torch.randn(5), torch.tensor(3))
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    y01 = torch.rand(3, 4)
    y01[0] = torch.tensor([0.0, 1.0, 1.0, 0.0])
    for r in ['mean', 'sum', 'none']:
        add(f'mse_{r}', F.mse_loss, tgt_opts(reduction=r), a, b)
        add(f'l1_{r}', F.l1_loss, tgt_opts(reduction=r), a, b)
        add(f'bce_{r}', F.binary_cross_entropy_with_logits, tgt_opts(reduction=r), a * 3, y01)
        add(f'bce_weighted_{r}', F.binary_cross_entropy_with_logits,
            tgt_opts(reduction=r, weight=torch.rand(4) + 0.5, pos_weight=torch.rand(4) * 3), a * 3, y01)
    write_json('losses.json', cases)


def training_model():
    torch.manual_seed(3)
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))


def make_optim():
    torch.manual_seed(4)
    X = torch.randn(8, 3)
    Y = torch.randn(8, 2)
    init = {k: enc(v) for k, v in training_model().state_dict().items()}
    configs = []

    def run(name, make_opt, make_sched, clip, describe):
        model = training_model()
        opt = make_opt(model)
        sched = make_sched(opt)
        losses, norms, lrs = [], [], []
        for _ in range(20):
            opt.zero_grad()
            loss = F.mse_loss(model(X), Y)
            loss.backward()
            norms.append(clip(model.parameters()))
            lrs.append([g['lr'] for g in opt.param_groups])
            opt.step()
            sched.step()
            losses.append(loss.item())
        configs.append({'name': name, **describe, 'losses': losses, 'clipNorms': norms, 'lrs': lrs,
                        'final': {k: enc(v) for k, v in model.state_dict().items()}})

    def norm_clip(max_norm, norm_type=2.0):
        return lambda ps: float(torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type))

    def value_clip(v):
        def f(ps):
            torch.nn.utils.clip_grad_value_(ps, v)
            return None
        return f

    S = torch.optim.lr_scheduler
    run('sgd_momentum_step', lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
        lambda o: S.StepLR(o, step_size=5, gamma=0.5), norm_clip(0.5),
        {'optimizer': {'type': 'SGD', 'lr': 0.1, 'momentum': 0.9, 'dampening': 0.1, 'weightDecay': 0.01},
         'scheduler': {'type': 'StepLR', 'stepSize': 5, 'gamma': 0.5}, 'clip': {'type': 'norm', 'maxNorm': 0.5, 'normType': 2}})
    run('sgd_nesterov_cosine', lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
        lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=5),
                                     S.CosineAnnealingLR(o, T_max=15, eta_min=1e-3)], milestones=[5]),
        value_clip(0.05),
        {'optimizer': {'type': 'SGD', 'lr': 0.05, 'momentum': 0.9, 'nesterov': True, 'weightDecay': 1e-3},
         'scheduler': {'type': 'CosineWithWarmup', 'warmupSteps': 5, 'totalSteps': 20, 'minLr': 1e-3, 'startFactor': 0.1},
         'clip': {'type': 'value', 'clipValue': 0.05}})
    run('adam_amsgrad_onecycle', lambda m: torch.optim.Adam(m.parameters(), lr=0.01, betas=(0.9, 0.99), weight_decay=1e-3, amsgrad=True),
        lambda o: S.OneCycleLR(o, max_lr=0.05, total_steps=20), norm_clip(1.0),
        {'optimizer': {'type': 'Adam', 'lr': 0.01, 'betas': [0.9, 0.99], 'weightDecay': 1e-3, 'amsgrad': True},
         'scheduler': {'type': 'OneCycleLR', 'maxLr': 0.05, 'totalSteps': 20}, 'clip': {'type': 'norm', 'maxNorm': 1.0, 'normType': 2}})
    run('adamw_exponential', lambda m: torch.optim.AdamW(m.parameters(), lr=0.02, weight_decay=0.1),
        lambda o: S.ExponentialLR(o, gamma=0.95), norm_clip(0.3, 1.0),
        {'optimizer': {'type': 'AdamW', 'lr': 0.02, 'weightDecay': 0.1},
         'scheduler': {'type': 'ExponentialLR', 'gamma': 0.95}, 'clip': {'type': 'norm', 'maxNorm': 0.3, 'normType': 1}})
    run('adam_warmup_infclip', lambda m: torch.optim.Adam(m.parameters(), lr=0.03),
        lambda o: S.LinearLR(o, start_factor=0.2, end_factor=1.0, total_iters=6), norm_clip(0.2, math.inf),
        {'optimizer': {'type': 'Adam', 'lr': 0.03},
         'scheduler': {'type': 'LinearWarmup', 'warmupSteps': 6, 'startFactor': 0.2}, 'clip': {'type': 'norm', 'maxNorm': 0.2, 'normType': 'inf'}})

    def grouped(m):
        return torch.optim.SGD([{'params': m[0].parameters(), 'lr': 0.2}, {'params': m[2].parameters(), 'momentum': 0.5}], lr=0.05, momentum=0.9)
    run('sgd_groups_chained', grouped, lambda o: S.ChainedScheduler([S.StepLR(o, 4, 0.5), S.ExponentialLR(o, 0.9)]), value_clip(1.0),
        {'optimizer': {'type': 'SGDGroups'}, 'scheduler': {'type': 'Chained'}, 'clip': {'type': 'value', 'clipValue': 1.0}})
    write_json('optim.json', {'init': init, 'x': enc(X), 'y': enc(Y), 'configs': configs})


def make_schedulers():
    S = torch.optim.lr_scheduler
    out = []

    def record(name, spec, make, opt_kind='sgd', steps=30, lrs=(0.1,)):
        p = [torch.zeros(1, requires_grad=True) for _ in lrs]
        groups = [{'params': [q], 'lr': lr} for q, lr in zip(p, lrs)]
        opt = torch.optim.SGD(groups, lr=lrs[0], momentum=0.9) if opt_kind == 'sgd' else torch.optim.Adam(groups, lr=lrs[0])
        sched = make(opt)
        rows = []
        for _ in range(steps):
            row = {'lr': [g['lr'] for g in opt.param_groups]}
            row['momentum'] = [g['momentum'] if opt_kind == 'sgd' else g['betas'][0] for g in opt.param_groups]
            rows.append(row)
            opt.step()
            sched.step()
        out.append({'name': name, 'optimizer': opt_kind, 'lrs': list(lrs), 'spec': spec, 'steps': rows})

    record('step', {'type': 'StepLR', 'stepSize': 7, 'gamma': 0.5}, lambda o: S.StepLR(o, 7, 0.5), lrs=(0.1, 0.03))
    record('exponential', {'type': 'ExponentialLR', 'gamma': 0.9}, lambda o: S.ExponentialLR(o, 0.9))
    record('linear', {'type': 'LinearLR', 'startFactor': 0.25, 'totalIters': 8}, lambda o: S.LinearLR(o, start_factor=0.25, total_iters=8))
    record('cosine', {'type': 'CosineAnnealingLR', 'tMax': 30, 'etaMin': 0.01}, lambda o: S.CosineAnnealingLR(o, T_max=30, eta_min=0.01))
    record('cosine_warmup', {'type': 'CosineWithWarmup', 'warmupSteps': 5, 'totalSteps': 30, 'minLr': 1e-3, 'startFactor': 0.1},
           lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5), S.CosineAnnealingLR(o, T_max=25, eta_min=1e-3)], [5]))
    record('sequential_step_exp', {'type': 'SequentialStepExp'},
           lambda o: S.SequentialLR(o, [S.StepLR(o, 3, 0.5), S.ExponentialLR(o, 0.9)], [10]))
    record('onecycle_cos', {'type': 'OneCycleLR', 'maxLr': 1.0, 'totalSteps': 30}, lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=30))
    record('onecycle_linear_3phase_adam', {'type': 'OneCycleLR', 'maxLr': [0.5, 0.2], 'totalSteps': 30, 'annealStrategy': 'linear', 'threePhase': True, 'pctStart': 0.25},
           lambda o: S.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=30, anneal_strategy='linear', three_phase=True, pct_start=0.25),
           opt_kind='adam', lrs=(0.1, 0.1))
    record('chained', {'type': 'Chained'}, lambda o: S.ChainedScheduler([S.StepLR(o, 5, 0.5), S.ExponentialLR(o, 0.95)]))
    write_json('schedulers.json', out)


# ---- safetensors, implemented from the format specification ---------------------------------------------------
ST_DTYPES = {  # name: (numpy dtype or None, bytes per element)
    'F64': ('<f8', 8), 'F32': ('<f4', 4), 'F16': ('<f2', 2), 'BF16': (None, 2), 'I64': ('<i8', 8), 'I32': ('<i4', 4), 'BOOL': ('|u1', 1),
}
# The reference implementation's Dtype enum order; its writer sorts by it (descending), then by name.
ST_ORDER = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64']
TORCH_ST = {torch.float64: 'F64', torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.int64: 'I64', torch.int32: 'I32', torch.bool: 'BOOL'}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype('<i2').tobytes()
    if t.dtype == torch.bool:
        return t.numpy().astype('|u1').tobytes()
    return t.numpy().astype(ST_DTYPES[TORCH_ST[t.dtype]][0]).tobytes()


def st_serialize(tensors, metadata=None):
    """tensors: list of (name, dtype-name, shape, raw bytes)."""
    items = sorted(tensors, key=lambda e: (-ST_ORDER.index(e[1]), e[0]))
    parts = []
    if metadata is not None:
        parts.append('"__metadata__":' + json.dumps(metadata, separators=(',', ':'), ensure_ascii=False))
    offset = 0
    for name, dt, shape, raw in items:
        info = {'dtype': dt, 'shape': list(shape), 'data_offsets': [offset, offset + len(raw)]}
        parts.append(json.dumps(name, ensure_ascii=False) + ':' + json.dumps(info, separators=(',', ':')))
        offset += len(raw)
    header = ('{' + ','.join(parts) + '}').encode('utf-8')
    header += b' ' * ((8 - len(header) % 8) % 8)
    return struct.pack('<Q', len(header)) + header + b''.join(raw for _, _, _, raw in items)


def st_parse(buf):
    """Strict parse: returns (entries in header order, metadata, header length, data bytes)."""
    if len(buf) < 8:
        raise ValueError('truncated')
    (n,) = struct.unpack('<Q', buf[:8])
    if n > len(buf) - 8:
        raise ValueError('header past end')
    header_text = buf[8:8 + n].decode('utf-8')
    header = json.loads(header_text, object_pairs_hook=lambda pairs: pairs)
    data = buf[8 + n:]
    entries, metadata = [], None
    for name, info in header:
        if name == '__metadata__':
            metadata = dict(info)
            continue
        info = dict(info)
        assert set(info) == {'dtype', 'shape', 'data_offsets'}, info
        begin, end = info['data_offsets']
        numel = int(np.prod(info['shape'])) if info['shape'] else 1
        assert end - begin == numel * ST_DTYPES[info['dtype']][1], (name, info)
        entries.append((name, info['dtype'], info['shape'], begin, end))
    pos = 0
    for name, _, _, begin, end in sorted(entries, key=lambda e: e[3]):
        assert begin == pos, f'gap or overlap at {name}'
        pos = end
    assert pos == len(data), 'data not fully covered'
    return entries, metadata, n, header_text, data


def st_values(dt, shape, raw):
    if dt == 'BF16':
        return torch.from_numpy(np.frombuffer(raw, dtype='<i2').copy()).view(torch.bfloat16).reshape(shape)
    arr = np.frombuffer(raw, dtype=ST_DTYPES[dt][0]).copy()
    t = torch.from_numpy(arr).reshape(shape)
    return t.bool() if dt == 'BOOL' else t


def special(v):
    """JSON-safe float: non-finite values and -0 as strings."""
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return 'nan'
        if math.isinf(v):
            return 'inf' if v > 0 else '-inf'
        if v == 0 and math.copysign(1, v) < 0:
            return '-0'
    return v


def make_safetensors():
    torch.manual_seed(5)
    tensors = {
        'f32': torch.randn(2, 3, dtype=torch.float32),
        'f64': torch.tensor([1 / 3, -0.0, 5e-324, 1e308, math.inf, -math.inf, math.nan], dtype=torch.float64),
        'i32': torch.tensor([[-2 ** 31, 2 ** 31 - 1], [0, -1], [7, 42]], dtype=torch.int32),
        'bool': torch.tensor([True, False, False, True, True]),
        'f16': torch.tensor([1.5, -0.0, 6e-8, 65504, math.inf, -2.75], dtype=torch.float16),
        'bf16': torch.tensor([1.0, -3.140625, 1e30, 2 ** -130], dtype=torch.bfloat16),
        'i64': torch.tensor([-2 ** 31, 123456789, 2 ** 31 - 1], dtype=torch.int64),
        'scalar': torch.tensor(2.5, dtype=torch.float32),
        'empty': torch.zeros(0, 3, dtype=torch.float32),
        'layers.0.weight': torch.randn(3, 2, dtype=torch.float32),
    }
    metadata = {'format': 'pt', 'source': 'make_nn_fixtures.py'}
    blob = st_serialize([(k, TORCH_ST[v.dtype], v.shape, tensor_bytes(v)) for k, v in tensors.items()], metadata)
    with open(os.path.join(OUT, 'torch_written.safetensors'), 'wb') as f:
        f.write(blob)
    tessera_dtype = {'F32': 'float32', 'F64': 'float64', 'I32': 'int32', 'BOOL': 'bool', 'F16': 'float32', 'BF16': 'float32', 'I64': 'int32'}
    expected = {}
    for k, v in tensors.items():
        dt = TORCH_ST[v.dtype]
        vals = v.reshape(-1).tolist() if dt not in ('F16', 'BF16') else v.float().reshape(-1).tolist()
        expected[k] = {'dtype': tessera_dtype[dt], 'fileDtype': dt, 'shape': list(v.shape), 'data': [special(x) for x in vals]}
    write_json('torch_written.json', {'metadata': metadata, 'tensors': expected})

    # PyTorch weights for a model Tessera builds itself (MLP with fc1/act/fc2), and the output they give.
    torch.manual_seed(6)
    mlp = MLP(4, 8, nn.GELU()).float()
    x = torch.randn(3, 4, dtype=torch.float32)
    sd = mlp.state_dict()
    blob = st_serialize([(k, 'F32', v.shape, tensor_bytes(v)) for k, v in sd.items()], {'format': 'pt'})
    with open(os.path.join(OUT, 'mlp_weights.safetensors'), 'wb') as f:
        f.write(blob)
    write_json('mlp_weights.json', {'input': enc(x), 'output': enc(mlp(x))})


def canonical_tessera_tensors():
    """The tensors safetensors.test.ts writes (kept in sync by hand; the check below fails if they drift)."""
    return {
        'a': torch.arange(6, dtype=torch.float32).reshape(2, 3) * 0.5 - 1,
        'b': torch.tensor([1 / 3, -2.5e-300, 1e300], dtype=torch.float64),
        'c': torch.tensor([[-2 ** 31, 2 ** 31 - 1], [0, -1]], dtype=torch.int32),
        'd': torch.tensor([True, False, True]),
        'e': torch.tensor(3.25, dtype=torch.float32),
        'layers.0.weight': torch.tensor([[0.25, -0.5], [0.75, 1.0]], dtype=torch.float32),
        'z_empty': torch.zeros(0, 2, dtype=torch.float64),
    }


CANONICAL_METADATA = {'format': 'tessera', 'note': 'canonical fixture'}


def check_tessera_file():
    path = os.path.join(OUT, 'tessera_written.safetensors')
    if not os.path.exists(path):
        print('tessera_written.safetensors not found; run the nn tests with TESSERA_WRITE_FIXTURES=1, then rerun this script')
        return
    buf = open(path, 'rb').read()
    entries, metadata, n, header_text, data = st_parse(buf)
    problems = []
    if n % 8 != 0:
        problems.append(f'header length {n} is not a multiple of 8')
    if header_text != header_text.rstrip(' ') + ' ' * (len(header_text) - len(header_text.rstrip(' '))):
        problems.append('header padding is not spaces')
    if metadata != CANONICAL_METADATA:
        problems.append(f'metadata {metadata} != {CANONICAL_METADATA}')
    expected = canonical_tessera_tensors()
    got = {name: st_values(dt, shape, data[b:e]) for name, dt, shape, b, e in entries}
    if set(got) != set(expected):
        problems.append(f'names {sorted(got)} != {sorted(expected)}')
    for k, v in expected.items():
        g = got.get(k)
        if g is None or g.dtype != v.dtype or list(g.shape) != list(v.shape) or not torch.equal(g, v):
            problems.append(f'tensor {k}: got {g}, expected {v}')
    order = [e[0] for e in entries]
    if order != [e[0] for e in sorted(entries, key=lambda e: e[3])]:
        problems.append('header order is not data order')
    reference = st_serialize([(k, TORCH_ST[v.dtype], v.shape, tensor_bytes(v)) for k, v in expected.items()], CANONICAL_METADATA)
    identical = reference == buf
    if not identical:
        problems.append('bytes differ from this script\'s serialization of the same tensors')
    result = {'sha256': hashlib.sha256(buf).hexdigest(), 'byteIdentical': identical, 'valid': not problems, 'problems': problems}
    write_json('tessera_written.check.json', result)
    print('tessera_written.safetensors:', 'OK' if not problems else problems)
    if problems:
        sys.exit(1)


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    make_layers()
    make_losses()
    make_optim()
    make_schedulers()
    make_safetensors()
    check_tessera_file()
    print('wrote fixtures to', os.path.normpath(OUT))
