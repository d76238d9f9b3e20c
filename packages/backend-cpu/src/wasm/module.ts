/**
 * A WebAssembly module writer: deduplicated function types, imports (one memory, host functions), functions with
 * locals, and exports; `bytes()` serializes the binary format (type, import, function, export and code sections).
 */
import { Fn, FuncRef, VALTYPE_CODE, type ValType } from './func.js';
import { uleb } from './opcodes.js';

export interface MemoryImport {
  module: string;
  name: string;
  initial: number;
  maximum?: number;
  shared: boolean;
}

const utf8 = (s: string) => [...new TextEncoder().encode(s)];
const name = (s: string) => {
  const b = utf8(s);
  return [...uleb(b.length), ...b];
};
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];

interface FuncImport {
  module: string;
  ref: FuncRef;
}

export class ModuleBuilder {
  private memory: MemoryImport | undefined;
  private readonly funcImports: FuncImport[] = [];
  private readonly funcs: Fn[] = [];
  private readonly exports: { name: string; fn: Fn }[] = [];

  importMemory(mem: MemoryImport): this {
    this.memory = mem;
    return this;
  }

  /** Imports a host function (deduplicated by module and name). */
  importFunc(module: string, field: string, params: readonly ValType[], results: readonly ValType[]): FuncRef {
    const found = this.funcImports.find((f) => f.module === module && f.ref.name === field);
    if (found) return found.ref;
    const ref = new FuncRef(field, params, results);
    this.funcImports.push({ module, ref });
    return ref;
  }

  /** Adds a function; exported under `exportName` when given. */
  func(params: readonly ValType[], results: readonly ValType[], exportName?: string): Fn {
    const fn = new Fn(exportName ?? `f${this.funcs.length}`, params, results);
    this.funcs.push(fn);
    if (exportName) this.exports.push({ name: exportName, fn });
    return fn;
  }

  bytes(): Uint8Array {
    // Resolve function indices: imports first, then defined functions.
    this.funcImports.forEach((f, i) => (f.ref.index = i));
    this.funcs.forEach((f, i) => (f.ref.index = this.funcImports.length + i));

    const types: string[] = [];
    const typeBytes: number[][] = [];
    const typeIndex = (params: readonly ValType[], results: readonly ValType[]) => {
      const key = `${params.join(',')}->${results.join(',')}`;
      let i = types.indexOf(key);
      if (i < 0) {
        i = types.length;
        types.push(key);
        typeBytes.push([0x60, ...vec(params.map((p) => [VALTYPE_CODE[p]])), ...vec(results.map((r) => [VALTYPE_CODE[r]]))]);
      }
      return i;
    };

    const imports: number[][] = [];
    if (this.memory) {
      const m = this.memory;
      const limits = m.shared
        ? [0x03, ...uleb(m.initial), ...uleb(m.maximum ?? m.initial)]
        : m.maximum === undefined
          ? [0x00, ...uleb(m.initial)]
          : [0x01, ...uleb(m.initial), ...uleb(m.maximum)];
      imports.push([...name(m.module), ...name(m.name), 0x02, ...limits]);
    }
    for (const f of this.funcImports) imports.push([...name(f.module), ...name(f.ref.name), 0x00, ...uleb(typeIndex(f.ref.params, f.ref.results))]);

    const funcTypes = this.funcs.map((f) => uleb(typeIndex(f.paramTypes, f.results)));
    const exports = this.exports.map((e) => [...name(e.name), 0x00, ...uleb(e.fn.ref.index)]);
    const bodies = this.funcs.map((f) => {
      // Group consecutive locals of one type.
      const groups: number[][] = [];
      let prev: ValType | undefined;
      let count = 0;
      for (const t of [...f.locals, undefined]) {
        if (t === prev) {
          count++;
          continue;
        }
        if (prev) groups.push([...uleb(count), VALTYPE_CODE[prev]]);
        prev = t;
        count = 1;
      }
      const code: number[] = [];
      for (const item of f.code) {
        if (typeof item === 'number') code.push(item);
        else {
          if (item.index < 0) throw new Error(`call to function '${item.name}' that is not part of this module`);
          uleb(item.index, code);
        }
      }
      const body = [...vec(groups), ...code, 0x0b];
      return [...uleb(body.length), ...body];
    });

    const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    out.push(...section(1, vec(typeBytes)));
    if (imports.length) out.push(...section(2, vec(imports)));
    if (funcTypes.length) out.push(...section(3, vec(funcTypes)));
    if (exports.length) out.push(...section(7, vec(exports)));
    if (bodies.length) out.push(...section(10, vec(bodies)));
    return new Uint8Array(out);
  }
}
