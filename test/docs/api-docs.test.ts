/** docs/api.md must mention every export of @tessera/core (and /testing) and every public Tensor member. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_DOC, findUndocumented, readPublicApi } from '../../scripts/check-api-docs.js';

describe('docs/api.md', () => {
  const api = readPublicApi();

  it('sees the public API it checks', () => {
    expect(api.exports['@tessera/core']).toContain('tensor');
    expect(api.exports['@tessera/core']).toContain('Shape'); // type-only exports count too
    expect(api.tensorMembers).toEqual(expect.arrayContaining(['add', 'backward', 'shape', 'mT', '[Symbol.dispose]']));
    expect(api.tensorMembers).not.toContain('layout'); // @internal
  });

  it('documents every export and Tensor member', () => {
    const missing = findUndocumented(readFileSync(API_DOC, 'utf8'), api);
    expect(missing, 'add these to docs/api.md (exports as `name`, Tensor members as `t.name`)').toEqual({ exports: [], tensorMembers: [] });
  });

  it('notices a missing entry', () => {
    const missing = findUndocumented('`tensor(data)` and `t.add(other)`', api);
    expect(missing.exports).toContain('zeros');
    expect(missing.exports).not.toContain('tensor');
    expect(missing.tensorMembers).toContain('sub');
    expect(missing.tensorMembers).not.toContain('add');
  });
});
