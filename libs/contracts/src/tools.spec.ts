import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PytestEvent } from './events.js';
import { TOOLS, RecordSessionFinishInput, RecordSessionStartInput, RecordTestOutcomeInput, SERVER_INFO } from './tools.js';

/** "message at path" per issue, as the MCP SDK reports a failed validation. */
const problems = (result: { success: boolean; error?: z.ZodError }) => result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

describe('seed compatibility', () => {
  it("accepts the seed tools' exact argument shapes", () => {
    expect(RecordSessionStartInput.parse({ environment: { os: 'Macos', python_version: '3.13.1' } })).toEqual({
      environment: { os: 'Macos', python_version: '3.13.1' },
    });
    expect(RecordTestOutcomeInput.parse({ nodeid: 'tests/test_a.py::test_x', outcome: 'failed', duration: 0.25, error: 'assert False' })).toMatchObject({
      nodeid: 'tests/test_a.py::test_x',
      outcome: 'failed',
    });
    const summary = { total_tests: 3, passed: 2, failed: 1, skipped: 0, exitstatus: 1 };
    expect(RecordSessionFinishInput.parse({ summary })).toEqual({ summary });
  });

  it('keeps extra environment keys and accepts unicode node ids and null errors', () => {
    const env = { os: 'Linux', python_version: '3.12.1', platform: 'linux-x86_64', plugins: { xdist: '3.6' } };
    expect(RecordSessionStartInput.parse({ environment: env }).environment).toEqual(env);
    const nodeid = 'tests/test_ü.py::test_p[日本-1]';
    expect(RecordTestOutcomeInput.parse({ nodeid, outcome: 'passed', duration: 0, error: null }).nodeid).toBe(nodeid);
  });
});

describe('bad input names the field and the rule', () => {
  it.each([
    [RecordTestOutcomeInput, { nodeid: 'a', outcome: 'passed', duration: -1 }, 'duration: must be a non-negative number of seconds'],
    [RecordTestOutcomeInput, { nodeid: 'a', outcome: 'passed', duration: '1' }, 'duration: must be a number of seconds'],
    [RecordTestOutcomeInput, { nodeid: 'a', outcome: 'broken', duration: 1 }, 'outcome: Invalid option'],
    [RecordTestOutcomeInput, { nodeid: '', outcome: 'passed', duration: 1 }, 'nodeid: must not be empty'],
    [RecordTestOutcomeInput, { outcome: 'passed', duration: 1 }, 'nodeid: Invalid input: expected string'],
    [RecordTestOutcomeInput, { nodeid: 'a', outcome: 'passed', duration: 1, sesion_id: 'x' }, 'Unrecognized key: "sesion_id"'],
    [RecordTestOutcomeInput, { nodeid: 'a', outcome: 'passed', duration: 1, session_id: 'a.b' }, 'session_id: may contain only letters'],
    [RecordSessionStartInput, { environment: { os: 'Linux' } }, 'environment.python_version: Invalid input'],
    [RecordSessionFinishInput, { summary: { total_tests: 1, passed: 1.5, failed: 0, skipped: 0, exitstatus: 0 } }, 'summary.passed: must be an integer'],
  ] as const)('%#: %j', (schema, input, expected) => {
    expect(problems(schema.safeParse(input)).join('\n')).toContain(expected);
  });
});

describe('JSON Schemas derived from the zod contracts', () => {
  it('describe every tool input and output', () => {
    for (const [name, tool] of Object.entries(TOOLS)) {
      const input = z.toJSONSchema(tool.input, { io: 'input' }) as { type: string; properties: object };
      const output = z.toJSONSchema(tool.output, { io: 'output' }) as { type: string };
      expect(input.type, name).toBe('object');
      expect(output.type, name).toBe('object');
    }
    const outcome = z.toJSONSchema(RecordTestOutcomeInput, { io: 'input' }) as { required: string[] };
    expect(outcome.required.sort()).toEqual(['duration', 'nodeid', 'outcome']);
  });

  it('describe the events', () => {
    expect(z.toJSONSchema(PytestEvent)).toMatchObject({ oneOf: expect.any(Array) });
  });
});

describe('server info', () => {
  it('carries the package version', async () => {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(SERVER_INFO.version).toBe(pkg.version);
  });
});
