/**
 * The slice of the WebAssembly JS API this package uses, typed locally: the project's TypeScript setup has no DOM
 * lib (where the WebAssembly types live), and declaring them globally could clash with a package that adds it.
 */
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  grow(pages: number): number;
}
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface WasmModule {
  readonly __wasmModule?: never;
}
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  validate(bytes: Uint8Array): boolean;
}

export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
