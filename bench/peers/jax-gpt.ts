/**
 * The tiny GPT training step in jax-js: the same model as bench/models/tiny-gpt.ts written as a pure function of a
 * parameter tree, one jit-compiled step doing value-and-grad and an Adam update (jax-js has no optimizer built in;
 * @jax-js/optax is a separate package). jax-js arrays are consumed by every op, so a value used twice is `.ref`'d.
 */
import { normalFloats, type Runner } from '../harness.js';
import { additiveCausalMask } from './peer.js';

type Jax = typeof import('@jax-js/jax');
// jax-js's tree types are deeply generic; the model code works on plain arrays.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type A = any;

interface Block {
  ln1g: A; ln1b: A; wqkv: A; bqkv: A; wo: A; bo: A; ln2g: A; ln2b: A; w1: A; b1: A; w2: A; b2: A;
}
interface Params {
  tok: A; pos: A; blocks: Block[]; lnfg: A; lnfb: A; head: A;
}

export async function jaxGptStep(jax: Jax, p: Record<string, number>): Promise<Runner | string> {
  const np = jax.numpy;
  const { vocab: V, dModel: d, heads: H, layers: L, context: T, batch: B, mlpRatio: R } = p as Record<string, number> & {
    vocab: number; dModel: number; heads: number; layers: number; context: number; batch: number; mlpRatio: number;
  };
  const Dh = d / H;
  let seed = 10;
  const normal = (shape: number[], std = 0.02) => np.array(normalFloats(shape.reduce((a, b) => a * b, 1), seed++), { shape }).mul(std);
  const zeros = (n: number) => np.zeros([n]);
  const ones = (n: number) => np.ones([n]);
  const block = (): Block => ({
    ln1g: ones(d), ln1b: zeros(d), wqkv: normal([d, 3 * d]), bqkv: zeros(3 * d), wo: normal([d, d]), bo: zeros(d),
    ln2g: ones(d), ln2b: zeros(d), w1: normal([d, R * d]), b1: zeros(R * d), w2: normal([R * d, d]), b2: zeros(d),
  });
  let params: Params = { tok: normal([V, d]), pos: normal([T, d]), blocks: Array.from({ length: L }, block), lnfg: ones(d), lnfb: zeros(d), head: normal([d, V]) };
  const count = jax.tree.leaves(params).reduce((n: number, x: A) => n + x.size, 0);
  if (count !== p.expectedParameters && p.expectedParameters !== undefined) return `model has ${count} parameters, expected ${p.expectedParameters}`;

  const layerNorm = (x: A, g: A, b: A) => jax.nn.standardize(x, -1, { epsilon: 1e-5 }).mul(g).add(b);
  const linear = (x: A, w: A, b: A) => np.matmul(x, w).add(b);

  function attention(x: A, blk: Block, mask: A): A {
    const qkv = linear(x, blk.wqkv, blk.bqkv).reshape([B, T, 3, H, Dh]).transpose([2, 0, 3, 1, 4]);
    const [q, k, v] = np.split(qkv, 3, 0).map((t: A) => t.reshape([B, H, T, Dh]));
    const scores = np.matmul(q, k.transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(Dh)).add(mask);
    const out = np.matmul(jax.nn.softmax(scores, -1), v).transpose([0, 2, 1, 3]).reshape([B, T, d]);
    return linear(out, blk.wo, blk.bo);
  }

  function loss(prm: Params, ids: A, targets: A, mask: A): A {
    let h = np.take(prm.tok, ids, 0).add(prm.pos);
    for (const blk of prm.blocks) {
      h = h.ref.add(attention(layerNorm(h, blk.ln1g, blk.ln1b), blk, mask.ref));
      const m = linear(jax.nn.gelu(linear(layerNorm(h.ref, blk.ln2g, blk.ln2b), blk.w1, blk.b1), { approximate: true }), blk.w2, blk.b2);
      h = h.add(m);
    }
    mask.dispose();
    const logits = np.matmul(layerNorm(h, prm.lnfg, prm.lnfb), prm.head).reshape([B * T, V]);
    const logp = jax.nn.logSoftmax(logits, -1);
    return jax.nn.oneHot(targets.reshape([B * T]), V).mul(logp).sum().mul(-1 / (B * T));
  }

  const [b1, b2, lr, eps] = [0.9, 0.999, 1e-3, 1e-8];
  /** value-and-grad and Adam in one compiled step; `stepSize` and `bias2` carry the bias corrections for step t. */
  const step = jax.jit((prm: Params, m: Params, v: Params, ids: A, targets: A, mask: A, stepSize: A, bias2: A) => {
    const [value, grads] = jax.valueAndGrad(loss)(jax.tree.ref(prm), ids, targets, mask);
    const gs = jax.tree.leaves(grads) as A[];
    const ms = (jax.tree.leaves(m) as A[]).map((mi, i) => mi.mul(b1).add(gs[i].ref.mul(1 - b1)));
    const vs = (jax.tree.leaves(v) as A[]).map((vi, i) => vi.mul(b2).add(gs[i].ref.mul(gs[i]).mul(1 - b2)));
    const ps = (jax.tree.leaves(prm) as A[]).map((pi, i) =>
      pi.sub(ms[i].ref.mul(stepSize.ref).div(np.sqrt(vs[i].ref.div(bias2.ref)).add(eps))),
    );
    stepSize.dispose();
    bias2.dispose();
    const def = jax.tree.structure(prm);
    return [value, jax.tree.unflatten(def, ps), jax.tree.unflatten(def, ms), jax.tree.unflatten(def, vs)];
  });

  const intIds = (s: number) => np.array(Int32Array.from(normalFloats(B * T, s), (x) => Math.abs(Math.floor(x * 1e4)) % V), { shape: [B, T], dtype: np.int32 });
  const [ids, targets] = [intIds(1), intIds(2)];
  const mask = np.array(additiveCausalMask(T), { shape: [T, T] });
  let m = jax.tree.map((x: A) => np.zerosLike(x.ref), params) as unknown as Params;
  let v = jax.tree.map((x: A) => np.zerosLike(x.ref), params) as unknown as Params;
  let t = 0;
  return {
    async run() {
      t++;
      const stepSize = np.array([lr / (1 - b1 ** t)]).reshape([]);
      const bias2 = np.array([1 - b2 ** t]).reshape([]);
      const [value, p2, m2, v2] = step(params, m, v, ids.ref, targets.ref, mask.ref, stepSize, bias2) as [A, Params, Params, Params];
      [params, m, v] = [p2, m2, v2];
      await jax.blockUntilReady([value, params]);
      const l = value.ref.item();
      value.dispose();
      if (!Number.isFinite(l)) throw new Error(`jax-js GPT loss is ${l}`);
    },
    dispose() {
      jax.tree.dispose([params, m, v, ids, targets, mask]);
    },
  };
}
