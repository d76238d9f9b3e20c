/**
 * Compiles generated modules once per specialization key and instantiates them on the shared memory. Every kernel
 * module imports `env.memory` and host math from `m`, and exports `run(desc, lo, hi, scratch)`.
 */
import type { Heap } from './heap.js';
import { hostMath, HOST_MATH_SIGNATURE, type HostMathName } from './threads/host-math.js';
import type { Kernel } from './threads/pool.js';
import type { Fn, FuncRef, ValType } from './wasm/func.js';
import { wasm, type WasmModule } from './wasm/api.js';
import { ModuleBuilder } from './wasm/module.js';

/** A module builder with the kernel ABI's imports already declared. */
export class KernelModule extends ModuleBuilder {
  constructor(heap: Heap) {
    super();
    this.importMemory({ module: 'env', name: 'memory', initial: 1, maximum: heap.maximumPages, shared: true });
  }
  private readonly helpers = new Map<string, FuncRef>();

  /** A module-internal helper function, generated on first use. */
  helper(name: string, params: readonly ValType[], results: readonly ValType[], build: (f: Fn) => void): FuncRef {
    let ref = this.helpers.get(name);
    if (!ref) {
      const f = this.func(params, results);
      build(f);
      ref = f.ref;
      this.helpers.set(name, ref);
    }
    return ref;
  }

  /** A host math function (imported on first use). */
  host(name: HostMathName): FuncRef {
    const sig = HOST_MATH_SIGNATURE[name];
    return this.importFunc('m', name, sig.params, [sig.result]);
  }
}

export class KernelCache {
  private readonly kernels = new Map<string, Kernel>();
  private nextId = 1;

  constructor(private readonly heap: Heap) {}

  get size(): number {
    return this.kernels.size;
  }

  /** The kernel for `key`, generating it with `build` the first time. */
  get(key: string, build: (m: KernelModule) => void): Kernel {
    let k = this.kernels.get(key);
    if (!k) {
      const m = new KernelModule(this.heap);
      build(m);
      const bytes = m.bytes();
      let module: WasmModule;
      try {
        module = new wasm.Module(bytes);
      } catch (e) {
        throw new Error(`cpu backend: generated kernel '${key}' does not compile: ${(e as Error).message}`);
      }
      const instance = new wasm.Instance(module, { env: { memory: this.heap.memory }, m: hostMath });
      k = { id: this.nextId++, module, run: instance.exports.run as Kernel['run'] };
      this.kernels.set(key, k);
    }
    return k;
  }
}
