/**
 * The tiny GPT training step in TensorFlow.js: the same model as bench/models/tiny-gpt.ts on tf.variable
 * parameters, trained with tf.train.adam through optimizer.minimize (forward, backward and update in one call).
 * tfjs has no tanh-GELU or LayerNorm op in tfjs-core, so both are written out; the token embedding is a one-hot
 * matmul (extra 2·B·T·vocab·d flops each way) because tfjs-wasm lacks UnsortedSegmentSum, the kernel of gather's
 * gradient.
 */
import { normalFloats, type Runner } from '../harness.js';
import { additiveCausalMask } from './peer.js';

type Tf = typeof import('@tensorflow/tfjs-core');
type TfTensor = import('@tensorflow/tfjs-core').Tensor;
type TfVariable = import('@tensorflow/tfjs-core').Variable;

export async function tfjsGptStep(tf: Tf, p: Record<string, number>, settle: (ys: TfTensor[]) => Promise<void>): Promise<Runner | string> {
  const { vocab: V, dModel: d, heads: H, layers: L, context: T, batch: B, mlpRatio: R } = p as Record<string, number> & {
    vocab: number; dModel: number; heads: number; layers: number; context: number; batch: number; mlpRatio: number;
  };
  const Dh = d / H;
  let seed = 10;
  const vars: TfVariable[] = [];
  const param = (t: TfTensor) => {
    const v = tf.variable(t);
    t.dispose();
    vars.push(v);
    return v;
  };
  const normal = (shape: number[]) => param(tf.mul(tf.tensor(normalFloats(shape.reduce((a, b) => a * b, 1), seed++), shape), 0.02));
  const zeros = (n: number) => param(tf.zeros([n]));
  const ones = (n: number) => param(tf.ones([n]));
  const tok = normal([V, d]);
  const pos = normal([T, d]);
  const blocks = Array.from({ length: L }, () => ({
    ln1: [ones(d), zeros(d)] as const, wqkv: normal([d, 3 * d]), bqkv: zeros(3 * d), wo: normal([d, d]), bo: zeros(d),
    ln2: [ones(d), zeros(d)] as const, w1: normal([d, R * d]), b1: zeros(R * d), w2: normal([R * d, d]), b2: zeros(d),
  }));
  const lnf = [ones(d), zeros(d)] as const;
  const head = normal([d, V]);
  const count = vars.reduce((n, v) => n + v.size, 0);
  if (p.expectedParameters !== undefined && count !== p.expectedParameters) return `model has ${count} parameters, expected ${p.expectedParameters}`;

  const layerNorm = (x: TfTensor, [g, b]: readonly [TfTensor, TfTensor]) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
  };
  const linear = (x: TfTensor, w: TfTensor, b: TfTensor) => tf.add(tf.matMul(tf.reshape(x, [-1, x.shape.at(-1)!]), w), b);
  const geluTanh = (x: TfTensor) => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  };
  const mask = tf.tensor(additiveCausalMask(T), [T, T]);
  const ids = tf.oneHot(tf.tensor(Int32Array.from(normalFloats(B * T, 1), (x) => Math.abs(Math.floor(x * 1e4)) % V), [B * T], 'int32'), V);
  const targets = tf.oneHot(tf.tensor(Int32Array.from(normalFloats(B * T, 2), (x) => Math.abs(Math.floor(x * 1e4)) % V), [B * T], 'int32'), V);

  const loss = () => {
    let h = tf.add(tf.reshape(tf.matMul(tf.cast(ids, 'float32'), tok), [B, T, d]), pos);
    for (const blk of blocks) {
      const qkv = tf.transpose(tf.reshape(linear(layerNorm(h, blk.ln1), blk.wqkv, blk.bqkv), [B, T, 3, H, Dh]), [2, 0, 3, 1, 4]);
      const [q, k, v] = tf.split(qkv, 3, 0).map((t) => tf.reshape(t, [B, H, T, Dh])) as [TfTensor, TfTensor, TfTensor];
      const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(Dh)), mask);
      const att = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores), v), [0, 2, 1, 3]), [B * T, d]);
      h = tf.add(h, tf.reshape(linear(att, blk.wo, blk.bo), [B, T, d]));
      const m = linear(geluTanh(linear(layerNorm(h, blk.ln2), blk.w1, blk.b1)), blk.w2, blk.b2);
      h = tf.add(h, tf.reshape(m, [B, T, d]));
    }
    const logits = tf.matMul(tf.reshape(layerNorm(h, lnf), [B * T, d]), head);
    return tf.losses.softmaxCrossEntropy(targets, logits) as import('@tensorflow/tfjs-core').Scalar;
  };
  const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  return {
    async run() {
      const value = optimizer.minimize(loss, true, vars)!;
      await settle([value, vars.at(-1)!]);
      value.dispose();
    },
    dispose() {
      optimizer.dispose();
      tf.dispose([...vars, mask, ids, targets]);
    },
  };
}
