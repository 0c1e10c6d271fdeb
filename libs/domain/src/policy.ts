import {
  isToolName,
  TOOLS,
  WINDOWS,
  type Condition,
  type GrantPolicy,
  type Identity,
  type LimitRule,
  type PolicyFile,
  type ToolName,
  type ToolPolicy,
} from '#contracts';

/** One tools/call as the policy sees it: before the tool's own validation, so `args` is untrusted. */
export interface PolicyCall {
  tool: string;
  args: unknown;
  identity: Identity;
  /** The MCP session the call came on (the `session` limit scope). */
  mcpSession: string;
}

/** A limit as it applies to one call: which count it takes from. */
export interface AppliedLimit {
  rule: string;
  limit: LimitRule;
  /** KV key of the count, without its window. */
  key: string;
  /** "30 per minute per grant \"ci\"" */
  text: string;
}

export type PolicyVerdict =
  { allowed: false; rule: string; reason: string } | { allowed: true; limits: AppliedLimit[]; approval?: { rule: string; timeoutMs: number } };

/** The policy that applies to a grant: its own under `grants`, else the top-level one; rules are named from there. */
export function policyOf(file: PolicyFile, grant: string): { policy: GrantPolicy; at: string } {
  const own = Object.hasOwn(file.grants, grant) ? file.grants[grant] : undefined;
  return own ? { policy: own, at: `grants.${grant}.` } : { policy: file, at: '' };
}

/** Tools an identity may call, in the contracts' order: what its tools/list shows. */
export function visibleTools(file: PolicyFile, grant: string): ToolName[] {
  const { policy } = policyOf(file, grant);
  return (Object.keys(TOOLS) as ToolName[]).filter((tool) => !policy.hide.includes(tool) && (policy.default === 'allow' || tool in policy.tools));
}

/**
 * Decides a call: denied (by which rule, why), or allowed with the limits to count and an approval to wait for.
 * A tool this server does not have is denied before any policy rule: a `default: allow` must not let the audit
 * record a made-up name as an allowed call.
 */
export function checkCall(file: PolicyFile, call: PolicyCall): PolicyVerdict {
  if (!isToolName(call.tool)) return { allowed: false, rule: 'unknown_tool', reason: unknownToolReason(file, call.identity.grant) };
  const { policy, at } = policyOf(file, call.identity.grant);
  const tool = call.tool;
  if (policy.hide.includes(tool)) return { allowed: false, rule: `${at}hide`, reason: `${call.tool} is hidden by policy` };
  const own = Object.hasOwn(policy.tools, tool) ? policy.tools[tool] : undefined;
  if (!own && policy.default === 'deny') {
    return { allowed: false, rule: `${at}default`, reason: `${call.tool} is not allowed for grant "${call.identity.grant}" (not listed; default is deny)` };
  }
  const scopes: [string, ToolPolicy | undefined][] = [
    [`${at}all_tools`, policy.all_tools],
    [`${at}tools.${call.tool}`, own],
  ];
  for (const [name, rules] of scopes) {
    const index = rules?.deny_if?.findIndex((condition) => holds(condition, call.args)) ?? -1;
    if (index >= 0) {
      const condition = rules!.deny_if![index]!;
      return { allowed: false, rule: `${name}.deny_if[${index}]`, reason: rules!.on_deny ?? `denied because ${describeCondition(condition)}` };
    }
  }
  // The tool's own limits first: a call refused there holds no quota of the wider all_tools count meanwhile.
  const limits = stricterOfEach(
    [...scopes].reverse().flatMap(([name, rules]) => (rules?.limits ?? []).map((limit, index) => applyLimit(`${name}.limits[${index}]`, limit, call))),
  );
  const approvalAt = scopes.findLast(([, rules]) => rules?.require_approval);
  const approval = approvalAt && { rule: `${approvalAt[0]}.require_approval`, timeoutMs: approvalAt[1]!.require_approval!.timeout };
  return { allowed: true, limits, ...(approval && { approval }) };
}

/** Names the tools the grant may call (not its hidden ones), never the caller's made-up name: the reason is audited as is. */
function unknownToolReason(file: PolicyFile, grant: string): string {
  const visible = visibleTools(file, grant);
  return `unknown tool; ${visible.length ? `the tools you may call are ${visible.join(', ')}` : `grant "${grant}" may call none`}`;
}

function applyLimit(rule: string, limit: LimitRule, { identity, mcpSession }: PolicyCall): AppliedLimit {
  const holder = { grant: identity.grant, agent: identity.agent, session: mcpSession, global: 'all' }[limit.scope];
  const whose = limit.scope === 'global' ? 'for everyone' : `per ${limit.scope} "${holder}"`;
  return { rule, limit, key: `${limit.counter}.${limit.window}.${limit.scope}.${holder}`, text: `${limit.max} per ${limit.window} ${whose}` };
}

/** Limits that take from one count (same counter, window and scope) take once, with the lowest max. */
function stricterOfEach(limits: AppliedLimit[]): AppliedLimit[] {
  const byKey = new Map<string, AppliedLimit>();
  for (const limit of limits) {
    const seen = byKey.get(limit.key);
    if (!seen || limit.limit.max < seen.limit.max) byKey.set(limit.key, limit);
  }
  return [...byKey.values()];
}

/** The fixed, UTC-aligned window holding `now` (ms since the epoch). */
export function windowAt(limit: LimitRule, now: number): { start: number; end: number } {
  const size = WINDOWS[limit.window];
  const start = now - (now % size);
  return { start, end: start + size };
}

export function describeCondition({ path, op, value }: Condition): string {
  return value === undefined ? `${path} ${op}` : `${path} ${op} ${JSON.stringify(value)}`;
}

/**
 * Whether a deny_if condition holds for these arguments. A path that is absent never equals, contains or matches anything.
 * A path that goes on through an array (`args.outcomes.outcome`) is followed into each item: the condition holds when it
 * holds for any of them, so one item can deny a batch.
 */
export function holds(condition: Condition, args: unknown): boolean {
  return valuesAt(condition.path, args).some((actual) => holdsFor(condition, actual));
}

/** The values a path names: one, or, where it passes through arrays, one per item reached (a node of the caller's tree each). */
function valuesAt(path: string, args: unknown): unknown[] {
  let values = [args];
  for (const key of path.split('.').slice(1)) {
    values = values.flatMap((at) => {
      if (Array.isArray(at) && !/^\d+$/.test(key)) return at.map((item) => propertyOf(item, key));
      return [propertyOf(at, key)];
    });
  }
  return values;
}

const propertyOf = (at: unknown, key: string): unknown =>
  (isRecord(at) || Array.isArray(at)) && Object.hasOwn(at, key) ? (at as Record<string, unknown>)[key] : undefined;

function holdsFor({ op, value }: Condition, actual: unknown): boolean {
  switch (op) {
    case 'exists':
      return actual !== undefined;
    case 'not_exists':
      return actual === undefined;
    case 'eq':
      return jsonEqual(actual, value);
    case 'neq':
      return !jsonEqual(actual, value);
    case 'in':
      return (value as unknown[]).some((candidate) => jsonEqual(actual, candidate));
    case 'not_in':
      return !(value as unknown[]).some((candidate) => jsonEqual(actual, candidate));
    case 'contains':
      return contains(actual, value);
    case 'not_contains':
      return !contains(actual, value);
    case 'matches':
      return typeof actual === 'string' && compiled(value as string).test(actual);
    case 'gt':
      return typeof actual === 'number' && actual > (value as number);
    case 'gte':
      return typeof actual === 'number' && actual >= (value as number);
    case 'lt':
      return typeof actual === 'number' && actual < (value as number);
    case 'lte':
      return typeof actual === 'number' && actual <= (value as number);
    default: {
      const _exhaustive: never = op;
      return _exhaustive;
    }
  }
}

function contains(actual: unknown, value: unknown): boolean {
  if (typeof actual === 'string') return typeof value === 'string' && actual.includes(value);
  return Array.isArray(actual) && actual.some((item) => jsonEqual(item, value));
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Deep equality; it descends only where both sides nest, so its depth is bounded by the policy's own value, not the caller's. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  if (!isRecord(a) || !isRecord(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
}

const patterns = new Map<string, RegExp>();
function compiled(source: string): RegExp {
  let pattern = patterns.get(source);
  if (!pattern) patterns.set(source, (pattern = new RegExp(source, 'u')));
  return pattern;
}
