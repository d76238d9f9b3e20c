/**
 * Just enough of the ONNX protobuf format (onnx.proto3: ModelProto, GraphProto, NodeProto, ValueInfoProto,
 * TensorProto, AttributeProto) to write small float32 graphs in-process, so onnxruntime-node can be benchmarked
 * without the onnx Python package. Field numbers follow onnx.proto3.
 */

/** Protobuf writer: varints, length-delimited fields and fixed32 floats. */
class Writer {
  private readonly bytes: number[] = [];
  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x) b |= 0x80;
      this.bytes.push(b);
    } while (x);
    return this;
  }
  private tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  bytesField(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytesField(field, new TextEncoder().encode(s));
  }
  message(field: number, m: Writer): this {
    return this.bytesField(field, m.finish());
  }
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    for (const x of b) this.bytes.push(x);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

export type Attribute = number | number[] | { float: number };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, Attribute>;
}

export interface OnnxGraph {
  inputs: { name: string; shape: number[] }[];
  outputs: { name: string; shape: number[] }[];
  nodes: OnnxNode[];
  /** Constant float32 tensors (weights, masks, scalars). */
  initializers?: { name: string; shape: number[]; data: Float32Array }[];
}

function valueInfo(name: string, shape: number[]): Writer {
  const dims = new Writer();
  for (const d of shape) dims.message(1, new Writer().int(1, d)); // TensorShapeProto.dim { dim_value }
  const tensorType = new Writer().int(1, FLOAT).message(2, dims); // TypeProto.Tensor { elem_type, shape }
  return new Writer().string(1, name).message(2, new Writer().message(1, tensorType)); // ValueInfoProto { name, type }
}

function attribute(name: string, a: Attribute): Writer {
  const w = new Writer().string(1, name);
  if (typeof a === 'number') return w.int(3, a).int(20, ATTR_INT);
  if (Array.isArray(a)) {
    for (const v of a) w.int(8, v);
    return w.int(20, ATTR_INTS);
  }
  return w.float(2, a.float).int(20, ATTR_FLOAT);
}

function node(n: OnnxNode, index: number): Writer {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, `${n.op}_${index}`).string(4, n.op);
  for (const [k, v] of Object.entries(n.attributes ?? {})) w.message(5, attribute(k, v));
  return w;
}

function initializer(t: { name: string; shape: number[]; data: Float32Array }): Writer {
  const w = new Writer();
  for (const d of t.shape) w.int(1, d);
  return w.int(2, FLOAT).string(8, t.name).bytesField(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

/** Serializes a single-graph model (IR version 8, default-domain opset 17). */
export function onnxModel(g: OnnxGraph): Uint8Array {
  const graph = new Writer();
  g.nodes.forEach((n, i) => graph.message(1, node(n, i)));
  graph.string(2, 'bench');
  for (const t of g.initializers ?? []) graph.message(5, initializer(t));
  for (const i of g.inputs) graph.message(11, valueInfo(i.name, i.shape));
  for (const o of g.outputs) graph.message(12, valueInfo(o.name, o.shape));
  return new Writer()
    .int(1, 8) // ir_version
    .string(2, 'tessera-bench') // producer_name
    .message(7, graph)
    .message(8, new Writer().string(1, '').int(2, 17)) // opset_import { domain: '', version: 17 }
    .finish();
}
