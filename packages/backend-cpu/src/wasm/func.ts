/**
 * A function body builder: typed locals, the instructions the kernels use, and structured control flow whose branch
 * depths are computed from label objects (so generators never count nesting by hand).
 */
import { laneBytes, memBytes, MEMORY_COPY, MEMORY_FILL, plainBytes, SIMD_CONST, SIMD_SHUFFLE, sleb, uleb, type LaneOp, type MemOp, type PlainOp } from './opcodes.js';

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
export const VALTYPE_CODE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

export class Local {
  constructor(
    readonly index: number,
    readonly type: ValType,
  ) {}
}

/** A function index resolved when the module is serialized (imports come first, so indices are known only then). */
export class FuncRef {
  index = -1;
  constructor(
    readonly name: string,
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
  ) {}
}

export class Label {
  constructor(readonly kind: 'block' | 'loop' | 'if') {}
}

/** One code item: a byte, or a function reference expanded to its LEB128 index at serialization. */
export type CodeItem = number | FuncRef;

const f32Bytes = (x: number) => [...new Uint8Array(new Float32Array([x]).buffer)];
const f64Bytes = (x: number) => [...new Uint8Array(new Float64Array([x]).buffer)];

export class Fn {
  readonly code: CodeItem[] = [];
  readonly params: Local[];
  private readonly localTypes: ValType[] = [];
  private readonly labels: Label[] = [];
  private hoistPos = -1;
  private readonly hoisted = new Map<string, Local>();
  readonly ref: FuncRef;

  constructor(
    name: string,
    paramTypes: readonly ValType[],
    readonly results: readonly ValType[] = [],
  ) {
    this.params = paramTypes.map((t, i) => new Local(i, t));
    this.ref = new FuncRef(name, paramTypes, results);
  }

  get paramTypes(): readonly ValType[] {
    return this.ref.params;
  }
  /** Non-parameter locals in declaration order. */
  get locals(): readonly ValType[] {
    return this.localTypes;
  }

  local(type: ValType): Local {
    this.localTypes.push(type);
    return new Local(this.params.length + this.localTypes.length - 1, type);
  }

  /** Marks the current position as where loop-invariant values (constants) get computed; see `hoist`. */
  beginHoisting(): this {
    this.hoistPos = this.code.length;
    return this;
  }

  /**
   * A local holding a loop-invariant value, computed once at the hoisting mark (emitted by `compute`, which
   * must leave one value of `type`). Deduplicated by key, so a kernel asks for a constant wherever it needs it.
   * Moving code is safe because branches are relative nesting depths, not byte offsets.
   */
  hoist(key: string, type: ValType, compute: () => void): Local {
    const found = this.hoisted.get(key);
    if (found) return found;
    const l = this.local(type);
    if (this.hoistPos < 0) {
      compute();
      this.set(l);
      return l;
    }
    const start = this.code.length;
    compute();
    this.set(l);
    const moved = this.code.splice(start);
    this.code.splice(this.hoistPos, 0, ...moved);
    this.hoistPos += moved.length;
    this.hoisted.set(key, l);
    return l;
  }

  private emit(...bytes: CodeItem[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  /** Any instruction without immediates. */
  op(...ops: PlainOp[]): this {
    for (const o of ops) this.emit(...plainBytes(o));
    return this;
  }
  get(...ls: Local[]): this {
    for (const l of ls) this.emit(0x20, ...uleb(l.index));
    return this;
  }
  set(l: Local): this {
    return this.emit(0x21, ...uleb(l.index));
  }
  tee(l: Local): this {
    return this.emit(0x22, ...uleb(l.index));
  }
  i32(n: number): this {
    return this.emit(0x41, ...sleb(n | 0));
  }
  i64(n: number | bigint): this {
    return this.emit(0x42, ...sleb(BigInt.asIntN(64, BigInt(n))));
  }
  f32(x: number): this {
    return this.emit(0x43, ...f32Bytes(x));
  }
  f64(x: number): this {
    return this.emit(0x44, ...f64Bytes(x));
  }
  /** v128.const from 16 raw bytes. */
  v128(bytes: ArrayLike<number>): this {
    if (bytes.length !== 16) throw new Error('v128 constant needs 16 bytes');
    return this.emit(...SIMD_CONST, ...Array.from(bytes, (b) => b & 0xff));
  }
  f32x4(x: number): this {
    return this.v128(new Uint8Array(new Float32Array([x, x, x, x]).buffer));
  }
  f64x2(x: number): this {
    return this.v128(new Uint8Array(new Float64Array([x, x]).buffer));
  }
  i32x4(x: number): this {
    return this.v128(new Uint8Array(new Int32Array([x, x, x, x]).buffer));
  }
  /** A load or store with a constant byte offset; alignment defaults to the natural one. */
  mem(op: MemOp, offset = 0, align?: number): this {
    const { bytes, align: natural } = memBytes(op);
    return this.emit(...bytes, ...uleb(align ?? natural), ...uleb(offset));
  }
  lane(op: LaneOp, idx: number): this {
    return this.emit(...laneBytes(op), idx);
  }
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16) throw new Error('shuffle needs 16 lane indices');
    return this.emit(...SIMD_SHUFFLE, ...lanes);
  }
  memoryCopy(): this {
    return this.emit(...MEMORY_COPY);
  }
  memoryFill(): this {
    return this.emit(...MEMORY_FILL);
  }
  call(fn: FuncRef): this {
    return this.emit(0x10, fn);
  }

  // --- structured control flow ------------------------------------------------------------------------------
  private structured(opcode: number, kind: Label['kind'], type: ValType | undefined, body: (l: Label) => void): void {
    const label = new Label(kind);
    this.emit(opcode, type ? VALTYPE_CODE[type] : 0x40);
    this.labels.push(label);
    body(label);
    this.labels.pop();
    this.emit(0x0b);
  }
  block(body: (exit: Label) => void, type?: ValType): this {
    this.structured(0x02, 'block', type, body);
    return this;
  }
  /** A loop; branching to its label continues it. */
  loop(body: (next: Label) => void, type?: ValType): this {
    this.structured(0x03, 'loop', type, body);
    return this;
  }
  /** for (x = 0; x < n; x += step) body(), with x and n i32 locals (signed comparison). */
  forUp(x: Local, n: Local, step: number, body: () => void): this {
    this.i32(0).set(x);
    return this.block((exit) =>
      this.loop((next) => {
        this.get(x, n).op('i32.ge_s').brIf(exit);
        body();
        this.get(x).i32(step).op('i32.add').set(x);
        this.br(next);
      }),
    );
  }
  /** if/else on the i32 on the stack. */
  if(then: () => void, otherwise?: () => void, type?: ValType): this {
    const label = new Label('if');
    this.emit(0x04, type ? VALTYPE_CODE[type] : 0x40);
    this.labels.push(label);
    then();
    if (otherwise) {
      this.emit(0x05);
      otherwise();
    }
    this.labels.pop();
    this.emit(0x0b);
    return this;
  }
  private depth(label: Label): number {
    const i = this.labels.lastIndexOf(label);
    if (i < 0) throw new Error('branch to a label that is not in scope');
    return this.labels.length - 1 - i;
  }
  br(label: Label): this {
    return this.emit(0x0c, ...uleb(this.depth(label)));
  }
  brIf(label: Label): this {
    return this.emit(0x0d, ...uleb(this.depth(label)));
  }
  ret(): this {
    return this.op('return');
  }
}
