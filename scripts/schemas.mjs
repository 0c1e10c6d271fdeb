// Writes the JSON Schemas of what travels over NATS (events, views, notices, requests) to schemas/,
// derived from the zod contracts. `npm run schemas`; a unit test keeps the committed files current.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './setup.mjs';

const { jsonSchemas } = await import('../dist/libs/contracts/src/index.js');
mkdirSync(join(root, 'schemas'), { recursive: true });
for (const [name, schema] of Object.entries(jsonSchemas())) {
  writeFileSync(join(root, 'schemas', `${name}.schema.json`), `${JSON.stringify(schema, null, 2)}\n`);
  process.stderr.write(`schemas/${name}.schema.json\n`);
}
