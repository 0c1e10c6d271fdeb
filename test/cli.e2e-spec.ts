import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APPROVALS_STREAM,
  ApprovalDecided,
  ApprovalEvent,
  approvalSubject,
  auditSubject,
  KeysFile,
  type ApprovalRequested,
  type AuditRecord,
} from '#contracts';
import { ensureApprovalsStream, ensureAuditStream } from '#nats';
import { root } from './harness/apps.js';
import { NatsServer } from './harness/nats-server.js';
import { Proc, testEnv } from './harness/processes.js';

const BIN = join(root, 'bin', 'mcp-pytest.mjs');

let dir: string;
let nats: NatsServer;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

/** The environment every run gets (on top of testEnv's basics): this suite's NATS, no keys file, no settings file. */
const baseEnv = () => testEnv({ NATS_URL: nats.url, USER: 'tester' });

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, env: { ...baseEnv(), ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-pytest-cli-'));
  nats = await NatsServer.start();
  nc = await connect({ servers: nats.url });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  await Promise.all([ensureApprovalsStream(jsm, { replicas: 1, log: () => {} }), ensureAuditStream(jsm, { replicas: 1, log: () => {}, maxAgeDays: 30 })]);
});

afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('mcp-pytest', () => {
  it('prints usage for --help, and refuses an unknown command with exit code 2', async () => {
    const [top, group, unknown] = await Promise.all([cli(['--help']), cli(['approvals', '--help']), cli(['frobnicate'])]);
    expect(top).toMatchObject({ code: 0, stdout: expect.stringMatching(/keys[\s\S]*approvals[\s\S]*audit/) });
    expect(group).toMatchObject({ code: 0, stdout: expect.stringContaining('mcp-pytest approvals deny ID --reason TEXT') });
    expect(unknown).toMatchObject({ code: 2, stderr: "mcp-pytest: unknown command 'frobnicate' (see mcp-pytest --help)\n" });
  });
});

describe('mcp-pytest keys', () => {
  it('adds a key: prints it once, stores only its SHA-256 in a file only the owner can read', async () => {
    const file = join(dir, 'keys-add.json');
    const run = await cli(['keys', 'add', '--agent', 'ci-runner-1', '--grant', 'ci', '--file', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^mcpp_[A-Za-z0-9_-]{43}\n$/);
    expect(run.stderr).toContain('shown this once');
    const key = run.stdout.trim();
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain(key);
    const { keys } = KeysFile.parse(JSON.parse(text));
    expect(keys).toEqual([{ agent: 'ci-runner-1', grant: 'ci', sha256: createHash('sha256').update(key).digest('hex'), created_at: expect.any(String) }]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const again = await cli(['keys', 'add', '--agent', 'ci-runner-1', '--grant', 'other'], { KEYS_FILE: file });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/agent "ci-runner-1" already has a key in .*: revoke it first/);
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it('lists and revokes keys; revoking an unknown agent is an error', async () => {
    const file = join(dir, 'keys-revoke.json');
    const entry = (agent: string) => ({ agent, grant: 'ci', sha256: 'a'.repeat(64), created_at: '2026-11-24T10:00:00.000Z' });
    await writeFile(file, JSON.stringify({ keys: [entry('alpha'), entry('beta')] }));
    const listed = await cli(['keys', 'list', '--file', file]);
    expect(listed.stdout).toBe('AGENT  GRANT  CREATED\nalpha  ci     2026-11-24T10:00:00.000Z\nbeta   ci     2026-11-24T10:00:00.000Z\n');

    expect(await cli(['keys', 'revoke', '--agent', 'alpha', '--file', file])).toMatchObject({ code: 0 });
    expect(KeysFile.parse(JSON.parse(await readFile(file, 'utf8'))).keys.map((k) => k.agent)).toEqual(['beta']);
    const unknown = await cli(['keys', 'revoke', '--agent', 'alpha', '--file', file]);
    expect(unknown).toMatchObject({ code: 1, stderr: `mcp-pytest keys: no key for agent "alpha" in ${file}\n` });
  });

  it('names what is wrong: no keys file given, a bad agent name, an invalid keys file (left unchanged)', async () => {
    const bad = join(dir, 'keys-bad.json');
    const badText = JSON.stringify({ keys: [{ agent: 'x', grant: 'y', sha256: 'not-a-hash' }] });
    await writeFile(bad, badText);
    const [noFile, badAgent, badFile] = await Promise.all([
      cli(['keys', 'add', '--agent', 'a', '--grant', 'g']),
      cli(['keys', 'add', '--agent', 'a b', '--grant', 'g', '--file', join(dir, 'never.json')]),
      cli(['keys', 'add', '--agent', 'z', '--grant', 'g', '--file', bad]),
    ]);
    expect(noFile).toMatchObject({ code: 2, stderr: expect.stringMatching(/--file PATH or set KEYS_FILE/) });
    expect(badAgent).toMatchObject({ code: 2, stderr: expect.stringMatching(/invalid --agent "a b": agent must be 1–64/) });
    expect(badFile).toMatchObject({ code: 1, stderr: expect.stringMatching(/keys-bad\.json: invalid: keys\[0\]\.sha256: must be the hex SHA-256/) });
    expect(badFile.stderr.trim().split('\n')).toHaveLength(1);
    expect(await readFile(bad, 'utf8')).toBe(badText);
  });
});

const newApprovalId = () => randomBytes(16).toString('hex').slice(0, 12);

/** What the gateway does when a policy holds a call: publish the request on the approval's subject. */
async function requestApproval(overrides: Partial<ApprovalRequested> = {}): Promise<ApprovalRequested> {
  const request: ApprovalRequested = {
    type: 'ApprovalRequested',
    v: 1,
    id: newApprovalId(),
    at: new Date().toISOString(),
    expires_at: new Date(Date.now() + 600_000).toISOString(),
    agent: 'ci-runner-1',
    grant: 'ci',
    via: 'http',
    tool: 'record_session_finish',
    rule: 'tools.record_session_finish.approve_if[0]',
    args: JSON.stringify({ summary: { total_tests: 3, passed: 3, failed: 0, skipped: 0, exitstatus: 0 } }),
    ...overrides,
  };
  await js.publish(approvalSubject(request.id), JSON.stringify(request));
  return request;
}

async function lastApprovalEvent(id: string): Promise<ApprovalEvent> {
  const msg = await jsm.direct.getMessage(APPROVALS_STREAM, { last_by_subj: approvalSubject(id) });
  return ApprovalEvent.parse(msg!.json());
}

describe('mcp-pytest approvals', () => {
  it('approves a pending call once; a second decision is refused and changes nothing', async () => {
    const { id } = await requestApproval();
    const approved = await cli(['approvals', 'approve', id, '--by', 'alice', '--reason', 'green run']);
    expect(approved).toMatchObject({ code: 0, stdout: `approved ${id} (record_session_finish by ci-runner-1)\n` });
    const decided = ApprovalDecided.parse(await lastApprovalEvent(id));
    expect(decided).toMatchObject({ type: 'ApprovalDecided', v: 1, id, decision: 'approved', by: 'alice', reason: 'green run' });

    const second = await cli(['approvals', 'deny', id, '--reason', 'too late']);
    expect(second).toMatchObject({ code: 1, stderr: expect.stringContaining(`approval ${id} was already approved by alice`) });
    expect(await lastApprovalEvent(id)).toEqual(decided);
  });

  it('lets only the first of two racing decisions through', async () => {
    const { id } = await requestApproval();
    const runs = await Promise.all([cli(['approvals', 'approve', id, '--by', 'alice']), cli(['approvals', 'deny', id, '--by', 'bob', '--reason', 'no'])]);
    const winner = runs.findIndex((run) => run.code === 0);
    expect(runs.map((run) => run.code).sort()).toEqual([0, 1]);
    const decided = ApprovalDecided.parse(await lastApprovalEvent(id));
    expect(decided.by).toBe(['alice', 'bob'][winner]);
    expect(runs[1 - winner]!.stderr).toContain(`approval ${id} was already ${decided.decision} by ${decided.by}`);
    const { state } = await jsm.streams.info(APPROVALS_STREAM, { subjects_filter: approvalSubject(id) });
    expect(state.subjects).toEqual({ [approvalSubject(id)]: 2 });
  });

  it('denies with a reason, by $USER by default; deny without a reason is a usage error', async () => {
    const { id } = await requestApproval();
    const [noReason, denied] = await Promise.all([cli(['approvals', 'deny', id]), cli(['approvals', 'deny', id, '--reason', 'not on main'])]);
    expect(noReason).toMatchObject({ code: 2, stderr: expect.stringContaining('deny needs --reason') });
    expect(denied).toMatchObject({ code: 0, stdout: `denied ${id} (record_session_finish by ci-runner-1)\n` });
    expect(await lastApprovalEvent(id)).toMatchObject({ type: 'ApprovalDecided', decision: 'denied', by: 'tester', reason: 'not on main' });
  });

  it('refuses an expired or unknown approval', async () => {
    const expired = await requestApproval({ expires_at: new Date(Date.now() - 1000).toISOString() });
    const unknown = newApprovalId();
    const [late, missing] = await Promise.all([cli(['approvals', 'approve', expired.id]), cli(['approvals', 'approve', unknown])]);
    expect(late).toMatchObject({ code: 1, stderr: expect.stringContaining(`approval ${expired.id} expired at ${expired.expires_at}`) });
    expect(await lastApprovalEvent(expired.id)).toEqual(expired);
    expect(missing).toMatchObject({ code: 1, stderr: `mcp-pytest approvals: no approval ${unknown}\n` });
  });

  it('lists pending calls; --all adds decided and expired ones; --json gives them as data', async () => {
    const pending = await requestApproval({ agent: 'lister', args: JSON.stringify({ nodeid: 'x'.repeat(500) }) });
    const expired = await requestApproval({ expires_at: new Date(Date.now() - 1000).toISOString() });
    const decided = await requestApproval();
    expect((await cli(['approvals', 'approve', decided.id, '--by', 'carol'])).code).toBe(0);

    const [list, all, json] = await Promise.all([cli(['approvals', 'list']), cli(['approvals', 'list', '--all']), cli(['approvals', 'list', '--json'])]);
    expect(list.code).toBe(0);
    const row = list.stdout.split('\n').find((line) => line.startsWith(pending.id))!;
    expect(row).toMatch(new RegExp(`^${pending.id} +\\d+s +(9|10)m +lister \\(ci\\) +record_session_finish +\\{"nodeid":"x+…$`));
    expect(row.length).toBeLessThan(300);
    expect(list.stdout).not.toContain(expired.id);
    expect(list.stdout).not.toContain(decided.id);

    expect(all.stdout).toMatch(new RegExp(`${expired.id} +expired `));
    expect(all.stdout).toMatch(new RegExp(`${decided.id} +approved by carol `));
    const entries = JSON.parse(json.stdout) as Array<{ id: string; status: string; request: ApprovalRequested }>;
    expect(entries.find((e) => e.id === pending.id)).toMatchObject({ status: 'pending', request: pending, decision: null });
    expect(entries.every((e) => e.status === 'pending')).toBe(true);
  });
});

describe('mcp-pytest approvals: what the stream holds is shown escaped', () => {
  it("keeps a tool name and arguments holding line breaks and terminal escapes on the call's own row", async () => {
    const forged = await requestApproval({
      agent: 'forger',
      tool: 'x\n2026-01-01  allowed\u001b[2J',
      args: '{"nodeid":"a\nb\u009b"}',
    });
    const list = await cli(['approvals', 'list']);
    const rows = list.stdout.split('\n').filter((line) => line.includes('2026-01-01'));
    expect(rows).toEqual([
      expect.stringMatching(new RegExp(`^${forged.id} .* forger \\(ci\\) +x\\\\n2026-01-01  allowed\\\\u001b\\[2J +\\{"nodeid":"a\\\\nb\\\\u009b"\\}$`)),
    ]);
    // eslint-disable-next-line no-control-regex -- the point: no raw ESC or CSI control character reaches the terminal
    expect(list.stdout).not.toMatch(/[\u001b\u009b]/);
  });
});

describe('mcp-pytest audit tail', () => {
  const record = (decision: 'allowed' | 'denied', agent: string, extra: Partial<AuditRecord>): AuditRecord => ({
    id: randomBytes(8).toString('hex'),
    at: new Date().toISOString(),
    agent,
    grant: 'ci',
    via: 'http',
    tool: 'record_test_outcome',
    arg_keys: ['nodeid', 'outcome'],
    decision,
    latency_ms: 2,
    ...extra,
  });
  const publish = (r: AuditRecord) => js.publish(auditSubject(r.decision, r.agent), JSON.stringify([r]));

  it('follows the denied calls of one agent and nothing else, until SIGINT', async () => {
    const tail = Proc.spawn('audit-tail', process.execPath, [BIN, 'audit', 'tail', '--denied', '--agent', 'watched'], {
      NATS_URL: nats.url,
    });
    try {
      await tail.waitFor(/following PYTEST_AUDIT \(pytest\.audit\.denied\.watched, new records\); Ctrl-C to stop/);
      await publish(record('denied', 'watched', { rule: 'tools.record_test_outcome.deny_if[0]', reason: 'first-denial' }));
      await publish(record('allowed', 'watched', { tool: 'record_session_start', outcome: 'ok', seq: 7 }));
      await publish(record('denied', 'someone-else', { reason: 'other-agent' }));
      await publish(record('denied', 'watched', { reason: 'second-denial' }));
      await tail.waitFor(/second-denial/);
      expect(tail.logs).toMatch(
        /Z {2}denied {3}watched \(ci\) {2}record_test_outcome {2}rule=tools\.record_test_outcome\.deny_if\[0\] {2}reason="first-denial" {2}2\.0ms\n/,
      );
      expect(tail.logs).not.toContain('record_session_start');
      expect(tail.logs).not.toContain('other-agent');
      expect(await tail.stop('SIGINT')).toBe(0);
    } finally {
      await tail.kill();
    }
  });

  it('starts back in time with --since and prints JSON lines with --json', async () => {
    const earlier = [record('allowed', 'since-agent', { outcome: 'error', error_code: 'SESSION_NOT_FOUND' }), record('denied', 'since-agent', {})];
    for (const r of earlier) await publish(r);
    await publish(record('denied', 'not-this-one', {}));
    const tail = Proc.spawn('audit-tail', process.execPath, [BIN, 'audit', 'tail', '--agent', 'since-agent', '--since', '1m', '--json'], {
      NATS_URL: nats.url,
    });
    try {
      await tail.waitFor(new RegExp(earlier[1]!.id));
      const lines = tail.logs.split('\n').filter((line) => line.startsWith('{'));
      expect(lines.map((line) => JSON.parse(line))).toEqual(earlier);
      expect(await tail.stop('SIGTERM')).toBe(0);
    } finally {
      await tail.kill();
    }
  });
});
