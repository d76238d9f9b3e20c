/** Module mechanics: registration by assignment, traversal, state dicts, modes, dropout, printing, devices. */
import { describe, expect, it } from 'vitest';
import { ArgumentError, Generator, isGradEnabled, ones, tensor, zeros, type Tensor } from '@tessera/core';
import {
  Dropout, Embedding, GELU, isParameter, LayerNorm, Linear, MLP, Module, ModuleDict, ModuleList, Parameter, ReLU, Sequential,
  StateDictError, SwiGLUMLP, dropout,
} from '../src/index.js';

class Net extends Module {
  fc1 = new Linear(4, 8);
  act = new ReLU();
  fc2: Linear;
  scale = Parameter(tensor([1.5]));
  notAParam = tensor([1]);
  constructor() {
    super();
    this.fc2 = new Linear(8, 2, { bias: false });
    this.registerBuffer('steps', zeros([1]));
    this.registerBuffer('cache', zeros([2]), false);
  }
  override forward(x: Tensor): Tensor {
    return this.fc2.forward(this.act.forward(this.fc1.forward(x))).mul(this.scale);
  }
}

describe('registration', () => {
  it('finds parameters, buffers and submodules assigned as class fields or in the constructor, in order', () => {
    const n = new Net();
    expect(n.namedParameters().map(([k, p]) => [k, p.shape])).toEqual([
      ['scale', [1]], ['fc1.weight', [8, 4]], ['fc1.bias', [8]], ['fc2.weight', [2, 8]],
    ]);
    expect(n.namedBuffers().map(([k]) => k)).toEqual(['steps', 'cache']);
    expect(n.namedChildren().map(([k]) => k)).toEqual(['fc1', 'act', 'fc2']);
    expect(n.children()).toEqual([n.fc1, n.act, n.fc2]);
    expect(n.namedModules().map(([k]) => k)).toEqual(['', 'fc1', 'act', 'fc2']);
    expect(n.numParameters()).toBe(1 + 32 + 8 + 16);
    expect(n.parameters().every((p) => p.requiresGrad && p.isLeaf && isParameter(p))).toBe(true);
    expect(isParameter(n.notAParam)).toBe(false);
  });

  it('reassignment, null and delete update the registry; plain tensors cannot replace parameters', () => {
    const n = new Net();
    n.fc2 = new Linear(8, 3);
    expect(n.namedParameters().map(([k]) => k)).toContain('fc2.bias');
    n.fc1.bias = null;
    expect(n.namedParameters().map(([k]) => k)).not.toContain('fc1.bias');
    expect(() => ((n.fc1 as unknown as Record<string, unknown>).weight = zeros([8, 4]))).toThrow(/cannot assign a Tensor to parameter 'weight'/);
    expect(() => ((n as unknown as Record<string, unknown>).fc1 = 3)).toThrow(/submodule 'fc1'/);
    (n as unknown as Record<string, unknown>).steps = ones([1]);
    expect(n.namedBuffers()[0]![1].itemSync()).toBe(1);
    delete (n as unknown as Record<string, unknown>).act;
    expect(n.namedChildren().map(([k]) => k)).toEqual(['fc1', 'fc2']);
    expect(() => n.registerBuffer('forward', zeros([1]))).toThrow(/attribute 'forward' already exists/);
    expect(() => n.registerParameter('a.b', null)).toThrow(ArgumentError);
  });

  it('lists a shared (tied) parameter once but keeps it under both names in the state dict', () => {
    class Tied extends Module {
      emb = new Embedding(5, 3);
      head = new Linear(3, 5, { bias: false });
      constructor() {
        super();
        this.head.weight = this.emb.weight;
      }
    }
    const t = new Tied();
    expect(t.parameters()).toHaveLength(1);
    expect(Object.keys(t.stateDict())).toEqual(['emb.weight', 'head.weight']);
  });

  it('containers register children under indices or keys', () => {
    const s = new Sequential(new Linear(2, 3), new ReLU(), new Linear(3, 1));
    expect(s.length).toBe(3);
    expect(s.at(-1)).toBeInstanceOf(Linear);
    expect(Object.keys(s.stateDict())).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(s.forward(zeros([4, 2])).shape).toEqual([4, 1]);
    const l = new ModuleList([new Linear(1, 1)]).append(new Linear(1, 2));
    expect([...l].length).toBe(2);
    expect(Object.keys(l.stateDict())).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    const d = new ModuleDict({ enc: new Linear(2, 2), train: new ReLU() });
    expect(d.keys()).toEqual(['enc', 'train']);
    expect(typeof d.train).toBe('function'); // a key named like a method does not shadow it
    expect(d.get('train')).toBeInstanceOf(ReLU);
    expect(d.delete('enc')).toBe(true);
    expect(Object.keys(d.stateDict())).toEqual([]);
  });
});

describe('state dicts', () => {
  it('round-trips through stateDict/loadStateDict in place (identities kept)', async () => {
    const a = new Net();
    const b = new Net();
    const weight = b.fc1.weight;
    b.loadStateDict(a.stateDict());
    expect(b.fc1.weight).toBe(weight);
    for (const [k, t] of Object.entries(a.stateDict())) expect(await b.stateDict()[k]!.data()).toEqual(await t.data());
    expect(Object.keys(a.stateDict())).not.toContain('cache'); // non-persistent buffer
  });

  it('strict mode lists missing and unexpected keys; shape mismatches fail in any mode, before any change', async () => {
    const n = new Net();
    const sd = { ...n.stateDict() };
    delete sd['fc2.weight'];
    sd['extra.weight'] = zeros([1]);
    try {
      n.loadStateDict(sd);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(StateDictError);
      const err = e as StateDictError;
      expect(err.missingKeys).toEqual(['fc2.weight']);
      expect(err.unexpectedKeys).toEqual(['extra.weight']);
      expect(err.message).toMatch(/Missing key\(s\) in stateDict: "fc2.weight"/);
      expect(err.message).toMatch(/Unexpected key\(s\) in stateDict: "extra.weight"/);
    }
    expect(n.loadStateDict(sd, { strict: false })).toEqual({ missingKeys: ['fc2.weight'], unexpectedKeys: ['extra.weight'] });
    const before = await n.fc1.bias!.data();
    const bad = { ...n.stateDict(), 'fc1.weight': zeros([8, 5]), 'fc1.bias': ones([8]) };
    expect(() => n.loadStateDict(bad, { strict: false })).toThrow(/size mismatch for fc1.weight: copying a tensor with shape \[8, 5\] from the stateDict, the shape in the current model is \[8, 4\]/);
    expect(await n.fc1.bias!.data()).toEqual(before);
  });
});

describe('modes, gradients and devices', () => {
  it('train/eval propagate; dropout is the identity in eval and seeded in training', async () => {
    const m = new MLP(4, 8, { dropout: 0.5, generator: new Generator(1) });
    expect(m.training && m.drop!.training).toBe(true);
    m.eval();
    expect(m.fc1.training || m.drop!.training).toBe(false);
    const x = ones([3, 4]);
    expect(await m.drop!.forward(x).data()).toEqual(await x.data());
    m.train();
    expect(m.drop!.training).toBe(true);

    const masks = async (seed: number) => dropout(ones([200]), 0.3, true, { generator: new Generator(seed) }).data();
    expect(await masks(7)).toEqual(await masks(7));
    expect(await masks(7)).not.toEqual(await masks(8));
    const vals = Array.from(await masks(7));
    expect(new Set(vals.map((v) => v.toFixed(5)))).toEqual(new Set(['0.00000', (1 / 0.7).toFixed(5)]));
    const kept = vals.filter((v) => v > 0).length;
    expect(kept).toBeGreaterThan(110);
    expect(kept).toBeLessThan(170);
    const d = new Dropout(0.25, { generator: new Generator(3) });
    const xg = ones([50]).requiresGrad_();
    const y = d.forward(xg);
    y.sum().backward();
    expect(Array.from(await xg.grad!.data())).toEqual(Array.from(await y.data()));
  });

  it('zeroGrad frees or zeroes gradients; requiresGrad_ freezes', async () => {
    const n = new Net();
    n.forward(ones([2, 4])).sum().backward();
    expect(n.parameters().every((p) => p.grad !== null)).toBe(true);
    n.zeroGrad(false);
    expect(Array.from(await n.fc1.weight.grad!.data()).every((v) => v === 0)).toBe(true);
    n.zeroGrad();
    expect(n.parameters().every((p) => p.grad === null)).toBe(true);
    n.requiresGrad_(false);
    expect(n.numParameters(true)).toBe(0);
    expect(isGradEnabled()).toBe(true);
  });

  it('to() casts floating-point parameters and buffers, keeping registration', () => {
    const n = new Net();
    n.double();
    expect(n.parameters().every((p) => p.dtype === 'float64' && isParameter(p) && p.requiresGrad)).toBe(true);
    expect(n.namedBuffers().every(([, b]) => b.dtype === 'float64')).toBe(true);
    expect(n.fc1.weight.dtype).toBe('float64');
    expect(n.forward(ones([1, 4], { dtype: 'float64' })).dtype).toBe('float64');
    n.to('reference');
    expect(n.fc1.weight.device).toBe('reference');
    expect(() => n.to({ dtype: 'int32' })).toThrow(/only floating-point dtypes/);
  });

  it('apply visits every module, children first', () => {
    const seen: string[] = [];
    new Net().apply((m) => seen.push(m.constructor.name));
    expect(seen).toEqual(['Linear', 'ReLU', 'Linear', 'Net']);
  });
});

describe('printing', () => {
  it('prints a PyTorch-style summary', () => {
    const model = new Sequential(new Linear(4, 8), new GELU('tanh'), new LayerNorm(8), new Sequential(new Embedding(10, 3, { paddingIdx: 0 }), new SwiGLUMLP(3, 6)));
    expect(String(model)).toBe(
      [
        'Sequential(',
        '  (0): Linear(inFeatures=4, outFeatures=8, bias=true)',
        "  (1): GELU(approximate='tanh')",
        '  (2): LayerNorm([8], eps=0.00001, elementwiseAffine=true)',
        '  (3): Sequential(',
        '    (0): Embedding(10, 3, paddingIdx=0)',
        '    (1): SwiGLUMLP(',
        '      (gate_proj): Linear(inFeatures=3, outFeatures=6, bias=false)',
        '      (up_proj): Linear(inFeatures=3, outFeatures=6, bias=false)',
        '      (down_proj): Linear(inFeatures=6, outFeatures=3, bias=false)',
        '    )',
        '  )',
        ')',
      ].join('\n'),
    );
  });
});

describe('layer construction', () => {
  it('initializes like PyTorch: Linear within ±1/√in, Embedding ~N(0,1) with a zero padding row, norms ones/zeros', async () => {
    const lin = new Linear(16, 300, { generator: new Generator(1) });
    const w = Array.from(await lin.weight.data());
    const bound = 1 / 4;
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(bound * 0.95);
    expect(Math.max(...Array.from(await lin.bias!.data()).map(Math.abs))).toBeLessThanOrEqual(bound);
    const emb = new Embedding(400, 8, { paddingIdx: -1, generator: new Generator(2) });
    expect(emb.paddingIdx).toBe(399);
    const e = Array.from(await emb.weight.data());
    expect(e.slice(399 * 8).every((v) => v === 0)).toBe(true);
    const mean = e.reduce((a, b) => a + b, 0) / e.length;
    const sd = Math.sqrt(e.reduce((a, b) => a + (b - mean) ** 2, 0) / e.length);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(sd - 1)).toBeLessThan(0.05);
    const ln = new LayerNorm([2, 3]);
    expect(Array.from(await ln.weight!.data())).toEqual([1, 1, 1, 1, 1, 1]);
    expect(Array.from(await ln.bias!.data())).toEqual([0, 0, 0, 0, 0, 0]);
    const same = async (seed: number) => new Linear(3, 3, { generator: new Generator(seed) }).weight.data();
    expect(await same(5)).toEqual(await same(5));
  });

  it('rejects invalid layer arguments', () => {
    expect(() => new Linear(-1, 2)).toThrow(/inFeatures must be a non-negative integer/);
    expect(() => new Embedding(4, 2, { paddingIdx: 4 })).toThrow(/paddingIdx must be an integer within \[-4, 4\)/);
    expect(() => new Dropout(1.5)).toThrow(/probability must be within \[0, 1\]/);
    expect(() => new Linear(3, 2).forward(zeros([2, 4]))).toThrow(/linear: expected input \[\.\.\., 3\]/);
    const emb = new Embedding(3, 2);
    expect(() => emb.forward(tensor([3], { dtype: 'int32' }))).toThrow(/out of bounds/);
    expect(() => emb.forward(tensor([-1, 0], { dtype: 'int32' }))).toThrow(/index -1 is out of bounds/);
    expect(() => emb.forward(tensor([0]))).toThrow(/indices must be int32/);
  });
});
