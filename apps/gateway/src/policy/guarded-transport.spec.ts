import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, JSONRPCResultResponse, RequestId, Tool } from '@modelcontextprotocol/sdk/types.js';
import { PolicyFile, REFUSAL_META_KEY, TOOLS, type ApprovalDecided, type AuditRecord } from '#contracts';
import { windowAt, type AppliedLimit } from '#domain';
import { Registry } from 'prom-client';
import { McpConnection } from '../mcp/mcp-connection.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { refusalResult } from '../mcp/refusal-result.js';
import type { ApprovalRequest } from './approval-desk.js';
import { GuardedTransport, type GateDeps } from './guarded-transport.js';
import type { Taken, Taking } from './limit-counters.js';

/** The connection's own transport: records what is sent to the client; `deliver` is a message from the client. */
class FakeTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];
  readonly sent: { message: JSONRPCMessage; options?: TransportSendOptions }[] = [];

  start(): Promise<void> {
    return Promise.resolve();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    this.sent.push({ message, ...(options && { options }) });
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.onclose?.();
    return Promise.resolve();
  }

  deliver(message: JSONRPCMessage): void {
    this.onmessage?.(message);
  }
}

/** The policy file, changed by the test as a reload would. */
class FakePolicies {
  private readonly listeners = new Set<(policy: PolicyFile) => void>();

  constructor(public current: PolicyFile) {}

  onChange(listener: (policy: PolicyFile) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  reload(policy: unknown): void {
    this.current = PolicyFile.parse(policy);
    for (const listener of this.listeners) listener(this.current);
  }
}

/** Limit counts in memory, with LimitCounters' take-all-or-none and give-back semantics. */
class FakeCounters {
  readonly counts = new Map<string, number>();

  take(limits: AppliedLimit[], now: number): Promise<Taking> {
    const taken: Taken[] = [];
    for (const applied of limits) {
      const { start, end } = windowAt(applied.limit, now);
      const key = `${applied.key}.${start / 1000}`;
      if ((this.counts.get(key) ?? 0) >= applied.limit.max) {
        void this.giveBack(taken);
        return Promise.resolve({ ok: false, limit: applied, resetsAt: end });
      }
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
      taken.push({ key, end });
    }
    return Promise.resolve({ ok: true, taken });
  }

  giveBack(taken: Taken[]): Promise<void> {
    for (const { key } of taken) this.counts.set(key, this.counts.get(key)! - 1);
    return Promise.resolve();
  }

  total(): number {
    return [...this.counts.values()].reduce((sum, count) => sum + count, 0);
  }
}

/** Approvals the test decides: each request waits until `decide` is called, or its signal is aborted. */
class FakeApprovals {
  readonly asked: { request: ApprovalRequest; signal: AbortSignal; decide: (decision: ApprovalDecided) => void }[] = [];

  decide(request: ApprovalRequest, _timeoutMs: number, signal: AbortSignal): Promise<ApprovalDecided> {
    return new Promise((resolve) => {
      const decided = (decision: Omit<ApprovalDecided, 'type' | 'v' | 'id' | 'at'>) =>
        resolve({ type: 'ApprovalDecided', v: 1, id: 'ap1', at: new Date().toISOString(), ...decision });
      signal.addEventListener('abort', () => decided({ decision: 'withdrawn', by: 'caller', reason: 'the call was cancelled' }));
      this.asked.push({ request, signal, decide: resolve });
    });
  }
}

const START_ARGS = { environment: { os: 'Linux', python_version: '3.12.3' }, project: 'demo' };
const ALL_TOOLS = Object.keys(TOOLS);

const call = (id: RequestId, name: string, args: unknown = START_ARGS): JSONRPCMessage => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});
const ok = (id: RequestId, structuredContent: Record<string, unknown> = {}): JSONRPCMessage => ({
  jsonrpc: '2.0',
  id,
  result: { content: [], structuredContent },
});
const failed = (id: RequestId): JSONRPCMessage => ({
  jsonrpc: '2.0',
  id,
  result: refusalResult({ code: 'SESSION_NOT_FOUND', message: 'no such session' }),
});
/** The text of the refusal a message carries to the client. */
const refusalTextOf = (message: JSONRPCMessage | undefined) =>
  (message as { result?: { isError?: boolean; content: { text: string }[] } } | undefined)?.result?.content[0]?.text;
/** Lets the gate's awaits (quota, approval) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('GuardedTransport: policy between the client and the MCP server', () => {
  let inner: FakeTransport;
  let policies: FakePolicies;
  let counters: FakeCounters;
  let approvals: FakeApprovals;
  let audited: AuditRecord[];
  let deps: GateDeps;
  let registry: Registry;
  /** What reached the McpServer. */
  let reached: JSONRPCMessage[];
  let guarded: GuardedTransport;
  let now: number;

  const open = async (policy: unknown) => {
    policies = new FakePolicies(PolicyFile.parse(policy));
    deps = {
      policies,
      counters,
      approvals,
      audit: { record: (record) => audited.push(record) },
      metrics: new GatewayMetrics(registry),
      log: { warn: vi.fn() },
    };
    guarded = new GuardedTransport(inner, new McpConnection({ agent: 'ci-1', grant: 'ci' }, 'http'), deps);
    guarded.onmessage = (message) => reached.push(message);
    await guarded.start();
  };
  /** Everything the client received, in order. */
  const answers = () => inner.sent.map(({ message }) => message);

  beforeEach(() => {
    inner = new FakeTransport();
    counters = new FakeCounters();
    approvals = new FakeApprovals();
    audited = [];
    registry = new Registry();
    reached = [];
    now = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
  });

  afterEach(() => vi.restoreAllMocks());

  it('passes an allowed call to the server and audits its answer, with the latency from arrival to answer', async () => {
    await open({ version: '1', default: 'allow' });
    inner.deliver(call(1, 'record_session_start'));
    await settle();
    expect(reached).toEqual([call(1, 'record_session_start')]);

    now += 12.3456;
    await guarded.send(ok(1, { session_id: 's-1', seq: 7 }));

    expect(answers()).toEqual([ok(1, { session_id: 's-1', seq: 7 })]);
    expect(audited).toEqual([
      {
        id: expect.any(String),
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        agent: 'ci-1',
        grant: 'ci',
        via: 'http',
        tool: 'record_session_start',
        arg_keys: ['environment', 'project'],
        decision: 'allowed',
        outcome: 'ok',
        seq: 7,
        session_id: 's-1',
        latency_ms: 12.346,
      },
    ]);
  });

  it('counts each call in its metrics by tool and result, a made-up tool name as unknown', async () => {
    await open({ version: '1', default: 'deny', tools: { record_session_start: {}, get_session: {} } });
    inner.deliver(call(1, 'record_session_start'));
    inner.deliver(call(2, 'get_session', { session_id: 's-1' }));
    inner.deliver(call(3, 'record_session_finish', { summary: {} }));
    inner.deliver(call(4, 'no_such_tool_\u001b[31m'));
    await settle();
    await guarded.send(ok(1, { session_id: 's-1', seq: 1 }));
    await guarded.send(failed(2));
    const counted = (await registry.getSingleMetric('mcp_pytest_tool_calls_total')!.get()).values;
    expect(counted.map(({ labels, value }) => [labels.tool, labels.result, value])).toEqual([
      ['record_session_finish', 'POLICY_DENIED', 1],
      ['unknown', 'POLICY_DENIED', 1],
      ['record_session_start', 'ok', 1],
      ['get_session', 'SESSION_NOT_FOUND', 1],
    ]);
  });

  it('audits an error answer with its refusal code', async () => {
    await open({ version: '1', default: 'allow' });
    inner.deliver(call(1, 'get_session', { session_id: 's-1' }));
    await settle();
    await guarded.send(failed(1));
    expect(audited).toMatchObject([{ tool: 'get_session', decision: 'allowed', outcome: 'error', error_code: 'SESSION_NOT_FOUND' }]);
  });

  it('answers a denied call with the refusal, naming the rule, and the server never sees it', async () => {
    await open({ version: '1', default: 'deny', tools: { get_session: {} } });
    inner.deliver(call(5, 'record_session_start'));
    await settle();

    expect(reached).toEqual([]);
    expect(answers()).toHaveLength(1);
    expect(answers()[0]).toMatchObject({ id: 5, result: { isError: true, _meta: { [REFUSAL_META_KEY]: { code: 'POLICY_DENIED' } } } });
    expect(refusalTextOf(answers()[0])).toBe(
      '[POLICY_DENIED] record_session_start: record_session_start is not allowed for grant "ci" (not listed; default is deny) (rule: default)',
    );
    expect(audited).toMatchObject([{ tool: 'record_session_start', decision: 'denied', rule: 'default' }]);
    expect(audited[0]).not.toHaveProperty('outcome');
  });

  it('refuses arguments that break the tool schema before the server, audited as an allowed call that failed', async () => {
    await open({ version: '1', default: 'allow' });
    inner.deliver(call(2, 'record_session_start', { environment: 'not an object' }));
    await settle();

    expect(reached).toEqual([]);
    expect(refusalTextOf(answers()[0])).toMatch(/^\[INVALID_ARGUMENTS\] record_session_start: /);
    expect(audited).toMatchObject([{ decision: 'allowed', outcome: 'error', error_code: 'INVALID_ARGUMENTS' }]);
  });

  it('shows in tools/list only the tools the caller may call, and tells it when a reload changes them', async () => {
    await open({ version: '1', default: 'allow', hide: ['record_session_finish', 'get_flaky_tests'] });
    inner.deliver({ jsonrpc: '2.0', id: 3, method: 'tools/list' });
    expect(reached).toEqual([{ jsonrpc: '2.0', id: 3, method: 'tools/list' }]);

    await guarded.send({ jsonrpc: '2.0', id: 3, result: { tools: ALL_TOOLS.map((name) => ({ name, inputSchema: { type: 'object' } })) } });
    const { result } = answers()[0] as JSONRPCResultResponse;
    const listed = (result.tools as Tool[]).map((tool) => tool.name);
    expect(listed).toEqual(ALL_TOOLS.filter((name) => name !== 'record_session_finish' && name !== 'get_flaky_tests'));

    policies.reload({ version: '1', default: 'allow', hide: ['record_session_finish', 'get_flaky_tests'], tools: {} });
    expect(answers()).toHaveLength(1);
    policies.reload({ version: '1', default: 'allow' });
    expect(answers()[1]).toEqual({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
  });

  describe('limits', () => {
    const oneStart = { version: '1', default: 'allow', tools: { record_session_start: { limits: [{ counter: 'starts', window: 'minute', max: 1 }] } } };

    it('keeps the quota of a call that succeeded, and refuses the next one over the limit', async () => {
      await open(oneStart);
      inner.deliver(call(1, 'record_session_start'));
      await settle();
      await guarded.send(ok(1, { session_id: 's-1', seq: 1 }));
      expect(counters.total()).toBe(1);

      inner.deliver(call(2, 'record_session_start'));
      await settle();
      expect(reached.map((message) => (message as { id: RequestId }).id)).toEqual([1]);
      expect(refusalTextOf(answers()[1])).toMatch(
        /^\[POLICY_DENIED\] record_session_start: limit "starts" reached \(1 per minute per grant "ci"\); resets at .* \(rule: tools\.record_session_start\.limits\[0\]\)$/,
      );
      expect(audited[1]).toMatchObject({ decision: 'denied', rule: 'tools.record_session_start.limits[0]' });
      expect(counters.total()).toBe(1);
    });

    it('gives back the quota of a call that failed', async () => {
      await open(oneStart);
      inner.deliver(call(1, 'record_session_start'));
      await settle();
      expect(counters.total()).toBe(1);
      await guarded.send(failed(1));
      expect(counters.total()).toBe(0);

      inner.deliver(call(2, 'record_session_start'));
      await settle();
      expect(reached).toHaveLength(2);
    });

    it('fails closed when the counts cannot be reached', async () => {
      await open(oneStart);
      counters.take = () => Promise.reject(new Error('NATS is down'));
      inner.deliver(call(1, 'record_session_start'));
      await settle();

      expect(reached).toEqual([]);
      expect(refusalTextOf(answers()[0])).toMatch(/^\[POLICY_UNAVAILABLE\] record_session_start: .*NATS is down/);
      expect(audited).toMatchObject([{ decision: 'denied', rule: 'unavailable' }]);
      expect(deps.log.warn).toHaveBeenCalledOnce();
    });
  });

  describe('cancelled calls and closed connections', () => {
    const cancel = (requestId: RequestId): JSONRPCMessage => ({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId } });

    it('audits an admitted call the client cancelled as cancelled, keeping its quota; its late answer is not audited again', async () => {
      await open({ version: '1', default: 'allow', all_tools: { limits: [{ counter: 'calls', window: 'minute', max: 5 }] } });
      inner.deliver(call(1, 'record_session_start'));
      await settle();
      inner.deliver(cancel(1));

      expect(reached).toEqual([call(1, 'record_session_start'), cancel(1)]);
      expect(audited).toMatchObject([{ decision: 'allowed', outcome: 'cancelled', reason: 'the client cancelled it' }]);
      expect(counters.total()).toBe(1);

      await guarded.send(failed(1));
      expect(audited).toHaveLength(1);
      expect(counters.total()).toBe(1);
    });

    it('withdraws a call waiting for approval when the connection closes, and answers nobody', async () => {
      await open({ version: '1', default: 'allow', tools: { record_session_start: { require_approval: { timeout: '1m' } } } });
      const closed = vi.fn();
      guarded.onclose = closed;
      inner.deliver(call(1, 'record_session_start'));
      await settle();
      expect(approvals.asked).toMatchObject([{ request: { agent: 'ci-1', grant: 'ci', tool: 'record_session_start', via: 'http' } }]);

      await inner.close();
      await settle();

      expect(approvals.asked[0]!.signal.aborted).toBe(true);
      expect(closed).toHaveBeenCalledOnce();
      expect(reached).toEqual([]);
      expect(answers()).toEqual([]);
      expect(audited).toMatchObject([{ decision: 'denied', rule: 'tools.record_session_start.require_approval', approval_id: 'ap1' }]);
    });

    it('audits admitted calls still running when the connection closes as cancelled', async () => {
      await open({ version: '1', default: 'allow' });
      inner.deliver(call(1, 'record_session_start'));
      await settle();
      await inner.close();
      expect(audited).toMatchObject([{ outcome: 'cancelled', reason: 'the MCP session closed' }]);
    });
  });

  it('passes a call a person approved, and audits who approved it', async () => {
    await open({ version: '1', default: 'allow', tools: { record_session_start: { require_approval: { timeout: '1m' } } } });
    inner.deliver(call(1, 'record_session_start'));
    await settle();
    expect(reached).toEqual([]);

    approvals.asked[0]!.decide({ type: 'ApprovalDecided', v: 1, id: 'ap1', at: new Date().toISOString(), decision: 'approved', by: 'alice' });
    await settle();
    expect(reached).toEqual([call(1, 'record_session_start')]);

    await guarded.send(ok(1));
    expect(audited).toMatchObject([{ decision: 'allowed', outcome: 'ok', approval_id: 'ap1', reason: 'approved by alice' }]);
  });

  it('refuses a request whose id is in use by one in flight, so each answer is matched to one call', async () => {
    await open({ version: '1', default: 'allow' });
    inner.deliver(call(1, 'record_session_start'));
    await settle();
    inner.deliver(call(1, 'get_session', { session_id: 's-1' }));

    expect(reached).toHaveLength(1);
    expect(answers()).toMatchObject([{ id: 1, error: { code: -32600 } }]);
  });
});
