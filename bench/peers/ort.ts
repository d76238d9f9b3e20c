/**
 * onnxruntime-node (CPU execution provider): each case is a small ONNX graph written in-process (onnx-model.ts),
 * run with intraOpNumThreads = threads and one inter-op thread. Outputs go into preallocated tensors, so a run is
 * the graph itself, not a copy of its result into a fresh JS array.
 */
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { normalFloats, type BenchCase, type Runner } from '../harness.js';
import { onnxModel, type OnnxGraph } from './onnx-model.js';
import { additiveCausalMask, NOT_IMPLEMENTED, type PeerFactory } from './peer.js';

function graphFor(c: BenchCase): OnnxGraph | null {
  const p = c.params;
  if (c.kind === 'matmul') {
    const s = [p.n!, p.n!];
    return { inputs: [{ name: 'a', shape: s }, { name: 'b', shape: s }], outputs: [{ name: 'y', shape: s }], nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }] };
  }
  if (c.kind === 'fma') {
    const s = [p.n!];
    return {
      inputs: ['a', 'b', 'c'].map((name) => ({ name, shape: s })),
      outputs: [{ name: 'y', shape: s }],
      nodes: [
        { op: 'Mul', inputs: ['a', 'b'], outputs: ['ab'] },
        { op: 'Add', inputs: ['ab', 'c'], outputs: ['y'] },
      ],
    };
  }
  if (c.kind === 'attention') {
    const s = [p.B!, p.H!, p.S!, p.D!];
    const initializers: NonNullable<OnnxGraph['initializers']> = [{ name: 'scale', shape: [], data: new Float32Array([1 / Math.sqrt(p.D!)]) }];
    const nodes: OnnxGraph['nodes'] = [
      { op: 'Transpose', inputs: ['k'], outputs: ['kt'], attributes: { perm: [0, 1, 3, 2] } },
      { op: 'MatMul', inputs: ['q', 'kt'], outputs: ['qk'] },
      { op: 'Mul', inputs: ['qk', 'scale'], outputs: ['scores'] },
    ];
    let logits = 'scores';
    if (p.causal) {
      initializers.push({ name: 'mask', shape: [p.S!, p.S!], data: additiveCausalMask(p.S!) });
      nodes.push({ op: 'Add', inputs: ['scores', 'mask'], outputs: ['masked'] });
      logits = 'masked';
    }
    nodes.push({ op: 'Softmax', inputs: [logits], outputs: ['probs'], attributes: { axis: -1 } });
    nodes.push({ op: 'MatMul', inputs: ['probs', 'v'], outputs: ['y'] });
    return { inputs: ['q', 'k', 'v'].map((name) => ({ name, shape: s })), outputs: [{ name: 'y', shape: s }], nodes, initializers };
  }
  return null;
}

export const ortPeer: PeerFactory = async (threads) => {
  const ort = await import('onnxruntime-node');
  const options: InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  return {
    describe: () => `onnxruntime-node ${ort.env.versions.node ?? ''} (CPU EP, graphs built in-process; causal attention as an additive mask)`,
    async prepare(c: BenchCase): Promise<Runner | string> {
      if (c.kind === 'gptStep' || c.kind === 'attentionTrain') return 'inference only: onnxruntime-node has no training or gradient API';
      const g = graphFor(c);
      if (!g) return NOT_IMPLEMENTED;
      const session = await ort.InferenceSession.create(onnxModel(g), options);
      const feeds: Record<string, OrtTensor> = {};
      g.inputs.forEach((i, k) => (feeds[i.name] = new ort.Tensor('float32', normalFloats(i.shape.reduce((a, b) => a * b, 1), k + 1), i.shape)));
      const fetches: Record<string, OrtTensor> = {};
      for (const o of g.outputs) fetches[o.name] = new ort.Tensor('float32', new Float32Array(o.shape.reduce((a, b) => a * b, 1)), o.shape);
      return {
        run: async () => {
          await session.run(feeds, fetches);
        },
        dispose: () => session.release(),
      };
    },
  };
};
