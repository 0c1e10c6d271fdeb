// `npm run faults`: every drill (test/faults/drills/) at full size, each on a system of its own (nats-server and
// the apps from dist/), its row printed as it finishes and a table at the end. Exits 1 when anything acknowledged
// was lost or stored twice, a check did not hold, or a drill failed (2 when FAULTS_ONLY names no drill). Knobs: the
// FAULTS_* variables in lib/config.ts.
import { fullSizes, onlyDrills } from './lib/config.js';
import { passed, type Row } from './lib/drill.js';
import { describeRow, table } from './lib/table.js';
import { DRILLS } from './drills/index.js';

const out = (line = '') => process.stdout.write(`${line}\n`);

const unknown = onlyDrills.filter((name) => !Object.hasOwn(DRILLS, name));
if (unknown.length) {
  process.stderr.write(`FAULTS_ONLY: no drill ${unknown.join(', ')}; the drills are ${Object.keys(DRILLS).join(', ')}\n`);
  process.exit(2);
}
const selected = Object.entries(DRILLS).filter(([name]) => !onlyDrills.length || onlyDrills.includes(name));

out(`fault suite — ${new Date().toISOString()}; sizes ${JSON.stringify(fullSizes)}`);
const rows: Row[] = [];
for (const [name, drill] of selected) {
  process.stderr.write(`[faults] ${name} …\n`);
  const row = await drill(fullSizes).catch((error: Error): Row => ({
    drill: name,
    did: 'did not finish',
    acknowledged: 0,
    stored: 0,
    lost: 0,
    duplicated: 0,
    problems: [String(error.stack ?? error)],
    notes: [],
  }));
  rows.push(row);
  out(describeRow(row));
  out();
}
out(table(rows));
const failed = rows.filter((row) => !passed(row));
if (failed.length) out(`\n!!! ${failed.length} drill(s) failed: ${failed.map((row) => row.drill).join(', ')}`);
process.exit(failed.length ? 1 : 0);
