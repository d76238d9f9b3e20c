#!/usr/bin/env python3
"""Golden values for every @tessera/core op, computed with PyTorch in float64.

Regenerate (needs torch >= 1.13 and numpy; CI has neither, so the output is committed):
    pnpm fixtures            # = /usr/bin/python3 scripts/make_fixtures.py
Writes test/fixtures/golden-ops.json, read by test/golden/*.test.ts.

Each case names a Tessera op, its inputs (values stored, so the TS side needs no RNG match), its options (`args`),
the forward outputs, a fixed upstream gradient for every differentiable output and the gradient of every input that
requires grad. An input may carry `view` steps (transpose, slice, ...) that the TS side applies to the leaf before the
op, to exercise non-contiguous inputs; gradients are always with respect to the leaf. The torch side of each op
lives in TORCH_OPS below (one entry per Tessera op, the mirror of the TS table in test/golden/).

Dtypes: 'float' inputs are float64 here; the TS side uses float64 where the backend has it, else float32. Integer
inputs are int64 in torch and int32 in Tessera, so recorded dtypes map int64 -> int32. Cases flagged `exactDtype`
use explicit dtypes and check the result dtype name, not just its category.
"""
import json
import math
import os
import zlib

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'golden-ops.json')
TORCH_DTYPE = {'float': torch.float64, 'float64': torch.float64, 'float32': torch.float32, 'int32': torch.int64, 'bool': torch.bool}
DTYPE_NAME = {torch.float64: 'float64', torch.float32: 'float32', torch.int64: 'int32', torch.int32: 'int32', torch.bool: 'bool'}


# ---- input specs --------------------------------------------------------------------------------------------------

class In:
    """One tensor input: explicit `data` or random values of `shape` drawn from the case's seeded RNG."""

    def __init__(self, shape, data=None, dtype='float', grad=None, view=None, lo=None, hi=None, ties=False):
        self.shape, self.data, self.dtype, self.view = list(shape), data, dtype, view
        self.grad = (dtype in ('float', 'float32', 'float64')) if grad is None else grad
        self.lo, self.hi, self.ties = lo, hi, ties

    def values(self, rng):
        n = int(np.prod(self.shape)) if self.shape else 1
        if self.data is not None:
            flat = np.array(self.data, dtype=np.float64).reshape(-1).tolist()
            assert len(flat) == n, f'data has {len(flat)} values for shape {self.shape}'
            return flat
        if self.dtype == 'bool':
            return [float(v) for v in rng.integers(0, 2, n)]
        if self.dtype == 'int32':
            return [float(v) for v in rng.integers(self.lo if self.lo is not None else -5, self.hi if self.hi is not None else 6, n)]
        if self.ties:  # multiples of 0.5 in a small range, so equal values occur
            return [float(v) / 2 for v in rng.integers(-3, 4, n)]
        if self.lo is not None:
            return [round(float(v), 4) for v in rng.uniform(self.lo, self.hi, n)]
        return [round(float(v), 4) for v in rng.standard_normal(n)]


class S:
    """A JS scalar operand (number or boolean)."""

    def __init__(self, value):
        self.value = value


def f(*shape, **kw):
    return In(shape, **kw)


def d(data, shape=None, **kw):
    return In(np.array(data).shape if shape is None else shape, data=data, **kw)


def ints(*shape, lo=-5, hi=6, data=None):
    return In(np.array(data).shape if data is not None else shape, data=data, dtype='int32', lo=lo, hi=hi)


def bools(*shape, data=None):
    return In(np.array(data).shape if data is not None else shape, data=data, dtype='bool')


T = ('transpose', 0, 1)  # the common non-contiguous view


# ---- torch side of each op ----------------------------------------------------------------------------------------

def dims_all(x, dim):
    return tuple(range(x.dim())) if dim is None else dim


def apply_view(x, steps):
    for s in steps or []:
        if s[0] == 'transpose':
            x = x.transpose(s[1], s[2])
        elif s[0] == 'permute':
            x = x.permute(*s[1])
        elif s[0] == 'slice':
            x = x[(slice(None),) * s[1] + (slice(s[2], s[3], s[4]),)]
        elif s[0] == 'expand':
            x = x.expand(*s[1])
        else:
            raise ValueError(s)
    return x


def slice_op(x, a):
    d, n = a['dim'] % x.dim(), x.shape[a['dim']]
    idx = list(range(n))[slice(a.get('start'), a.get('end'), a.get('step', 1))]
    return torch.index_select(x, d, torch.tensor(idx, dtype=torch.int64))


def index_op(x, a):
    def conv(s):
        if s is None or isinstance(s, int):
            return s
        if s == '...':
            return Ellipsis
        parts = [int(p) if p else None for p in s.split(':')]
        return slice(*parts)
    return x[tuple(conv(s) for s in a['specs'])]


def prod_op(x, a):
    dim = a.get('dim')
    if dim is None:
        return x.prod()
    if isinstance(dim, int):
        return x.prod(dim, keepdim=a.get('keepdim', False))
    axes = [k % x.dim() for k in dim]
    keep = [k for k in range(x.dim()) if k not in axes]
    r = x.permute(*keep, *axes).reshape([x.shape[k] for k in keep] + [-1]).prod(-1)
    return r.reshape([1 if k in axes else x.shape[k] for k in range(x.dim())]) if a.get('keepdim') else r


def squeeze_op(x, a):
    dim = a.get('dim')
    if dim is None:
        return x.squeeze()
    for k in sorted([k % x.dim() for k in ([dim] if isinstance(dim, int) else dim)], reverse=True):
        x = x.squeeze(k)
    return x


def rms_norm(x, shape, w, eps):
    dims = tuple(range(-len(shape), 0))
    y = x * torch.rsqrt(x.square().mean(dims, keepdim=True) + eps)
    return y * w if w is not None else y


def sdpa(q, k, v, mask, a):
    scale = a.get('scale', 1 / math.sqrt(q.shape[-1]))
    s = q @ k.transpose(-2, -1) * scale
    if a.get('isCausal'):
        allowed = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
        s = s.masked_fill(~allowed, -math.inf)
    elif mask is not None:
        s = s.masked_fill(~mask, -math.inf) if mask.dtype == torch.bool else s + mask
    return torch.softmax(s, -1) @ v


def binary(fn):
    return lambda x, a: fn(x[0], x[1])


def unary(fn):
    return lambda x, a: fn(x[0])


def inplace(fn):
    return lambda x, a: fn(x[0].clone(), *x[1:])


def sorted_stable(x, a):
    return torch.sort(x[0], dim=a.get('dim', -1), descending=a.get('descending', False), stable=True)


def sum_op(fn):
    return lambda x, a: fn(x[0]) if a.get('dim') is None else fn(x[0], a['dim'], keepdim=a.get('keepdim', False))


def CREATE_DTYPE(a):
    """Creation from JS numbers defaults to float32 in Tessera (a deliberate difference from torch's int64)."""
    return TORCH_DTYPE[a.get('dtype', 'float32')]

TORCH_OPS = {
    'add': lambda x, a: torch.add(x[0], x[1], alpha=a['alpha']) if 'alpha' in a else x[0] + x[1],
    'sub': lambda x, a: torch.sub(x[0], x[1], alpha=a['alpha']) if 'alpha' in a else x[0] - x[1],
    'mul': binary(lambda p, q: p * q),
    'div': binary(lambda p, q: p / q),
    'pow': binary(lambda p, q: p ** q),
    'maximum': binary(torch.maximum),
    'minimum': binary(torch.minimum),
    'eq': binary(lambda p, q: p == q), 'ne': binary(lambda p, q: p != q),
    'lt': binary(lambda p, q: p < q), 'le': binary(lambda p, q: p <= q),
    'gt': binary(lambda p, q: p > q), 'ge': binary(lambda p, q: p >= q),
    'logicalAnd': binary(torch.logical_and), 'logicalOr': binary(torch.logical_or),
    'logicalXor': binary(torch.logical_xor), 'logicalNot': unary(torch.logical_not),
    'isnan': unary(torch.isnan),
    'where': lambda x, a: torch.where(x[0], x[1], x[2]),
    'clamp': lambda x, a: torch.clamp(x[0], *x[1:]),
    **{name: unary(getattr(torch, tname)) for name, tname in [
        ('neg', 'neg'), ('abs', 'abs'), ('sign', 'sign'), ('floor', 'floor'), ('ceil', 'ceil'), ('round', 'round'),
        ('exp', 'exp'), ('log', 'log'), ('log1p', 'log1p'), ('expm1', 'expm1'), ('sqrt', 'sqrt'), ('rsqrt', 'rsqrt'),
        ('sin', 'sin'), ('cos', 'cos'), ('tanh', 'tanh'), ('sigmoid', 'sigmoid'), ('erf', 'erf'),
        ('reciprocal', 'reciprocal'), ('square', 'square'), ('relu', 'relu')]},
    'gelu': lambda x, a: F.gelu(x[0], approximate=a.get('approximate', 'none')),
    'silu': unary(F.silu),
    'leakyRelu': lambda x, a: F.leaky_relu(x[0], a.get('negativeSlope', 0.01)),
    'softplus': lambda x, a: F.softplus(x[0], a.get('beta', 1), a.get('threshold', 20)),

    'sum': sum_op(torch.sum), 'mean': sum_op(torch.mean),
    'prod': lambda x, a: prod_op(x[0], a),
    'amax': lambda x, a: torch.amax(x[0], dims_all(x[0], a.get('dim')), keepdim=a.get('keepdim', False)),
    'amin': lambda x, a: torch.amin(x[0], dims_all(x[0], a.get('dim')), keepdim=a.get('keepdim', False)),
    'max': unary(torch.max), 'min': unary(torch.min),
    'maxDim': lambda x, a: tuple(torch.max(x[0], a['dim'], keepdim=a.get('keepdim', False))),
    'minDim': lambda x, a: tuple(torch.min(x[0], a['dim'], keepdim=a.get('keepdim', False))),
    'argmax': lambda x, a: torch.argmax(x[0], a.get('dim'), keepdim=a.get('keepdim', False)),
    'argmin': lambda x, a: torch.argmin(x[0], a.get('dim'), keepdim=a.get('keepdim', False)),
    'all': sum_op(torch.all), 'any': sum_op(torch.any),
    'variance': lambda x, a: torch.var(x[0], dims_all(x[0], a.get('dim')), correction=a.get('correction', 1), keepdim=a.get('keepdim', False)),
    'std': lambda x, a: torch.std(x[0], dims_all(x[0], a.get('dim')), correction=a.get('correction', 1), keepdim=a.get('keepdim', False)),
    'logsumexp': lambda x, a: torch.logsumexp(x[0], dims_all(x[0], a.get('dim')), keepdim=a.get('keepdim', False)),
    'norm': lambda x, a: torch.linalg.vector_norm(x[0], 2 if a.get('p') == 'fro' else a.get('p', 2), a.get('dim'), keepdim=a.get('keepdim', False)),
    'sumTo': lambda x, a: x[0].sum_to_size(*a['shape']),

    'view': lambda x, a: x[0].view(*a['shape']),
    'reshape': lambda x, a: x[0].reshape(*a['shape']),
    'flatten': lambda x, a: torch.flatten(x[0], a.get('startDim', 0), a.get('endDim', -1)),
    'unflatten': lambda x, a: x[0].unflatten(a['dim'], a['sizes']),
    'squeeze': lambda x, a: squeeze_op(x[0], a),
    'unsqueeze': lambda x, a: x[0].unsqueeze(a['dim']),
    'permute': lambda x, a: x[0].permute(*a['dims']),
    'transpose': lambda x, a: x[0].transpose(a['dim0'], a['dim1']),
    'mT': unary(lambda t: t.mT), 'T': unary(lambda t: t.permute(*reversed(range(t.dim())))), 't': unary(torch.t),
    'expand': lambda x, a: x[0].expand(*a['shape']),
    'narrow': lambda x, a: x[0].narrow(a['dim'], a['start'], a['length']),
    'select': lambda x, a: x[0].select(a['dim'], a['index']),
    'slice': lambda x, a: slice_op(x[0], a),
    'index': lambda x, a: index_op(x[0], a),
    'flip': lambda x, a: torch.flip(x[0], [a['dims']] if isinstance(a['dims'], int) else a['dims']),
    'diagonal': lambda x, a: torch.diagonal(x[0], a.get('offset', 0), a.get('dim1', 0), a.get('dim2', 1)),
    'asStrided': lambda x, a: torch.as_strided(x[0], a['size'], a['stride'], a.get('storageOffset', 0)),
    'contiguous': unary(lambda t: t.contiguous()), 'clone': unary(torch.clone), 'detach': unary(torch.detach),

    'gather': lambda x, a: torch.gather(x[0], a['dim'], x[1]),
    'scatter': lambda x, a: torch.scatter(x[0], a['dim'], x[1], x[2]),
    'scatterAdd': lambda x, a: torch.scatter_add(x[0], a['dim'], x[1], x[2]),
    'indexSelect': lambda x, a: torch.index_select(x[0], a['dim'], x[1]),
    'indexAdd': lambda x, a: torch.index_add(x[0], a['dim'], x[1], x[2], alpha=a.get('alpha', 1)),
    'maskedFill': lambda x, a: x[0].masked_fill(x[1], x[2]),
    'triu': lambda x, a: torch.triu(x[0], a.get('diagonal', 0)),
    'tril': lambda x, a: torch.tril(x[0], a.get('diagonal', 0)),
    'oneHot': lambda x, a: F.one_hot(x[0], a['numClasses']),
    'cumsum': lambda x, a: torch.cumsum(x[0], a['dim']),
    'sort': lambda x, a: tuple(sorted_stable(x, a)),
    'argsort': lambda x, a: sorted_stable(x, a).indices,
    'topk': lambda x, a: tuple(torch.topk(x[0], a['k'], a.get('dim', -1), largest=a.get('largest', True))),

    'cat': lambda x, a: torch.cat(x, a.get('dim', 0)),
    'stack': lambda x, a: torch.stack(x, a.get('dim', 0)),
    'split': lambda x, a: torch.split(x[0], a['sizeOrSections'], a.get('dim', 0)),
    'chunk': lambda x, a: torch.chunk(x[0], a['chunks'], a.get('dim', 0)),
    'pad': lambda x, a: F.pad(x[0], a['pads'], a.get('mode', 'constant'), a.get('value', 0) if a.get('mode', 'constant') == 'constant' else None),
    'repeat': lambda x, a: x[0].repeat(*a['repeats']),
    'repeatInterleave': lambda x, a: torch.repeat_interleave(
        x[0], a['repeats'] if isinstance(a['repeats'], int) else torch.tensor(a['repeats']), a.get('dim')),

    'matmul': binary(torch.matmul),
    'einsum': lambda x, a: torch.einsum(a['equation'], *x),
    'dot': binary(torch.dot),
    'outer': binary(torch.outer),
    'softmax': lambda x, a: torch.softmax(x[0], a.get('dim', -1)),
    'logSoftmax': lambda x, a: torch.log_softmax(x[0], a.get('dim', -1)),
    'layerNorm': lambda x, a: F.layer_norm(x[0], a['normalizedShape'], *(x[1:] + [None] * (3 - len(x)))[:2], a.get('eps', 1e-5)),
    'rmsNorm': lambda x, a: rms_norm(x[0], a['normalizedShape'], x[1] if len(x) > 1 else None,
                                     a.get('eps', torch.finfo(x[0].dtype).eps)),
    'scaledDotProductAttention': lambda x, a: sdpa(x[0], x[1], x[2], x[3] if len(x) > 3 else None, a),

    'toDtype': lambda x, a: x[0].to(TORCH_DTYPE[a['dtype']] if a['dtype'] != 'int32' else torch.int32),
    'arange': lambda x, a: torch.arange(*a['range'], dtype=torch.int64 if all(isinstance(v, int) for v in a['range']) else torch.float32),
    'linspace': lambda x, a: torch.linspace(a['start'], a['end'], a['steps'], dtype=torch.float32),
    'eye': lambda x, a: torch.eye(a['n'], a.get('m', a['n']), dtype=CREATE_DTYPE(a)),
    'full': lambda x, a: torch.full(a['shape'], a['value'], dtype=CREATE_DTYPE(a)),
    'zeros': lambda x, a: torch.zeros(a['shape'], dtype=CREATE_DTYPE(a)),
    'ones': lambda x, a: torch.ones(a['shape'], dtype=CREATE_DTYPE(a)),
    'zerosLike': unary(torch.zeros_like), 'onesLike': unary(torch.ones_like),
    'fullLike': lambda x, a: torch.full_like(x[0], a['value']),

    'add_': inplace(lambda t, o: t.add_(o)), 'sub_': inplace(lambda t, o: t.sub_(o)),
    'mul_': inplace(lambda t, o: t.mul_(o)), 'div_': inplace(lambda t, o: t.div_(o)),
    'clamp_': inplace(lambda t, lo, hi: t.clamp_(lo, hi)), 'copy_': inplace(lambda t, s: t.copy_(s)),
    'fill_': lambda x, a: x[0].clone().fill_(a['value']), 'zero_': inplace(lambda t: t.zero_()),
}


# ---- recording ----------------------------------------------------------------------------------------------------

CASES = []


def num(v):
    """A JSON-safe number: NaN and infinities as strings, integral floats as ints (shorter)."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if math.isnan(v):
        return 'NaN'
    if math.isinf(v):
        return 'Infinity' if v > 0 else '-Infinity'
    return int(v) if v.is_integer() and abs(v) < 2 ** 53 and not (v == 0 and math.copysign(1, v) < 0) else v


def json_safe(v):
    """Args and scalars with special floats spelled as strings ('Infinity', ...), like tensor data."""
    if isinstance(v, float):
        return num(v)
    if isinstance(v, dict):
        return {k: json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    return v


def record_tensor(t):
    return {'shape': list(t.shape), 'dtype': DTYPE_NAME[t.dtype], 'data': [num(v) for v in t.detach().reshape(-1).tolist()]}


def case(op, name, inputs, tol=None, exactDtype=False, **args):
    """Runs one op in torch and records inputs, outputs, upstream gradients and input gradients."""
    full = f'{op}/{name}'
    assert not any(c['name'] == full for c in CASES), f'duplicate case {full}'
    rng = np.random.default_rng(zlib.crc32(full.encode()))
    leaves, operands, rec_inputs = [], [], []
    for spec in inputs:
        if isinstance(spec, S):
            operands.append(spec.value)
            rec_inputs.append({'scalar': json_safe(spec.value)})
            continue
        vals = spec.values(rng)
        leaf = torch.tensor(vals, dtype=TORCH_DTYPE[spec.dtype]).reshape(spec.shape)
        if spec.grad:
            leaf.requires_grad_(True)
            leaves.append(leaf)
        operands.append(apply_view(leaf, spec.view))
        r = {'shape': spec.shape, 'dtype': spec.dtype, 'data': [num(int(v) if spec.dtype in ('int32', 'bool') else v) for v in vals]}
        if spec.grad:
            r['grad'] = True
        if spec.view:
            r['view'] = [list(s) for s in spec.view]
        rec_inputs.append(r)
    out = TORCH_OPS[op](operands, args)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    diff = [o for o in outs if o.requires_grad]
    upstream = [torch.tensor(np.round(rng.standard_normal(o.numel()), 4), dtype=o.dtype).reshape(o.shape) if o.requires_grad else None for o in outs]
    entry = {'name': full, 'op': op, 'args': json_safe(args), 'inputs': rec_inputs, 'outputs': [record_tensor(o) for o in outs]}
    if diff and leaves:
        grads = iter(torch.autograd.grad(diff, leaves, [u for u in upstream if u is not None], allow_unused=True))
        entry['upstream'] = [None if u is None else [num(v) for v in u.reshape(-1).tolist()] for u in upstream]
        entry['grads'] = []
        for spec in inputs:
            if not (isinstance(spec, In) and spec.grad):
                entry['grads'].append(None)
                continue
            g = next(grads)  # None: the outputs do not depend on this input, so its gradient is zero
            entry['grads'].append([num(v) for v in (torch.zeros(spec.shape) if g is None else g).reshape(-1).tolist()])
    if tol:
        entry['tol'] = tol
    if exactDtype:
        entry['exactDtype'] = True
    CASES.append(entry)



# ---- the cases ----------------------------------------------------------------------------------------------------

INF, NAN = math.inf, math.nan
F32 = {'atol': 1e-5, 'rtol': 1e-5}  # for cases computed in float32 on both sides


def elementwise_cases():
    case('add', 'same-shape', [f(2, 3), f(2, 3)])
    case('add', 'broadcast', [f(2, 1, 3), f(4, 1)])
    case('add', 'alpha', [f(2, 3), f(3)], alpha=-1.5)
    case('add', 'scalar', [f(2, 3), S(2.5)])
    case('add', 'scalar-first', [S(1.5), f(3)])
    case('add', 'transposed', [f(3, 2, view=[T]), f(2, 3)])
    case('add', '0-dim', [f(), f(2, 3)])
    case('add', 'expanded', [f(3, 1, view=[('expand', [3, 4])]), f(3, 4)])
    case('sub', 'broadcast', [f(3, 1), f(1, 4)])
    case('sub', 'alpha', [f(2, 3), f(2, 3)], alpha=0.5)
    case('sub', 'scalar-first', [S(1), f(2, 2)])
    case('mul', 'broadcast', [f(2, 3, 1), f(3, 4)])
    case('mul', 'scalar', [f(4), S(-0.75)])
    case('mul', 'strided-slice', [f(4, 6, view=[('slice', 1, 0, 6, 2)]), f(4, 3)])
    case('div', 'broadcast', [f(2, 3), f(3, lo=0.5, hi=2)])
    case('div', 'scalar-first', [S(2), f(3, lo=0.5, hi=2)])
    case('div', 'by-zero', [d([1., -1., 0.]), d([0., 0., 0.])])
    case('pow', 'tensor-tensor', [f(2, 3, lo=0.5, hi=2), f(2, 3)])
    case('pow', 'square', [f(2, 3), S(2)])
    case('pow', 'sqrt', [f(4, lo=0.1, hi=3), S(0.5)])
    case('pow', 'scalar-base', [S(2.5), f(4)])
    case('pow', 'broadcast', [f(2, 1, lo=0.5, hi=2), f(3)])
    case('pow', 'zero-base', [d([0., 0., 0., 0., 2., -2.]), d([0., 1., 2., -1., 0., 2.])])
    case('pow', 'negative-base-int-exp', [d([-2., -1.5, -0.5]), S(3)])
    case('pow', 'negative-base-neg-exp', [d([-2., -1.5, -0.5]), S(-2)])
    case('pow', 'negative-base-frac-exp', [d([-2., -0.5, 0.]), S(0.5)])
    case('pow', 'zero-exp', [d([-1., 0., 2.]), S(0)])
    for op in ('maximum', 'minimum'):
        case(op, 'ties', [d([1., 2., 3., 2.]), d([1., 3., 2., 2.])])
        case(op, 'broadcast', [f(2, 3), f(3)])
        case(op, 'nan', [d([NAN, 1., NAN], grad=False), d([1., NAN, 2.], grad=False)])
    for op in ('eq', 'ne', 'lt', 'le', 'gt', 'ge'):
        case(op, 'ties-broadcast', [f(2, 3, ties=True), f(3, ties=True)])
        case(op, 'scalar', [d([-1., 0.5, 2., NAN]), S(0.5)])
        case(op, 'int', [ints(2, 3, lo=-2, hi=3), ints(3, lo=-2, hi=3)])
    case('eq', 'nan', [d([NAN, 1.]), d([NAN, 1.])])
    case('ne', 'nan', [d([NAN, 1.]), d([NAN, 1.])])
    case('lt', 'scalar-first', [S(0), f(4)])
    for op in ('logicalAnd', 'logicalOr', 'logicalXor'):
        case(op, 'bool-broadcast', [bools(2, 3), bools(3)])
        case(op, 'float', [d([0., 1.5, 0., -2.]), d([0., 0., 3., NAN])])
    case('logicalNot', 'float', [d([0., -0., 1.5, NAN])])
    case('logicalNot', 'bool', [bools(4, data=[1, 0, 1, 1])])
    case('isnan', 'mixed', [d([NAN, 1., INF, -INF, 0.])])
    case('where', 'same-shape', [bools(2, 3), f(2, 3), f(2, 3)])
    case('where', 'broadcast', [bools(3), f(2, 1), f(3)])
    case('where', 'scalar-branch', [bools(2, 3), f(2, 3), S(0.5)])
    case('where', 'scalar-first', [bools(4), S(-1), f(4)])
    case('where', 'expanded', [bools(2, 3), f(2, 1, view=[('expand', [2, 3])]), f(3, 2, view=[T])])
    case('clamp', 'boundaries', [d([-2., -1., 0., 0.5, 1., 2.]), S(-1), S(1)])
    case('clamp', 'min-only', [f(6), S(0), S(None)])
    case('clamp', 'max-only', [f(6), S(None), S(0.25)])
    case('clamp', 'min-above-max', [d([-2., 0., 0.5, 2.]), S(1), S(-1)])
    case('clamp', 'tensor-bounds', [d([[-2., 0., 1.], [0.5, 2., -1.]]), d([-1., 0., 0.]), d([[1.], [0.5]])])
    case('clamp', 'tensor-bounds-crossed', [d([-2., 0., 3., 1.]), d([1., 1., 1., 2.]), d([-1., -1., -1., 1.])])
    case('clamp', 'tensor-min-only', [f(2, 3), f(3), S(None)])

    case('neg', 'basic', [f(2, 3)])
    case('abs', 'with-zero', [d([-1.5, 0., 2., -0.])])
    case('sign', 'with-zero', [d([-1.5, 0., 2., -0.])])
    case('floor', 'basic', [d([-1.5, -0.5, 0.2, 1., 2.7])])
    case('ceil', 'basic', [d([-1.5, -0.5, 0.2, 1., 2.7])])
    case('round', 'half-even', [d([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4999, -0.5001])])
    case('exp', 'basic', [f(2, 3)])
    case('exp', 'transposed', [f(3, 2, view=[T])])
    case('gelu', 'strided-slice', [f(2, 6, view=[('slice', 1, 1, 6, 2)])], approximate='tanh')
    case('exp', 'inf', [d([-INF, 0., INF])])
    case('log', 'positive', [f(2, 3, lo=0.1, hi=5)])
    case('log', 'edge', [d([0., -1., 1., INF])])
    case('log1p', 'basic', [f(5, lo=-0.9, hi=3)])
    case('expm1', 'basic', [d([-3., -1e-6, 0., 1e-6, 2.])])
    case('sqrt', 'with-zero', [d([0., 0.25, 4., 7.])])
    case('sqrt', 'negative', [d([-1.])])
    case('rsqrt', 'positive', [f(5, lo=0.1, hi=4)])
    case('sin', 'basic', [f(2, 3)])
    case('cos', 'basic', [f(2, 3)])
    case('tanh', 'basic', [d([-20., -1., 0., 0.5, 20.])])
    case('sigmoid', 'wide', [d([-40., -3., 0., 0.7, 40.])])
    case('erf', 'wide', [d([-4., -1., -0.1, 0., 0.3, 2., 5.])])
    case('reciprocal', 'with-zero', [d([-2., 0., 0.5, 3.])])
    case('square', 'basic', [f(2, 3)])
    case('relu', 'with-zero', [d([-1., 0., 0.5, 2.])])
    for mode in ('none', 'tanh'):
        case('gelu', mode, [d([-4., -1.5, -0.3, 0., 0.4, 1.2, 3.])], approximate=mode)
    case('gelu', 'default', [f(2, 3)])
    case('silu', 'basic', [d([-6., -1., 0., 0.5, 2., 8.])])
    case('leakyRelu', 'default', [d([-2., -0.1, 0., 0.3, 1.])])
    case('leakyRelu', 'slope', [f(2, 3)], negativeSlope=0.2)
    case('softplus', 'default-threshold', [d([-30., -1., 0., 1., 19.9, 20., 20.5, 30.])])
    case('softplus', 'beta-threshold', [d([-2., 0., 0.4, 0.5, 0.6, 2.])], beta=2, threshold=1)

    # dtype promotion (Tessera int32 where torch has int64; JS 2.5 is a float scalar, 2 an int scalar)
    P = dict(exactDtype=True)
    case('add', 'promote-int-float-scalar', [ints(3), S(2.5)], **P)
    case('add', 'promote-int-int-scalar', [ints(3), S(2)], **P)
    case('add', 'promote-int-bool', [ints(3), bools(3)], **P)
    case('add', 'promote-bool-bool', [bools(4, data=[1, 1, 0, 0]), bools(4, data=[1, 0, 1, 0])], **P)
    case('mul', 'promote-int-float32', [ints(3), f(3, dtype='float32')], tol=F32, **P)
    case('add', 'promote-float32-float64-0dim', [f(3, dtype='float32'), f(dtype='float64')], tol=F32, **P)
    case('add', 'promote-float64-float32', [f(3, dtype='float64'), f(3, dtype='float32')], **P)
    case('add', 'promote-int-float64-0dim', [ints(3), f(dtype='float64')], **P)
    case('add', 'promote-float32-int-0dim', [f(3, dtype='float32'), ints()], tol=F32, **P)
    case('div', 'promote-int-int', [ints(4, lo=-6, hi=7), ints(4, lo=1, hi=4)], tol=F32, **P)
    case('mul', 'promote-bool-float-scalar', [bools(3), S(1.5)], **P)
    case('sub', 'promote-int-float32-0dim', [ints(3), f(dtype='float32')], tol=F32, **P)
    case('lt', 'promote-int-float-scalar', [ints(4), S(0.5)], **P)
    case('where', 'promote-int-float-scalar', [bools(4), ints(4), S(0.5)], **P)
    case('maximum', 'promote-int-float32', [ints(3), f(3, dtype='float32')], tol=F32, **P)
    case('pow', 'promote-int-int-scalar', [ints(4, lo=-3, hi=4), S(3)], **P)
    case('pow', 'promote-int-float-scalar', [ints(4, lo=1, hi=5), S(0.5)], tol=F32, **P)
    case('neg', 'promote-int', [ints(4)], **P)
    case('abs', 'promote-int', [ints(4)], **P)
    case('exp', 'promote-int', [ints(4, lo=-3, hi=3)], tol=F32, **P)
    case('sqrt', 'promote-int', [ints(4, lo=0, hi=9)], tol=F32, **P)
    case('sigmoid', 'promote-int', [ints(4)], tol=F32, **P)
    case('sum', 'promote-bool', [bools(2, 3)], dim=1, **P)
    case('sum', 'promote-int', [ints(2, 3)], **P)
    case('cumsum', 'promote-bool', [bools(5)], dim=0, **P)
    case('prod', 'promote-int', [ints(2, 3, lo=-3, hi=4)], dim=1, **P)
    case('clamp', 'promote-int-float-scalar', [ints(5), S(-1.5), S(None)], **P)
    case('matmul', 'promote-int', [ints(2, 3), ints(3, 2)], **P)
    case('cat', 'promote-float-int', [f(2, 2, dtype='float64'), ints(1, 2)], dim=0, **P)


def reduce_cases():
    for op in ('sum', 'mean'):
        case(op, 'all', [f(2, 3, 4)])
        case(op, 'dim', [f(2, 3, 4)], dim=1)
        case(op, 'dims-keepdim', [f(2, 3, 4)], dim=[0, 2], keepdim=True)
        case(op, 'neg-dim', [f(2, 3, 4)], dim=-1)
        case(op, 'transposed', [f(3, 4, view=[T])], dim=0)
    case('sum', '0-dim', [f()])
    case('sum', 'permuted', [f(2, 3, 4, view=[('permute', [2, 0, 1])])], dim=[0, 2])
    case('sum', 'expanded', [f(3, 1, view=[('expand', [3, 4])])], dim=1)
    case('sum', 'int-dim', [ints(2, 3)], dim=1)
    case('prod', 'all', [f(2, 3, lo=0.5, hi=1.5)])
    case('prod', 'dim', [f(3, 4)], dim=1)
    case('prod', 'one-zero', [d([[1., 0., 3.], [2., 4., 0.5]])], dim=1)
    case('prod', 'two-zeros', [d([[0., 0., 3.], [0., 2., 4.]])], dim=1)
    case('prod', 'all-with-zero', [d([[1.5, 0., 3.], [2., -1., 0.5]])])
    case('prod', 'dims-keepdim-zero', [d([[[1., 2.], [0., 3.]], [[4., 5.], [6., 0.]]])], dim=[0, 2], keepdim=True)
    case('prod', 'transposed', [f(3, 4, view=[T])], dim=0)
    for op in ('amax', 'amin'):
        case(op, 'all-ties', [f(3, 4, ties=True)])
        case(op, 'dim-ties', [f(3, 4, ties=True)], dim=1)
        case(op, 'dims-keepdim', [f(2, 3, 4, ties=True)], dim=[0, 2], keepdim=True)
        case(op, 'exact-ties', [d([[1., 3., 3.], [2., 2., 2.]])], dim=-1)
    case('max', 'ties', [d([[1., 3., 3.], [3., 2., 0.]])])
    case('min', 'ties', [d([[1., 3., -1.], [-1., 2., 0.]])])
    for op in ('maxDim', 'minDim'):
        case(op, 'ties', [d([[1., 3., 3.], [2., 2., 2.], [-1., 0., -1.]])], dim=1)
        case(op, 'keepdim', [f(3, 4, ties=True)], dim=0, keepdim=True)
        case(op, 'neg-dim', [f(2, 3, 4)], dim=-1)
    for op in ('argmax', 'argmin'):
        case(op, 'ties', [d([[1., 3., 3.], [2., 2., 2.], [-1., 0., -1.]])], dim=1)
        case(op, 'flat', [f(3, 4, ties=True)])
        case(op, 'keepdim', [f(3, 4)], dim=0, keepdim=True)
        case(op, 'int', [ints(2, 5, lo=0, hi=3)], dim=1)
    for op in ('all', 'any'):
        case(op, 'bool-dim', [bools(3, 4)], dim=1)
        case(op, 'bool-keepdim', [bools(3, 4)], dim=0, keepdim=True)
        case(op, 'float', [d([[0., 1.5], [NAN, 0.]])], dim=1)
        case(op, 'flat', [bools(2, 3)])
    case('all', 'all-true', [bools(2, 2, data=[[1, 1], [1, 1]])])
    case('any', 'all-false', [bools(2, 2, data=[[0, 0], [0, 0]])])
    for op in ('variance', 'std'):
        case(op, 'all', [f(3, 4)])
        case(op, 'dim-correction-0', [f(3, 4)], dim=1, correction=0)
        case(op, 'dims-correction-2-keepdim', [f(2, 3, 4)], dim=[0, 2], correction=2, keepdim=True)
        case(op, 'single-element', [f(1, 3)], dim=0)
        case(op, 'transposed', [f(3, 4, view=[T])], dim=0)
    case('std', 'constant', [d([[2., 2., 2.], [1., 2., 3.]])], dim=1)
    case('std', 'all-constant', [d([1.5, 1.5, 1.5])])
    case('logsumexp', 'dim', [f(3, 4)], dim=1)
    case('logsumexp', 'all', [f(2, 3)])
    case('logsumexp', 'keepdim', [f(2, 3, 4)], dim=[0, 2], keepdim=True)
    case('logsumexp', 'neg-inf', [d([[-INF, 0., 1.], [-INF, -INF, -INF]])], dim=1)
    case('logsumexp', 'pos-inf', [d([[INF, 0., 1.]])], dim=1)
    case('logsumexp', 'large', [d([[1000., 1000.5, 999.], [-1000., -1001., -999.]])], dim=1)
    case('norm', 'p2-dim', [f(3, 4)], dim=1)
    case('norm', 'p2-all', [f(2, 3)])
    case('norm', 'p2-zero', [d([[0., 0., 0.], [1., 2., 2.]])], dim=1)
    case('norm', 'fro', [f(2, 3)], p='fro')
    case('norm', 'p1-with-zero', [d([[0., -1., 2.], [3., 0., -0.5]])], p=1, dim=1)
    case('norm', 'pinf-ties', [d([[-2., 2., 1.], [0.5, -3., 3.]])], p=INF, dim=1)
    case('norm', 'pneginf', [d([[-2., 2., 1.], [0.5, -3., 0.5]])], p=-INF, dim=1)
    case('norm', 'p0', [d([[0., -1., 2.], [3., 0., 0.]])], p=0, dim=1)
    case('norm', 'p3', [f(3, 4)], p=3, dim=-1, keepdim=True)
    case('norm', 'p3-zero', [d([[0., 0.], [1., -2.]])], p=3, dim=1)
    case('norm', 'p0.5', [f(2, 3, lo=0.1, hi=2)], p=0.5, dim=[0, 1])
    case('norm', 'p0.5-zeros', [d([[0., 1., 4.], [0., 0., 0.]])], p=0.5, dim=1)
    case('norm', 'p1.5-zeros', [d([[0., -1., 2.], [0., 0., 0.]])], p=1.5, dim=1)
    case('norm', 'pneg1', [d([[0.5, -1., 2.]])], p=-1, dim=1)
    case('sumTo', 'lead-and-inner', [f(2, 3, 4)], shape=[3, 1])
    case('sumTo', 'keep-row', [f(2, 3)], shape=[1, 3])
    case('sumTo', 'same', [f(2, 3)], shape=[2, 3])


def view_cases():
    case('view', 'basic', [f(2, 6)], shape=[3, 4])
    case('view', 'infer', [f(2, 6)], shape=[-1, 2])
    case('reshape', 'transposed', [f(3, 4, view=[T])], shape=[2, 6])
    case('reshape', 'infer', [f(2, 3, 4)], shape=[4, -1])
    case('flatten', 'from-1', [f(2, 3, 4)], startDim=1)
    case('flatten', 'all', [f(2, 3, 4, view=[('transpose', 0, 2)])])
    case('flatten', '0-dim', [f()])
    case('unflatten', 'basic', [f(2, 6)], dim=1, sizes=[2, 3])
    case('unflatten', 'infer', [f(6, 2)], dim=0, sizes=[-1, 2])
    case('squeeze', 'all', [f(1, 3, 1, 2)])
    case('squeeze', 'dim', [f(1, 3, 1, 2)], dim=2)
    case('squeeze', 'dims', [f(1, 3, 1, 2)], dim=[0, 2])
    case('squeeze', 'not-one', [f(1, 3, 1, 2)], dim=1)
    for dim in (0, 1, -1):
        case('unsqueeze', f'dim{dim}', [f(2, 3)], dim=dim)
    case('permute', 'basic', [f(2, 3, 4)], dims=[2, 0, 1])
    case('permute', 'negative', [f(2, 3, 4)], dims=[-1, 0, 1])
    case('transpose', 'outer', [f(2, 3, 4)], dim0=0, dim1=2)
    case('transpose', 'negative', [f(2, 3, 4)], dim0=-1, dim1=-2)
    case('mT', 'batched', [f(2, 3, 4)])
    case('T', '3d', [f(2, 3, 4)])
    case('t', '2d', [f(2, 3)])
    case('expand', 'new-dims', [f(3, 1)], shape=[2, 3, 4])
    case('expand', 'keep', [f(3, 1)], shape=[2, -1, 4])
    case('expand', 'from-1', [f(1)], shape=[5])
    case('narrow', 'basic', [f(3, 5)], dim=1, start=1, length=2)
    case('narrow', 'negative-start', [f(4, 3)], dim=0, start=-2, length=2)
    case('select', 'first-dim', [f(3, 4)], dim=0, index=1)
    case('select', 'negative', [f(2, 3, 4)], dim=-1, index=-1)
    case('slice', 'step', [f(3, 7)], dim=1, start=1, end=6, step=2)
    case('slice', 'negative-step', [f(5, 2)], dim=0, start=None, end=None, step=-1)
    case('slice', 'negative-start-step', [f(2, 7)], dim=-1, start=-1, end=None, step=-2)
    case('slice', 'clamped-end', [f(4, 2)], dim=0, start=1, end=100, step=1)
    case('slice', 'empty', [f(4, 2)], dim=0, start=3, end=1, step=1)
    case('slice', 'transposed', [f(4, 3, view=[T])], dim=1, start=0, end=4, step=3)
    case('index', 'int-and-slices', [f(3, 4, 5)], specs=[0, ':', '1:4'])
    case('index', 'newaxis-ellipsis', [f(3, 4, 5)], specs=[None, '...', 1])
    case('index', 'steps', [f(5, 4)], specs=['::2', -1])
    case('index', 'tail', [f(3, 4)], specs=['1:', None, '-3:'])
    case('flip', 'dim0', [f(3, 4)], dims=0)
    case('flip', 'both', [f(3, 4)], dims=[0, 1])
    case('flip', 'last-transposed', [f(3, 4, view=[T])], dims=-1)
    case('diagonal', 'main', [f(3, 4)])
    case('diagonal', 'offset-pos', [f(3, 4)], offset=1)
    case('diagonal', 'offset-neg', [f(3, 4)], offset=-1)
    case('diagonal', 'dims', [f(2, 3, 4)], offset=0, dim1=1, dim2=2)
    case('diagonal', 'reversed-dims', [f(4, 2, 3)], offset=-1, dim1=2, dim2=0)
    case('asStrided', 'offset', [f(3, 3)], size=[2, 2], stride=[1, 2], storageOffset=1)
    case('asStrided', 'overlapping', [f(6)], size=[3, 3], stride=[1, 1], storageOffset=0)
    case('asStrided', 'zero-stride', [f(4)], size=[2, 4], stride=[0, 1], storageOffset=0)
    case('contiguous', 'transposed', [f(3, 4, view=[T])])
    case('clone', 'basic', [f(2, 3)])
    case('detach', 'basic', [f(2, 3)])


def indexing_cases():
    case('gather', 'dim1-dups', [f(3, 4), ints(3, 3, data=[[0, 0, 3], [2, 1, 2], [3, 3, 3]])], dim=1)
    case('gather', 'dim0-smaller', [f(3, 4), ints(2, 3, data=[[2, 0, 1], [0, 0, 2]])], dim=0)
    case('gather', 'transposed', [f(4, 3, view=[T]), ints(3, 2, data=[[1, 3], [0, 0], [2, 1]])], dim=-1)
    case('scatter', 'dim1', [f(3, 5), ints(3, 2, data=[[0, 2], [4, 1], [3, 0]]), f(3, 2)], dim=1)
    case('scatter', 'dim0', [f(3, 4), ints(2, 4, data=[[0, 1, 2, 0], [2, 0, 1, 1]]), f(2, 4)], dim=0)
    case('scatter', 'scalar-src', [f(3, 4), ints(3, 1, data=[[1], [3], [0]]), S(2.5)], dim=1)
    case('scatterAdd', 'dim0-dups', [f(3, 4), ints(2, 4, data=[[0, 1, 2, 0], [0, 0, 1, 2]]), f(2, 4)], dim=0)
    case('scatterAdd', 'dim1-dups', [f(2, 3), ints(2, 4, data=[[0, 0, 0, 2], [1, 2, 1, 1]]), f(2, 4)], dim=1)
    case('indexSelect', 'dim0-dups', [f(4, 3), ints(3, data=[2, 0, 2])], dim=0)
    case('indexSelect', 'dim1', [f(2, 4), ints(2, data=[3, 3])], dim=1)
    case('indexSelect', 'transposed', [f(3, 4, view=[T]), ints(2, data=[2, 0])], dim=0)
    case('indexAdd', 'dim0-dups-alpha', [f(4, 3), ints(3, data=[0, 2, 0]), f(3, 3)], dim=0, alpha=2)
    case('indexAdd', 'dim1', [f(2, 4), ints(2, data=[3, 1]), f(2, 2)], dim=1)
    case('maskedFill', 'scalar', [f(2, 3), bools(2, 3), S(-1.5)])
    case('maskedFill', 'broadcast-mask', [f(2, 3), bools(3, data=[1, 0, 1]), S(0)])
    case('maskedFill', 'neg-inf', [f(2, 3), bools(2, 3), S(-INF)])
    case('maskedFill', 'tensor-value', [f(2, 3), bools(2, 3, data=[[1, 0, 1], [0, 1, 1]]), f()])
    for op in ('triu', 'tril'):
        for k in (0, 1, -1):
            case(op, f'k{k}', [f(3, 4)], diagonal=k)
        case(op, 'batched', [f(2, 3, 3)])
        case(op, 'k-large', [f(3, 3)], diagonal=5)
    case('oneHot', '1d', [ints(5, lo=0, hi=4)], numClasses=4)
    case('oneHot', '2d', [ints(2, 3, lo=0, hi=3)], numClasses=5)
    case('cumsum', 'dim1', [f(2, 4)], dim=1)
    case('cumsum', 'dim0', [f(3, 2)], dim=0)
    case('cumsum', 'neg-dim-3d', [f(2, 2, 3)], dim=-1)
    case('cumsum', 'int', [ints(2, 4)], dim=1)
    case('cumsum', 'transposed', [f(3, 4, view=[T])], dim=1)
    case('sort', 'ties-asc', [f(2, 6, ties=True)], dim=-1)
    case('sort', 'ties-desc', [f(2, 6, ties=True)], dim=1, descending=True)
    case('sort', 'dim0', [f(4, 3)], dim=0)
    case('sort', 'int', [ints(7, lo=0, hi=3)], dim=0)
    case('sort', 'transposed', [f(5, 2, view=[T], ties=True)], dim=-1, descending=True)
    case('argsort', 'ties-asc', [d([3., 1., 2., 1., 3., 1.])])
    case('argsort', 'ties-desc', [d([3., 1., 2., 1., 3., 1.])], descending=True)
    case('argsort', 'dim0', [f(4, 3, ties=True)], dim=0)
    case('argsort', 'int-desc', [ints(2, 5, lo=0, hi=3)], dim=1, descending=True)
    case('topk', 'largest', [f(2, 6)], k=3)
    case('topk', 'smallest', [f(2, 6)], k=2, largest=False)
    case('topk', 'dim0', [f(5, 3)], k=2, dim=0)


def join_cases():
    case('cat', 'dim0-three', [f(2, 3), f(1, 3), f(3, 3)], dim=0)
    case('cat', 'dim1', [f(2, 1), f(2, 3)], dim=1)
    case('cat', 'neg-dim-transposed', [f(3, 2, view=[T]), f(2, 2)], dim=-1)
    case('stack', 'dim0', [f(2, 3), f(2, 3)], dim=0)
    case('stack', 'dim1', [f(2, 3), f(2, 3), f(2, 3)], dim=1)
    case('stack', 'neg-dim', [f(3), f(3)], dim=-1)
    case('split', 'size', [f(5, 3)], sizeOrSections=2, dim=0)
    case('split', 'sections', [f(5, 3)], sizeOrSections=[1, 3, 1], dim=0)
    case('split', 'dim1', [f(2, 4)], sizeOrSections=3, dim=1)
    case('chunk', 'uneven', [f(5, 2)], chunks=3)
    case('chunk', 'dim1', [f(2, 5)], chunks=2, dim=1)
    case('pad', 'constant', [f(2, 3)], pads=[1, 2], value=0.5)
    case('pad', 'constant-negative', [f(2, 4)], pads=[-1, 2])
    case('pad', 'constant-2d', [f(2, 3, 4)], pads=[1, 0, 2, -1], value=-1)
    for mode in ('reflect', 'replicate', 'circular'):
        case('pad', f'{mode}-1d', [f(1, 2, 5)], pads=[2, 1], mode=mode)
        case('pad', f'{mode}-negative', [f(1, 2, 5)], pads=[2, -1], mode=mode)
        case('pad', f'{mode}-2d', [f(1, 1, 3, 4)], pads=[1, 2, 2, 1], mode=mode)
    case('pad', 'circular-2d-negative', [f(1, 1, 3, 4)], pads=[1, 2, -1, 1], mode='circular')
    case('repeat', 'basic', [f(2, 3)], repeats=[2, 1])
    case('repeat', 'leading', [f(2, 3)], repeats=[2, 1, 3])
    case('repeat', '1d', [f(3)], repeats=[2, 2])
    case('repeatInterleave', 'int-dim0', [f(2, 3)], repeats=2, dim=0)
    case('repeatInterleave', 'list', [f(3, 2)], repeats=[1, 0, 2], dim=0)
    case('repeatInterleave', 'flat', [f(2, 2)], repeats=2)
    case('repeatInterleave', 'dim1', [f(2, 3)], repeats=[2, 1, 1], dim=1)


def linalg_cases():
    case('matmul', '1d-1d', [f(4), f(4)])
    case('matmul', '1d-2d', [f(3), f(3, 2)])
    case('matmul', '2d-1d', [f(2, 3), f(3)])
    case('matmul', '2d-2d', [f(2, 3), f(3, 4)])
    case('matmul', 'batched-2d', [f(2, 3, 4), f(4, 5)])
    case('matmul', 'broadcast-batch', [f(2, 1, 3, 4), f(3, 4, 2)])
    case('matmul', '1d-3d', [f(3), f(2, 3, 2)])
    case('matmul', '3d-1d', [f(2, 2, 3), f(3)])
    case('matmul', 'transposed', [f(3, 2, view=[T]), f(4, 3, view=[T])])
    case('einsum', 'matmul', [f(2, 3), f(3, 4)], equation='ij,jk->ik')
    case('einsum', 'batched', [f(2, 2, 3), f(2, 3, 2)], equation='bij,bjk->bik')
    case('einsum', 'diag', [f(3, 3)], equation='ii->i')
    case('einsum', 'trace', [f(3, 3)], equation='ii')
    case('einsum', 'inner', [f(4), f(4)], equation='i,i')
    case('einsum', 'outer', [f(2), f(3)], equation='i,j->ij')
    case('einsum', 'ellipsis-broadcast', [f(2, 3, 4), f(4, 2)], equation='...ij,...jk->...ik')
    case('einsum', 'attention-scores', [f(1, 2, 3, 4), f(1, 2, 5, 4)], equation='bhqd,bhkd->bhqk')
    case('einsum', 'permute', [f(2, 3, 4)], equation='ijk->kji')
    case('einsum', 'three-operands', [f(2, 3), f(3, 4), f(4, 2)], equation='ij,jk,kl->il')
    case('einsum', 'implicit', [f(2, 3), f(3, 4)], equation='ij,jk')
    case('einsum', 'sum-all', [f(2, 3)], equation='ij->')
    case('einsum', 'sum-rows', [f(2, 3)], equation='ij->j')
    case('dot', 'basic', [f(5), f(5)])
    case('outer', 'basic', [f(3), f(4)])


def fused_cases():
    for op in ('softmax', 'logSoftmax'):
        case(op, 'last', [f(2, 5)])
        case(op, 'dim0', [f(3, 4)], dim=0)
        case(op, 'dim1-3d', [f(2, 3, 4)], dim=1)
        case(op, 'neg-inf', [d([[-INF, 0., 1., -INF], [-INF, -INF, -INF, -INF], [2., -INF, 2., 0.]])], dim=-1)
        case(op, 'large', [d([[1000., 1001., 999.], [-1000., -1002., -1001.]])])
        case(op, 'transposed', [f(4, 3, view=[T])], dim=-1)
    case('layerNorm', 'plain', [f(2, 3, 4)], normalizedShape=[4])
    case('layerNorm', 'affine', [f(2, 3, 4), f(4), f(4)], normalizedShape=[4])
    case('layerNorm', 'affine-2d', [f(2, 3, 4), f(3, 4), f(3, 4)], normalizedShape=[3, 4])
    case('layerNorm', 'weight-only-eps', [f(3, 5), f(5)], normalizedShape=[5], eps=1e-3)
    case('layerNorm', 'transposed', [f(4, 3, view=[T]), f(4), f(4)], normalizedShape=[4])
    case('rmsNorm', 'weight', [f(2, 5), f(5)], normalizedShape=[5], eps=1e-6)
    case('rmsNorm', 'plain', [f(3, 4)], normalizedShape=[4], eps=1e-5)
    case('rmsNorm', 'default-eps', [f(2, 3)], normalizedShape=[3])
    case('rmsNorm', 'multi-dim', [f(2, 2, 3), f(2, 3)], normalizedShape=[2, 3], eps=1e-5)
    A = 'scaledDotProductAttention'
    case(A, 'plain', [f(2, 3, 4), f(2, 5, 4), f(2, 5, 3)])
    case(A, 'bool-mask', [f(2, 3, 4), f(2, 5, 4), f(2, 5, 3),
                          bools(3, 5, data=[[1, 0, 1, 1, 0], [0, 0, 0, 1, 0], [1, 1, 1, 1, 1]])])
    case(A, 'float-mask', [f(2, 3, 4), f(2, 5, 4), f(2, 5, 3), f(3, 5)])
    case(A, 'causal', [f(2, 4, 3), f(2, 4, 3), f(2, 4, 2)], isCausal=True)
    case(A, 'causal-rect', [f(3, 4), f(5, 4), f(5, 2)], isCausal=True)
    case(A, 'scale', [f(2, 3, 4), f(2, 3, 4), f(2, 3, 4)], scale=0.3)
    case(A, 'broadcast-4d-mask', [f(2, 2, 3, 4), f(2, 2, 5, 4), f(2, 2, 5, 4), f(1, 1, 3, 5)])


def misc_cases():
    case('toDtype', 'float32', [f(2, 3)], dtype='float32')
    case('toDtype', 'int32-truncates', [d([-1.7, -0.5, 0.5, 1.7, 2., -2.])], dtype='int32')
    case('toDtype', 'bool', [d([0., -0., 0.5, -2., NAN, INF])], dtype='bool')
    case('toDtype', 'int-to-float32', [ints(4)], dtype='float32', exactDtype=True)
    case('toDtype', 'bool-to-int32', [bools(4)], dtype='int32', exactDtype=True)
    case('toDtype', 'int-to-bool', [ints(5, lo=-2, hi=3)], dtype='bool', exactDtype=True)
    case('arange', 'end', [], range=[5])
    case('arange', 'start-end-step', [], range=[1, 10, 3])
    case('arange', 'negative-step', [], range=[5, 0, -1])
    case('arange', 'float-step', [], range=[0, 1, 0.25])
    case('linspace', 'basic', [], start=0, end=1, steps=5)
    case('linspace', 'one-step', [], start=-1, end=1, steps=1)
    case('linspace', 'reverse', [], start=2, end=-1, steps=7)
    case('eye', 'square', [], n=3)
    case('eye', 'rect', [], n=2, m=4)
    case('full', 'float', [], shape=[2, 3], value=1.5)
    case('full', 'int', [], shape=[2], value=7, dtype='int32')
    case('zeros', 'basic', [], shape=[2, 2])
    case('ones', 'basic', [], shape=[3])
    case('zerosLike', 'basic', [f(2, 3)])
    case('onesLike', 'int', [ints(2, 3)])
    case('fullLike', 'basic', [f(2, 2)], value=-2.5)
    case('add_', 'broadcast', [f(2, 3, grad=False), f(3, grad=False)])
    case('sub_', 'scalar', [f(2, 3, grad=False), S(0.5)])
    case('mul_', 'tensor', [f(2, 3, grad=False), f(2, 1, grad=False)])
    case('div_', 'scalar', [f(4, grad=False), S(-2)])
    case('clamp_', 'both', [f(2, 3, grad=False), S(-0.5), S(0.5)])
    case('copy_', 'broadcast', [f(2, 3, grad=False), f(3, grad=False)])
    case('fill_', 'scalar', [f(2, 3, grad=False)], value=2.5)
    case('zero_', 'basic', [f(2, 3, grad=False)])


def encode(obj):
    return json.dumps(obj, separators=(',', ':'), allow_nan=False)


if __name__ == '__main__':
    torch.manual_seed(0)
    for group in (elementwise_cases, reduce_cases, view_cases, indexing_cases, join_cases, linalg_cases, fused_cases, misc_cases):
        group()
    missing = sorted(set(TORCH_OPS) - {c['op'] for c in CASES})
    assert not missing, f'ops without a case: {missing}'
    text = '{"generator":"scripts/make_fixtures.py","torch":' + json.dumps(torch.__version__) + ',"cases":[\n'
    text += ',\n'.join(encode(c) for c in CASES) + '\n]}\n'
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as fh:
        fh.write(text)
    print(f'wrote {len(CASES)} cases ({len(text) / 1e6:.2f} MB) to {os.path.relpath(OUT)}')
