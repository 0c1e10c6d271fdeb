import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { jsonSchemas } from './json-schemas.js';

describe('schemas/', () => {
  it.each(Object.entries(jsonSchemas()))('%s.schema.json is current (npm run schemas)', async (name, schema) => {
    const committed = await readFile(new URL(`../../../schemas/${name}.schema.json`, import.meta.url), 'utf8');
    expect(JSON.parse(committed)).toEqual(JSON.parse(JSON.stringify(schema)));
  });
});
