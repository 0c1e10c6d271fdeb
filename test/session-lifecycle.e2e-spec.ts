import { describe, expect, it } from 'vitest';
import { LIMITS } from '#contracts';
import { useSystem } from './harness/use-system.js';

const suite = useSystem();

describe('a pytest session over Streamable HTTP', () => {
  it('lists its tools with input and output schemas and hints', async () => {
    const { tools } = await suite.client.client.listTools();
    const reads = ['get_failure_groups', 'get_flaky_tests', 'get_session', 'get_session_tests', 'get_test_history', 'list_sessions'];
    const writes = ['record_session_finish', 'record_session_start', 'record_test_outcome', 'record_test_outcomes'];
    expect(tools.map((t) => t.name).sort()).toEqual([...reads, ...writes]);
    for (const tool of tools) {
      expect(tool.description, tool.name).toBeTruthy();
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type, tool.name).toBe('object');
    }
    for (const tool of tools) expect(tool.annotations?.readOnlyHint, tool.name).toBe(reads.includes(tool.name));
  });

  it('records passed, failed and skipped outcomes with the seed shapes and reads them back', async () => {
    const start = await suite.client.ok('record_session_start', { environment: { os: 'Macos', python_version: '3.13.1' } });
    expect(start).toMatchObject({ session_id: expect.any(String), seq: expect.any(Number), duplicate: false });
    const passed = await suite.client.ok('record_test_outcome', { nodeid: 'tests/test_math.py::test_add', outcome: 'passed', duration: 0.01 });
    expect(passed).toMatchObject({ session_id: start.session_id, duplicate: false });
    expect(passed.seq).toBeGreaterThan(start.seq);
    await suite.client.ok('record_test_outcome', {
      nodeid: 'tests/test_math.py::test_div',
      outcome: 'failed',
      duration: 0.02,
      error: 'ZeroDivisionError: division by zero',
    });
    await suite.client.ok('record_test_outcome', { nodeid: 'tests/test_math.py::test_skip', outcome: 'skipped', duration: 0 });
    const finish = await suite.client.ok('record_session_finish', {
      summary: { total_tests: 3, passed: 1, failed: 1, skipped: 1, exitstatus: 1 },
    });
    expect(finish).toMatchObject({ session_id: start.session_id, status: 'finished', duplicate: false });

    const view = await suite.client.ok('get_session', { session_id: start.session_id });
    expect(view).toMatchObject({
      session_id: start.session_id,
      status: 'finished',
      environment: { os: 'Macos', python_version: '3.13.1' },
      counts: { passed: 1, failed: 1, skipped: 1, error: 0, xfailed: 0, xpassed: 0, total: 3 },
      failures: [{ nodeid: 'tests/test_math.py::test_div', error: 'ZeroDivisionError: division by zero', duration: 0.02 }],
      summary: { total_tests: 3, passed: 1, failed: 1, skipped: 1, exitstatus: 1 },
      summary_matches: true,
      exitstatus: 1,
      last_seq: finish.seq,
    });
    // The duration is the gateway's clock from start to finish, not anything the caller said.
    expect(view.duration).toBeCloseTo((Date.parse(view.finished_at) - Date.parse(view.started_at)) / 1000, 3);
  });

  it('keeps extra environment keys, project, labels and CI metadata', async () => {
    const { session_id } = await suite.client.ok('record_session_start', {
      environment: { os: 'Linux', python_version: '3.12.4', platform: 'linux-x86_64', plugins: { xdist: '3.6.1' } },
      project: 'shop-api',
      labels: { suite: 'smoke' },
      ci: { provider: 'gitlab', run_id: '981', job: 'test:py312', commit: 'abc123', branch: 'main' },
    });
    const view = await suite.client.ok('get_session', { session_id });
    expect(view).toMatchObject({
      status: 'running',
      environment: { platform: 'linux-x86_64', plugins: { xdist: '3.6.1' } },
      project: 'shop-api',
      labels: { suite: 'smoke' },
      ci: { provider: 'gitlab', run_id: '981', branch: 'main' },
    });
  });

  it('writes to the session last started on the connection when session_id is left out', async () => {
    const first = await suite.client.ok('record_session_start', { environment: { os: 'Linux', python_version: '3.11' } });
    const second = await suite.client.ok('record_session_start', { environment: { os: 'Linux', python_version: '3.12' } });
    const outcome = await suite.client.ok('record_test_outcome', { nodeid: 't::x', outcome: 'passed', duration: 1 });
    expect(outcome.session_id).toBe(second.session_id);
    expect((await suite.client.ok('get_session', {})).session_id).toBe(second.session_id);
    expect((await suite.client.ok('get_session', { session_id: first.session_id })).counts.total).toBe(0);
  });

  it('stores a 20 kB traceback and unicode node ids whole, and clips a larger error to the documented bound', async () => {
    const { session_id } = await suite.client.ok('record_session_start', { environment: { os: 'Linux', python_version: '3.13.1' } });
    const traceback = Array.from({ length: 400 }, (_, i) => `  File "src/app.py", line ${i}, in f\nE       assert 日本 == 'ü'`).join('\n');
    expect(traceback.length).toBeGreaterThan(20_000);
    const nodeid = 'tests/test_ü.py::test_p[日本-1]';
    await suite.client.ok('record_test_outcome', { nodeid, outcome: 'failed', duration: 0.5, error: traceback });
    await suite.client.ok('record_test_outcome', { nodeid: 'tests/test_big.py::t', outcome: 'error', duration: 0.1, error: 'x'.repeat(200_000) });

    const stored = await suite.system.probe.results(session_id);
    expect(stored.find((r) => r.nodeid === nodeid)?.error).toBe(traceback);
    const clipped = stored.find((r) => r.nodeid === 'tests/test_big.py::t')!.error!;
    expect(Buffer.byteLength(clipped)).toBeLessThanOrEqual(LIMITS.errorBytes);
    expect(clipped).toContain('bytes cut');

    const view = await suite.client.ok('get_session', {});
    expect(view.failures.map((f: { nodeid: string }) => f.nodeid)).toEqual([nodeid, 'tests/test_big.py::t']);
    expect(Buffer.byteLength(view.failures[0].error)).toBeLessThanOrEqual(LIMITS.viewErrorBytes);
    expect(view.failures[0].error.endsWith("assert 日本 == 'ü'")).toBe(true);
  });

  it('counts a rerun in place of the attempt it replaces', async () => {
    await suite.client.ok('record_session_start', { environment: { os: 'Linux', python_version: '3.13.1' } });
    await suite.client.ok('record_test_outcome', { nodeid: 't::flaky', outcome: 'failed', duration: 1, error: 'flake' });
    await suite.client.ok('record_test_outcome', { nodeid: 't::flaky', outcome: 'passed', duration: 1, attempt: 2 });
    const view = await suite.client.ok('get_session', {});
    expect(view).toMatchObject({ counts: { passed: 1, failed: 0, total: 1 }, reruns: 1, failures: [] });
  });

  it('answers GET /health with 200 while NATS is connected', async () => {
    const response = await fetch(new URL('/health', suite.system.gateway.mcpUrl));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', nats: 'connected' });
  });
});
