/**
 * Keeps docs/api.md complete: lists every export of @tessera/core (and @tessera/core/testing) and every public
 * Tensor member, read with the TypeScript compiler so type-only exports and the methods merged in from
 * ops/methods.ts count too, and reports the ones docs/api.md does not mention.
 *
 * How a name counts as documented: an export `foo` appears as `` `foo `` (or `` `type foo ``) in backticks; a Tensor
 * member `bar` appears as `` `t.bar ``. Run: `npx tsx scripts/check-api-docs.ts` (exit 1 when something is missing).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const API_DOC = `${ROOT}docs/api.md`;
const ENTRY_POINTS = {
  '@tessera/core': `${ROOT}packages/core/src/index.ts`,
  '@tessera/core/testing': `${ROOT}packages/core/src/testing/index.ts`,
};

export interface PublicApi {
  /** Export names per entry point. */
  exports: Record<string, string[]>;
  /** Public instance members of Tensor (fields, getters, methods), `[Symbol.x]` for symbol-keyed ones. */
  tensorMembers: string[];
}

const isInternal = (s: ts.Symbol) => s.getJsDocTags().some((t) => t.name === 'internal');
const isPrivate = (s: ts.Symbol) =>
  (s.declarations ?? []).some((d) => ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected) || (ts.isPropertyDeclaration(d) || ts.isMethodDeclaration(d)) && ts.isPrivateIdentifier(d.name));

/** Reads the public API from the sources with the type checker. */
export function readPublicApi(): PublicApi {
  const files = Object.values(ENTRY_POINTS).filter((f) => existsSync(f));
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
    types: [],
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const exports: Record<string, string[]> = {};
  let tensorMembers: string[] = [];
  for (const [entry, file] of Object.entries(ENTRY_POINTS)) {
    const source = program.getSourceFile(file);
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) continue;
    const symbols = checker.getExportsOfModule(moduleSymbol);
    exports[entry] = symbols.map((s) => s.name).sort();
    const tensor = symbols.find((s) => s.name === 'Tensor');
    if (tensor) {
      const cls = tensor.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(tensor) : tensor;
      const instance = checker.getDeclaredTypeOfSymbol(cls);
      tensorMembers = checker
        .getPropertiesOfType(instance)
        .filter((s) => !isInternal(s) && !isPrivate(s))
        .map((s) => (s.name.startsWith('__@') ? `[Symbol.${s.name.slice(3).split('@')[0]}]` : s.name))
        .sort();
    }
  }
  return { exports, tensorMembers };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The names from `api` that `doc` does not mention in the agreed form. */
export function findUndocumented(doc: string, api: PublicApi = readPublicApi()): { exports: string[]; tensorMembers: string[] } {
  const exported = [...new Set(Object.values(api.exports).flat())];
  return {
    exports: exported.filter((n) => !new RegExp('`(type |class |interface )?' + escape(n) + '(?![\\w$])').test(doc)),
    tensorMembers: api.tensorMembers.filter((n) => !new RegExp('`t' + (n.startsWith('[') ? '' : '\\.') + escape(n) + '(?![\\w$])').test(doc)),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const api = readPublicApi();
  const missing = findUndocumented(readFileSync(API_DOC, 'utf8'), api);
  const total = Object.values(api.exports).flat().length + api.tensorMembers.length;
  if (missing.exports.length + missing.tensorMembers.length === 0) {
    console.log(`docs/api.md covers all ${total} exports and Tensor members`);
  } else {
    if (missing.exports.length) console.log(`exports missing from docs/api.md:\n  ${missing.exports.join(', ')}`);
    if (missing.tensorMembers.length) console.log(`Tensor members missing from docs/api.md (write them as \`t.name\`):\n  ${missing.tensorMembers.join(', ')}`);
    process.exitCode = 1;
  }
}
