import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from './harness/apps.js';
import { System } from './harness/system.js';

/** A command block of the README's walkthrough and the answer block that follows it, if any. */
interface Step {
  commands: string;
  expected?: { text: string; kind: 'json' | 'json abridged' | 'text' };
}

/** The fenced blocks between `<!-- walkthrough -->` and `<!-- /walkthrough -->`, paired command → answer. */
function walkthroughSteps(readme: string): Step[] {
  const start = readme.indexOf('<!-- walkthrough -->');
  const end = readme.indexOf('<!-- /walkthrough -->');
  if (start < 0 || end < start) throw new Error('README has no <!-- walkthrough --> … <!-- /walkthrough --> section');
  const blocks = [...readme.slice(start, end).matchAll(/^```([a-z ]*)\n([\s\S]*?)^```$/gm)].map(([, info, text]) => ({ info: info!.trim(), text: text! }));
  const steps: Step[] = [];
  for (const block of blocks) {
    if (block.info === 'sh') steps.push({ commands: block.text });
    else if (block.info === 'json' || block.info === 'json abridged' || block.info === 'text') {
      const step = steps.at(-1);
      if (!step || step.expected) throw new Error(`an answer block without its command block:\n${block.text}`);
      step.expected = { text: block.text, kind: block.info };
    } else throw new Error(`a walkthrough block must be sh, json, json abridged or text, not "${block.info}"`);
  }
  return steps;
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Times, MCP session ids and a session's wall-clock duration differ from run to run: masked; JSON held in text is compared as JSON. */
function masked(value: unknown): unknown {
  if (typeof value === 'string') {
    if (ISO_TIME.test(value)) return '<time>';
    if (value.startsWith('{')) {
      try {
        return { json: masked(JSON.parse(value)) };
      } catch {
        // text that only looks like JSON is compared as text
      }
    }
    return value.replace(UUID, '<uuid>');
  }
  if (Array.isArray(value)) return value.map(masked);
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).map(([key, item]) => [key, key === 'duration' && 'started_at' in value ? '<wall clock>' : masked(item)]);
    return Object.fromEntries(entries);
  }
  return value;
}

const maskedText = (text: string) => text.trim().replace(UUID, '<uuid>');

describe('the README walkthrough', () => {
  let system: System;
  let workDir: string;

  beforeAll(async () => {
    system = await System.start();
    workDir = await mkdtemp(join(tmpdir(), 'walkthrough-'));
  });

  afterAll(async () => {
    await system?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  // MCP Inspector runs through npx: the first run fetches it (and a Node it can run on) from npm.
  it('answers every command as the README shows', { timeout: 300_000 }, async () => {
    const steps = walkthroughSteps(await readFile(join(root, 'README.md'), 'utf8'));
    expect(steps.filter((step) => step.expected).length).toBeGreaterThanOrEqual(6);

    // The README's addresses are npm start's; this system listens on free ports.
    const local = (commands: string) =>
      commands.replaceAll('http://127.0.0.1:3000', system.gateway.mcpUrl.origin).replaceAll('http://127.0.0.1:3001', system.queryHttpUrl.origin);
    // A command's output may not end its line (curl's does not): each separator starts a line of its own.
    const script = steps.map((step, index) => `printf '\\n---- step ${index} ----\\n'\n${local(step.commands)}`).join('\n');
    const { stdout } = await promisify(execFile)('bash', ['-c', script], {
      cwd: workDir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      maxBuffer: 16 << 20,
    });

    const outputs = stdout.split(/^---- step \d+ ----\n/m).slice(1);
    expect(outputs).toHaveLength(steps.length);
    steps.forEach((step, index) => {
      const { expected } = step;
      if (!expected) return;
      const actual = outputs[index]!;
      const where = `walkthrough step ${index + 1}:\n${step.commands}`;
      if (expected.kind === 'text') expect(maskedText(actual), where).toBe(maskedText(expected.text));
      else if (expected.kind === 'json') expect(masked(JSON.parse(actual)), where).toEqual(masked(JSON.parse(expected.text)));
      else expect(masked(JSON.parse(actual)), where).toMatchObject(masked(JSON.parse(expected.text)) as object);
    });
  });
});
