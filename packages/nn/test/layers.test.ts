/** Every layer against PyTorch: same weights, same input, compare the output and all gradients. */
import { describe, expect, it } from 'vitest';
import { setBackend, type DType, type Tensor } from '@tessera/core';
import {
  Embedding, GELU, LayerNorm, LeakyReLU, Linear, MLP, RMSNorm, ReLU, Sequential, Sigmoid, SiLU, Softplus, SwiGLUMLP, Tanh,
  type Module,
} from '../src/index.js';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';
import { expectClose } from '../../../test/support/close.js';
import { fixture, fromFixture, stateDictFrom, type FT } from './helpers.js';

interface LayerCase {
  name: string;
  kind: string;
  args: Record<string, unknown>;
  params: Record<string, FT>;
  input: FT;
  gradOutput: FT;
  output: FT;
  inputGrad?: FT;
  paramGrads: Record<string, FT>;
}

const cases = fixture<LayerCase[]>('layers.json');

function build(c: LayerCase, dtype: DType): Module {
  const a = c.args as Record<string, never>;
  switch (c.kind) {
    case 'Linear': return new Linear(a.in, a.out, { bias: a.bias ?? true, dtype });
    case 'Embedding': return new Embedding(a.num, a.dim, { paddingIdx: a.paddingIdx ?? null, dtype });
    case 'LayerNorm': return new LayerNorm(a.shape, { elementwiseAffine: a.affine ?? true, eps: a.eps, dtype });
    case 'RMSNorm': return new RMSNorm(a.shape, { eps: a.eps, dtype });
    case 'ReLU': return new ReLU();
    case 'GELU': return new GELU(a.approximate);
    case 'SiLU': return new SiLU();
    case 'Tanh': return new Tanh();
    case 'Sigmoid': return new Sigmoid();
    case 'LeakyReLU': return new LeakyReLU(a.negativeSlope);
    case 'Softplus': return new Softplus(a.beta, a.threshold);
    case 'MLP': return new MLP(a.in, a.hidden, { dtype });
    case 'SwiGLUMLP': return new SwiGLUMLP(a.dim, a.hidden, { dtype });
    case 'Sequential': return new Sequential(new Linear(4, 8, { dtype }), new Tanh(), new Linear(8, 3, { dtype }));
    default: throw new Error(`unknown layer kind ${c.kind}`);
  }
}

describe.each(BACKENDS)('layers vs PyTorch (%s)', (backend) => {
  const dtype: DType = hasFloat64(backend) ? 'float64' : 'float32';
  const tol = dtype === 'float64' ? { atol: 1e-10, rtol: 1e-9 } : { atol: 2e-5, rtol: 2e-4 };

  it.each(cases.map((c) => [c.name, c] as const))('%s: forward and backward', async (_name, c) => {
    setBackend(backend);
    const m = build(c, dtype);
    // strict: Tessera's parameter names must equal PyTorch's state_dict keys.
    m.loadStateDict(stateDictFrom(c.params, dtype));
    const x: Tensor = c.inputGrad ? fromFixture(c.input, dtype).requiresGrad_() : fromFixture(c.input, 'int32');
    const y = m.forward(x) as Tensor;
    expect(y.shape).toEqual(c.output.shape);
    expectClose(await y.data(), c.output.data, tol, `${c.name} output`);
    y.mul(fromFixture(c.gradOutput, dtype)).sum().backward();
    if (c.inputGrad) expectClose(await x.grad!.data(), c.inputGrad.data, tol, `${c.name} input grad`);
    const grads = Object.fromEntries(m.namedParameters());
    expect(Object.keys(grads).sort()).toEqual(Object.keys(c.paramGrads).sort());
    for (const [k, g] of Object.entries(c.paramGrads)) expectClose(await grads[k]!.grad!.data(), g.data, tol, `${c.name} ${k}.grad`);
  });
});
