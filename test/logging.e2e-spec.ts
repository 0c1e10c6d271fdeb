import { afterAll, describe, expect, it } from 'vitest';
import { distEntry } from './harness/apps.js';
import { Proc } from './harness/processes.js';
import { System } from './harness/system.js';

const ANSI_ESCAPE = '\u001b[';
const lines = (logs: string) => logs.split('\n').filter((line) => line.trim() !== '');

describe('logs as operators read them', () => {
  const systems: System[] = [];
  afterAll(async () => {
    await Promise.all(systems.map((system) => system.stop()));
  });

  it('are plain text, without colours, when they do not go to a terminal', async () => {
    // The harness sets NO_COLOR for every process it starts; here only the pipe may turn colours off.
    const system = await System.start({ env: { NO_COLOR: '' } });
    systems.push(system);
    for (const app of [system.gateway, system.projector, system.query]) {
      expect(app.proc.logs, app.name).toMatch(/LOG/);
      expect(app.proc.logs.includes(ANSI_ESCAPE), app.name).toBe(false);
    }
  });

  it('are one JSON object per line with LOG_FORMAT=json', async () => {
    const system = await System.start({ env: { LOG_FORMAT: 'json' } });
    systems.push(system);
    for (const app of [system.gateway, system.projector, system.query]) {
      const records = lines(app.proc.logs).map((line) => JSON.parse(line) as { level: string; message: unknown; context?: string });
      expect(records.length, app.name).toBeGreaterThan(3);
      for (const record of records) expect(record, app.name).toMatchObject({ level: expect.any(String), message: expect.anything() });
    }
    expect(lines(system.gateway.proc.logs).map((line) => JSON.parse(line).message)).toContain(`MCP Streamable HTTP at ${system.gateway.mcpUrl.href}`);
  });

  it('refuses a LOG_FORMAT it does not know, naming it', async () => {
    const projector = Proc.spawn('projector', process.execPath, [distEntry('apps/projector/src/main.js')], { LOG_FORMAT: 'yaml' });
    expect(await projector.finished()).toBe(1);
    expect(projector.logs).toContain('LOG_FORMAT=yaml: must be one of text, json');
  });
});
