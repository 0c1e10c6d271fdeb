import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { GatewayEnv } from '../apps/gateway/src/gateway.env.js';
import { ProjectorEnv } from '../apps/projector/src/projector.env.js';
import { QueryEnv } from '../apps/query/src/query.env.js';
import { root } from './harness/apps.js';

/** The configuration table of docs/configuration.md: variable → its app column and default column. */
function documented(): Map<string, { apps: string; fallback: string }> {
  const readme = readFileSync(join(root, 'docs/configuration.md'), 'utf8');
  const table = readme.slice(readme.indexOf('| variable | app | default | meaning |'));
  const rows = new Map<string, { apps: string; fallback: string }>();
  for (const line of table.split('\n').slice(2)) {
    const cells = /^\| `([A-Z0-9_]+)` \| ([^|]+) \| ([^|]+) \|/.exec(line);
    if (!cells) break;
    rows.set(cells[1]!, { apps: cells[2]!.trim(), fallback: cells[3]!.trim() });
  }
  return rows;
}

/** How the table writes a default: in backticks, or — for none. */
const asDocumented = (value: string | number | undefined) => (value === '' || value === undefined ? '—' : `\`${value}\``);

/** Settings read outside the apps' env schemas, each where it is parsed. */
const PARSED_ELSEWHERE: Record<string, string> = {
  MCP_PYTEST_ENV_FILE: 'libs/platform/src/env.ts',
  MCP_PYTEST_URL: 'apps/cli/src/mcp-gateway.client.ts',
  MCP_PYTEST_TOKEN: 'apps/cli/src/mcp-gateway.client.ts',
  LOG_FORMAT: 'libs/platform/src/logging.ts',
};

describe('the configuration table in the docs', () => {
  const rows = documented();
  const schemas: [string, z.ZodObject][] = [
    ['gateway', GatewayEnv],
    ['projector', ProjectorEnv],
    ['query', QueryEnv],
  ];

  it.each(schemas)('lists every setting of the %s with its default', (app, schema) => {
    const defaults = schema.parse({}) as Record<string, string | number | undefined>;
    for (const name of Object.keys(schema.shape)) {
      const row = rows.get(name);
      expect(row, `${name} (${app}) is not in the configuration table of docs/configuration.md`).toBeDefined();
      expect(row!.apps, `${name}: app column`).toMatch(new RegExp(`\\b(${app}|all)\\b`));
      expect(row!.fallback, `${name}: default`).toBe(asDocumented(defaults[name]));
    }
  });

  it('lists nothing that no app reads', () => {
    const parsed = new Set(schemas.flatMap(([, schema]) => Object.keys(schema.shape)));
    for (const name of rows.keys()) {
      if (parsed.has(name)) continue;
      const file = PARSED_ELSEWHERE[name];
      expect(file, `${name} is in the table, but no env schema has it`).toBeDefined();
      expect(readFileSync(join(root, file!), 'utf8'), `${name} in ${file}`).toContain(name);
    }
  });
});
