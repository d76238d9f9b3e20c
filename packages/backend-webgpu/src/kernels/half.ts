/**
 * float16 variants of kernels, generated from their WGSL by substitution and compiled only when first dispatched
 * (lavapipe spends seconds per pipeline, so float32 work never pays for them).
 *
 * float16 buffers hold real 2-byte halves, two per 32-bit word. Kernels that bind data as `array<u32>` read a
 * float16 element themselves (`ld_X(i, dt)` in the prelude style: the word i >> 1, half i & 1, widened to an f32
 * word), so inputs need no variant there. Writing halves does: two threads storing the two halves of one u32 would
 * race, so the output binding becomes `array<f16>` and each store goes through `h16`, which rounds to nearest even
 * with integer arithmetic (WGSL leaves the rounding of an f32 → f16 conversion to the implementation). Kernels that
 * bind inputs as `array<f32>` (matmul, fused) get a variant that reads those inputs as halves; they still compute
 * and accumulate in f32.
 */
import type { KernelSource } from '../runtime.js';

export interface HalfSpec {
  /** `array<f32>` input bindings to read as float16. */
  inputs?: readonly string[];
  /** The output binding to write as float16 (its stores must be plain `NAME[i] = value;`). */
  output?: string | null;
}

/** f16 helpers appended to a variant: the rounded half of an f32, and of an f32 carried in a u32 word. */
const HALF_STORE = /* wgsl */ `
fn h16(x: f32) -> f16 { return bitcast<vec2<f16>>(halfBits(x))[0]; }
fn h16w(w: u32) -> f16 { return h16(bitcast<f32>(w)); }
`;

const cache = new Map<string, KernelSource>();

/** The kernel with the inputs and/or output of `spec` in float16; the kernel itself when the spec is empty. */
export function halfVariant(kernel: KernelSource, spec: HalfSpec): KernelSource {
  const inputs = spec.inputs ?? [];
  const output = spec.output ?? null;
  if (!inputs.length && !output) return kernel;
  const name = `${kernel.name}/f16[${inputs.join(',')}>${output ?? ''}]`;
  let v = cache.get(name);
  if (!v) {
    let code = kernel.code;
    for (const input of inputs) code = halfInput(code, input, name);
    if (output) code = halfOutput(code, output, name);
    v = { ...kernel, name, code: `enable f16;\n${code}\n${HALF_STORE}` };
    cache.set(name, v);
  }
  return v;
}

/** Rebinds `array<f32>` input NAME as words and turns every read NAME[e] into NAME_h(u32(e)). */
function halfInput(code: string, binding: string, variant: string): string {
  const decl = new RegExp(`(var<storage,\\s*read>\\s+${binding}\\s*:\\s*)array<f32>\\s*;`);
  if (!decl.test(code)) throw new Error(`${variant}: no 'array<f32>' input binding named ${binding}`);
  const reads = rewriteIndexing(code, binding, (index) => ({ replace: `${binding}_h(u32(${index}))`, consumed: 0 }));
  // Module-scope declarations may come in any order, so the loader goes last (after the reads were rewritten).
  return `${reads.replace(decl, '$1array<u32>;')}
fn ${binding}_h(i: u32) -> f32 { return unpack2x16float(${binding}[i >> 1u])[i & 1u]; }`;
}

/** Rebinds output NAME as array<f16> and rounds every store NAME[i] = v; (v an f32, or an f32 in a u32 word). */
function halfOutput(code: string, binding: string, variant: string): string {
  const decl = new RegExp(`(var<storage,\\s*read_write>\\s+${binding}\\s*:\\s*)array<(f32|u32)>\\s*;`);
  const m = decl.exec(code);
  if (!m) throw new Error(`${variant}: no 'array<f32>' or 'array<u32>' output binding named ${binding}`);
  const round = m[2] === 'f32' ? 'h16' : 'h16w';
  const stores = rewriteIndexing(code, binding, (index, rest) => {
    const assign = /^\s*=(?!=)/.exec(rest);
    if (!assign) throw new Error(`${variant}: ${binding}[${index}] is not a plain store; cannot write it as float16`);
    const end = statementEnd(rest, assign[0].length);
    return { replace: `${binding}[${index}] = ${round}(${rest.slice(assign[0].length, end).trim()})`, consumed: end };
  });
  return stores.replace(decl, '$1array<f16>;');
}

/**
 * Replaces each `NAME[index]` (NAME not part of a longer identifier) and the first `consumed` characters after its
 * closing bracket by what `edit` returns for the bracketed index and the text after the bracket.
 */
function rewriteIndexing(code: string, name: string, edit: (index: string, rest: string) => { replace: string; consumed: number }): string {
  const re = new RegExp(`(?<![\\w.])${name}\\[`, 'g');
  let out = '';
  let pos = 0;
  for (let m = re.exec(code); m; m = re.exec(code)) {
    const open = m.index + m[0].length - 1;
    const close = matching(code, open);
    const { replace, consumed } = edit(code.slice(open + 1, close), code.slice(close + 1));
    out += code.slice(pos, m.index) + replace;
    pos = close + 1 + consumed;
    re.lastIndex = pos;
  }
  return out + code.slice(pos);
}

/** The index of the bracket closing the one at `open` (nesting [] and ()). */
function matching(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    const c = code[i];
    if (c === '[' || c === '(') depth++;
    else if ((c === ']' || c === ')') && --depth === 0) return i;
  }
  throw new Error(`unbalanced brackets in WGSL at ${open}`);
}

/** Position of the ';' ending the statement that starts at `from` (outside brackets). */
function statementEnd(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') depth--;
    else if (c === ';' && depth === 0) return i;
  }
  throw new Error('unterminated WGSL statement');
}
