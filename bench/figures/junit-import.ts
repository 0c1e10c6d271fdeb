// Figure 7: what a CI runner pays to import a JUnit XML file: `mcp-pytest import junit` of a large
// generated file through the gateway (the whole command's wall time), then again (nothing recorded).
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from '../../test/harness/apps.js';
import { timedCommand, type CommandRun } from '../lib/command.js';
import { cfg } from '../lib/config.js';
import type { Report } from '../lib/report.js';
import { checkFailed, onCleanup, out, step } from '../lib/run.js';
import { fmtRate } from '../lib/stats.js';
import type { System } from '../lib/system.js';
import type { BatchIngest } from './batch-ingest.js';

export interface JUnitImport {
  /** Cases per second of the first import. */
  rate: number;
  /** Both imports succeeded and the second recorded nothing. */
  idempotent: boolean;
}

export async function junitImportFigure(sys: System): Promise<JUnitImport> {
  out(`7. mcp-pytest import junit of a generated ${cfg.junitCases.toLocaleString('en-US')}-case JUnit XML file, through the gateway`);
  const junit = await step('JUnit import', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-pytest-bench-junit-'));
    onCleanup('generated JUnit file', async () => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'junit.xml');
    generateJUnit(path, cfg.junitCases);
    const first = importJUnit(path, sys.apps.gateway.mcpUrl);
    const again = importJUnit(path, sys.apps.gateway.mcpUrl);
    return { first, again, bytes: statSync(path).size };
  });
  for (const [label, run] of [
    ['import', junit.first],
    ['again', junit.again],
  ] as const) {
    out(`  ${label.padEnd(8)} ${run.seconds.toFixed(2)} s   exit ${run.status}   ${(run.stdout || run.stderr).trim().split('\n').at(-1)}`);
  }
  const rate = cfg.junitCases / junit.first.seconds;
  out(`  = ${fmtRate(rate, 'cases/s')} (${(junit.bytes / 1024 / 1024).toFixed(1)} MiB of XML)`);
  const idempotent = junit.first.status === 0 && junit.again.status === 0 && new RegExp(`${cfg.junitCases} outcomes \\(0 recorded`).test(junit.again.stdout);
  if (!idempotent) checkFailed(`JUnit import: ${junit.first.stderr || junit.again.stderr || junit.again.stdout}`);
  out();
  return { rate, idempotent };
}

export function junitImportRows(report: Report, junit: JUnitImport, batch: BatchIngest): void {
  report.compare('7 JUnit import, cases/s', junit.rate, batch.rate, (n) => fmtRate(n, '/s'), undefined, '(batch ingest outcomes)');
  report.check('7 JUnit import twice, counted once', junit.idempotent, 'idempotent');
}

export const junitImportNote = (): string =>
  `- JUnit import: \`mcp-pytest import junit\` of a generated file of ${cfg.junitCases.toLocaleString('en-US')} cases (5% failing with a traceback), wall time of the whole command (Node start, parse, send, finish); then imported again, which must record nothing.`;

const escapeXml = (text: string) => text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

/** A pytest-style JUnit XML file of `cases` test cases: one in 20 failing with a traceback, one in 50 skipped. */
function generateJUnit(path: string, cases: number): void {
  const parts: string[] = [];
  let failed = 0;
  let skipped = 0;
  for (let n = 0; n < cases; n++) {
    const file = `tests/test_mod_${Math.floor(n / 100)}.py`;
    const open = `<testcase classname="tests.test_mod_${Math.floor(n / 100)}" name="test_${n}" file="${file}" line="${n % 100}" time="0.00${n % 10}"`;
    if (n % 20 === 3) {
      failed++;
      const trace = escapeXml(
        `def test_${n}():\n>       assert compute(${n}) == ${n + 1}\nE       assert ${n} == ${n + 1}\n\n${file}:${n % 100}: AssertionError`,
      );
      parts.push(`${open}><failure message="assert ${n} == ${n + 1}">${trace}</failure></testcase>`);
    } else if (n % 50 === 11) {
      skipped++;
      parts.push(`${open}><skipped type="pytest.skip" message="not on this platform">${file}:${n % 100}: not on this platform</skipped></testcase>`);
    } else parts.push(`${open} />`);
  }
  writeFileSync(
    path,
    `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="${failed}" skipped="${skipped}" tests="${cases}" time="12.3" timestamp="2026-12-01T00:00:00" hostname="ci-1">` +
      `${parts.join('')}</testsuite></testsuites>`,
  );
}

/** `mcp-pytest import junit FILE` against the gateway. */
const importJUnit = (path: string, url: URL): CommandRun =>
  timedCommand(process.execPath, [join(root, 'bin/mcp-pytest.mjs'), 'import', 'junit', path, '--url', url.href]);
