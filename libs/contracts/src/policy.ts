import { z } from 'zod';
import { GrantName } from './identity.js';
import { TOOLS, type ToolName } from './tools.js';

const TOOL_NAMES = Object.keys(TOOLS) as [ToolName, ...ToolName[]];
const PolicyToolName = z.enum(TOOL_NAMES, { error: (issue) => `unknown tool "${String(issue.input)}"; tools are ${TOOL_NAMES.join(', ')}` });

export const WINDOWS = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
export type LimitWindow = keyof typeof WINDOWS;
export const LIMIT_SCOPES = ['grant', 'agent', 'session', 'global'] as const;
export type LimitScope = (typeof LIMIT_SCOPES)[number];

export const LimitRule = z.strictObject({
  counter: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'counter must be 1–64 letters, digits, "_" or "-"' })
    .describe('Name of the count; limits with the same counter, window and scope share one count.'),
  window: z.enum(Object.keys(WINDOWS) as [LimitWindow, ...LimitWindow[]]).describe('Fixed window, aligned to UTC: second, minute, hour or day.'),
  max: z.int({ error: 'max must be an integer' }).nonnegative({ error: 'max must not be negative' }).describe('Calls allowed per window.'),
  scope: z.enum(LIMIT_SCOPES).default('grant').describe('Who shares the count: the grant, each agent, each MCP session, or everyone (global).'),
});
export type LimitRule = z.infer<typeof LimitRule>;

export const CONDITION_OPS = ['eq', 'neq', 'in', 'not_in', 'contains', 'not_contains', 'matches', 'gt', 'gte', 'lt', 'lte', 'exists', 'not_exists'] as const;
export type ConditionOp = (typeof CONDITION_OPS)[number];

export const Condition = z
  .strictObject({
    path: z.string().regex(/^args(\.[^.]+)+$/, { error: 'path must name an argument, e.g. "args.outcome" or "args.environment.os"' }),
    op: z.enum(CONDITION_OPS),
    value: z.json().optional(),
  })
  .superRefine(({ op, value }, ctx) => {
    const fail = (message: string) => ctx.addIssue({ code: 'custom', path: ['value'], message });
    if (op === 'exists' || op === 'not_exists') {
      if (value !== undefined) fail(`"${op}" takes no value`);
    } else if (value === undefined) fail(`"${op}" needs a value`);
    else if ((op === 'in' || op === 'not_in') && !Array.isArray(value)) fail(`"${op}" needs an array value`);
    else if (['gt', 'gte', 'lt', 'lte'].includes(op) && typeof value !== 'number') fail(`"${op}" needs a number value`);
    else if (op === 'matches') {
      if (typeof value !== 'string') return fail('"matches" needs a regular expression string value');
      try {
        new RegExp(value, 'u');
      } catch (error) {
        fail(`"matches": ${(error as Error).message}`);
      }
    }
  });
export type Condition = z.infer<typeof Condition>;

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "30s", "10m", "2h", "1d", read as milliseconds. */
export const Duration = z
  .string()
  .regex(/^[1-9][0-9]*(s|m|h|d)$/, { error: 'must be a duration such as "30s", "10m", "2h" or "1d"' })
  .transform((text) => Number(text.slice(0, -1)) * UNIT_MS[text.at(-1) as keyof typeof UNIT_MS]);

/** What applies to a call of one tool (or, under `all_tools`, to every call). */
export const ToolPolicy = z.strictObject({
  description: z.string().optional(),
  deny_if: z.array(Condition).optional().describe('The call is denied when any condition holds.'),
  on_deny: z.string().max(500).optional().describe('Reason given to the caller when a deny_if condition holds.'),
  limits: z.array(LimitRule).optional(),
  require_approval: z
    .strictObject({
      timeout: Duration.refine((ms) => ms <= UNIT_MS.d, { error: 'must be at most 1d' }).describe('Denied when nobody decides within this time.'),
    })
    .optional()
    .describe('The call waits until a person approves it (mcp-pytest approvals approve ID).'),
});
export type ToolPolicy = z.output<typeof ToolPolicy>;

/** Whose sessions a grant may read: its own (default), or every grant's (dashboards, operators). */
export const SessionsAccess = z
  .strictObject({
    read: z
      .enum(['own', 'all'], { error: 'sessions.read must be "own" or "all"' })
      .default('own')
      .describe('"own": only sessions this grant started; "all": every grant\u2019s sessions (read only).'),
  })
  .describe('Reading across grants. Writing is always limited to the grant\u2019s own sessions.');
export type SessionsAccess = z.output<typeof SessionsAccess>;

const policyFields = {
  sessions: SessionsAccess.default({ read: 'own' }),
  default: z.enum(['allow', 'deny']).default('deny').describe('Whether a tool not listed under `tools` is allowed.'),
  hide: z.array(PolicyToolName).default([]).describe('Tools left out of tools/list and denied.'),
  all_tools: ToolPolicy.optional().describe('Applies to every call, beside the tool\u2019s own entry.'),
  tools: z
    .record(z.string(), ToolPolicy)
    .superRefine((tools, ctx) => {
      for (const name of Object.keys(tools)) {
        const known = PolicyToolName.safeParse(name);
        if (!known.success) ctx.addIssue({ code: 'custom', path: [name], message: known.error.issues[0]!.message });
      }
    })
    .default({})
    .describe('Tools allowed, each with its own rules.'),
};

/**
 * record_test_outcomes records what record_test_outcome records, many at a time: where the single tool has
 * rules and the batch would be allowed without any (`default: "allow"`, no entry of its own, not hidden),
 * the rules could be walked around. Such a policy is refused, saying what to write instead.
 */
function batchToolCovered(
  policy: { default: 'allow' | 'deny'; hide: ToolName[]; tools: Record<string, z.output<typeof ToolPolicy>> },
  ctx: z.RefinementCtx,
): void {
  const single = policy.tools.record_test_outcome;
  const rules = single && (['deny_if', 'limits', 'require_approval'] as const).filter((rule) => single[rule] !== undefined);
  const batchOpen = policy.default === 'allow' && !Object.hasOwn(policy.tools, 'record_test_outcomes') && !policy.hide.includes('record_test_outcomes');
  if (!rules?.length || !batchOpen) return;
  ctx.addIssue({
    code: 'custom',
    path: ['tools', 'record_test_outcomes'],
    message:
      `record_test_outcome has ${rules.join(', ')}, but record_test_outcomes (the same outcomes, up to 1000 a call) would be allowed ` +
      'without them under default "allow": give it an entry of its own (deny_if paths through args.outcomes hold for any item, ' +
      'e.g. "args.outcomes.nodeid"), or hide it',
  });
}

/** The policy of one grant (or of everyone without their own). */
export const GrantPolicy = z.strictObject(policyFields).superRefine(batchToolCovered);
export type GrantPolicy = z.output<typeof GrantPolicy>;

/** The policy file (POLICY_FILE), in the shape PolicyLayer uses, plus per-grant policies. */
export const PolicyFile = z
  .strictObject({
    $schema: z.string().optional().describe('Where editors find this file’s JSON Schema (schemas/policy-file.schema.json).'),
    version: z.literal('1', { error: 'version must be "1"' }),
    ...policyFields,
    grants: z.record(GrantName, GrantPolicy).default({}).describe('A grant listed here gets this policy instead of the top-level one.'),
  })
  .superRefine(batchToolCovered);
export type PolicyFile = z.output<typeof PolicyFile>;

/** No policy file: every tool allowed, no limits. */
export const ALLOW_ALL: PolicyFile = { version: '1', default: 'allow', hide: [], tools: {}, grants: {}, sessions: { read: 'own' } };
