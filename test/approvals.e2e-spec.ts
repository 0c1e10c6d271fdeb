import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVALS_STREAM, approvalSubject } from '#contracts';
import { McpTestClient, text } from './harness/mcp-client.js';
import { cli, PolicyFiles } from './harness/policy-files.js';
import { eventually } from './harness/processes.js';
import { System } from './harness/system.js';
import { environment, emptySummary as summary } from './harness/fixtures.js';

const policy = {
  version: '1',
  default: 'allow',
  tools: {
    record_session_finish: { require_approval: { timeout: '30s' } },
    get_session: { require_approval: { timeout: '2s' } },
  },
};

interface Listed {
  id: string;
  status: string;
  request: { tool: string; agent: string; args: string };
}

describe('approval: calls that wait for a person', () => {
  const files = PolicyFiles.create(policy);
  let system: System;
  let client: McpTestClient;
  let nats: Record<string, string>;

  beforeAll(async () => {
    system = await System.start({ env: { POLICY_FILE: files.policy, APPROVAL_PROGRESS_SECONDS: '0.3' } });
    client = await McpTestClient.http(system.gateway.mcpUrl);
    nats = system.env;
  });
  afterAll(async () => {
    await client?.close();
    await system?.stop();
    files.dispose();
  });

  /** The one pending approval, as `mcp-pytest approvals list --json` shows it. */
  const pending = () =>
    eventually(
      async () => {
        const listed = JSON.parse((await cli(['approvals', 'list', '--json'], nats)).stdout) as Listed[];
        return listed.length === 1 ? listed[0] : undefined;
      },
      10_000,
      'a pending approval',
    );

  it('holds the call, reporting progress, until a person approves it; the request and decision are events', async () => {
    const { session_id } = await client.ok('record_session_start', { environment });
    const progress: Progress[] = [];
    const call = client.callWithProgress('record_session_finish', { session_id, summary }, progress);
    const waiting = await pending();
    expect(waiting.request).toMatchObject({ tool: 'record_session_finish', agent: 'local' });
    expect(JSON.parse(waiting.request.args)).toEqual({ session_id, summary });
    await eventually(() => progress.length >= 2, 10_000, 'progress notifications');
    expect(progress[0]!.message).toContain(`approvals approve ${waiting.id}`);
    expect(await system.probe.events(session_id)).toHaveLength(1);

    expect((await cli(['approvals', 'approve', waiting.id, '--by', 'alice'], nats)).stdout).toMatch(`approved ${waiting.id}`);
    const result = await call;
    expect(result.isError, text(result)).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ session_id, status: 'finished' });
    const stored = await approvalEvents(waiting.id);
    expect(stored).toMatchObject([
      { type: 'ApprovalRequested', id: waiting.id, tool: 'record_session_finish', agent: 'local', grant: 'local' },
      { type: 'ApprovalDecided', id: waiting.id, decision: 'approved', by: 'alice' },
    ]);
    await expect(cli(['approvals', 'deny', waiting.id, '--reason', 'too late'], nats)).rejects.toThrow(/already approved by alice/);
  });

  it('refuses the call with the reason when a person denies it', async () => {
    const { session_id } = await client.ok('record_session_start', { environment });
    const call = client.callWithProgress('record_session_finish', { session_id, summary }, []);
    const { id } = await pending();
    await cli(['approvals', 'deny', id, '--by', 'bob', '--reason', 'not before the release'], nats);
    expect(text(await call)).toBe(
      `[POLICY_DENIED] record_session_finish: approval ${id} was denied by bob: not before the release (rule: tools.record_session_finish.require_approval)`,
    );
    expect(await system.probe.events(session_id)).toHaveLength(1);
  });

  it('refuses the call when nobody decides in time', async () => {
    const { session_id } = await client.ok('record_session_start', { environment });
    const result = await client.call('get_session', { session_id });
    expect(text(result)).toMatch(
      /^\[POLICY_DENIED\] get_session: approval ([a-z0-9]{12}) expired: nobody decided within 2s \(rule: tools\.get_session\.require_approval\)$/,
    );
    const id = /approval ([a-z0-9]{12})/.exec(text(result))![1]!;
    expect((await approvalEvents(id)).at(-1)).toMatchObject({ type: 'ApprovalDecided', decision: 'expired', by: 'timeout' });
    await expect(cli(['approvals', 'approve', id], nats)).rejects.toThrow(/already expired/);
  });

  it('withdraws the request when the client cancels the call', async () => {
    const { session_id } = await client.ok('record_session_start', { environment });
    const abort = new AbortController();
    const call = client.client.callTool({ name: 'record_session_finish', arguments: { session_id, summary } }, undefined, { signal: abort.signal });
    const { id } = await pending();
    abort.abort('changed my mind');
    await expect(call).rejects.toThrow();
    await eventually(async () => ((await approvalEvents(id)).at(-1) as { decision?: string }).decision === 'withdrawn', 10_000, 'the withdrawal');
    expect((await approvalEvents(id)).at(-1)).toMatchObject({ type: 'ApprovalDecided', decision: 'withdrawn', by: 'caller' });
    expect(await system.probe.events(session_id)).toHaveLength(1);
  });

  async function approvalEvents(id: string): Promise<unknown[]> {
    const events: unknown[] = [];
    const jsm = await import('@nats-io/jetstream').then(({ jetstreamManager }) => jetstreamManager(system.probe.nc));
    const { state } = await jsm.streams.info(APPROVALS_STREAM, { subjects_filter: approvalSubject(id) });
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const message = await jsm.streams.getMessage(APPROVALS_STREAM, { seq }).catch(() => null);
      if (message?.subject === approvalSubject(id)) events.push(message.json());
    }
    return events;
  }
});
