import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { TriageSessionArgs, type FailureGroup, type FlakyTest, type SessionTest, type SessionView, type TestRun } from '#contracts';
import type { McpConnection } from '../mcp-connection.js';
import { readable } from '../resources/session.resource.js';
import { sessionToRead } from '../tools/read-scope.js';
import type { ToolDeps } from '../tools/tool.js';

/** Failing tests whose history the prompt shows, at most; and characters of each error. */
const TRIAGED_TESTS = 20;
const ERROR_CHARS = 1500;
const HISTORY_RUNS = 10;

/**
 * `triage_session { session_id }`: hands an agent what it needs to start fixing a session's
 * failures — the failure groups (largest first), each failing test's error and recent history, and
 * whether it is flaky — gathered with the read tools' own rules (the caller's grant, its policy).
 */
export function registerTriagePrompt(server: McpServer, connection: McpConnection, deps: ToolDeps): void {
  server.registerPrompt(
    'triage_session',
    {
      title: 'Triage a pytest session',
      description: "A session's failures grouped by cause, each failing test's recent history and flakiness: ready to start fixing.",
      argsSchema: TriageSessionArgs,
    },
    async ({ session_id }) => {
      const tools = ['get_session', 'get_session_tests', 'get_failure_groups', 'get_test_history', 'get_flaky_tests'] as const;
      const text = await readable(connection, deps, [...tools], () => triage(connection, deps, session_id));
      return { description: `Triage of session ${session_id}`, messages: [{ role: 'user', content: { type: 'text', text } }] };
    },
  );
}

async function triage(connection: McpConnection, { queries, policies }: ToolDeps, sessionId: string): Promise<string> {
  const target = sessionToRead(connection, policies.current, { session_id: sessionId });
  const [view, { groups }, failed, errors] = await Promise.all([
    queries.getSession(target),
    queries.getFailureGroups({ ...target, window: 1 }),
    queries.getSessionTests({ ...target, outcome: 'failed', limit: TRIAGED_TESTS }),
    queries.getSessionTests({ ...target, outcome: 'error', limit: TRIAGED_TESTS }),
  ]);
  const failing = [...failed.tests, ...errors.tests].filter((t, i, all) => all.findIndex((o) => o.nodeid === t.nodeid) === i).slice(0, TRIAGED_TESTS);
  const project = view.project;
  const [flaky, histories] = project
    ? await Promise.all([
        queries.getFlakyTests({ project, window: 30, owner: target.owner }),
        Promise.all(failing.map((t) => queries.getTestHistory({ project, nodeid: t.nodeid, owner: target.owner, limit: HISTORY_RUNS }))),
      ])
    : [undefined, []];
  const flakyByNodeid = new Map((flaky?.tests ?? []).map((t) => [t.nodeid, t]));
  return [
    header(view),
    groupsSection(groups),
    failingSection(
      failing,
      histories.map((h) => h.runs),
      flakyByNodeid,
      project !== null,
    ),
    'Start with the largest failure group: read its example error and innermost frame, find the cause in the code, fix it, ' +
      'and re-run those tests. Treat tests marked flaky with care: a fix may be in the test itself (timing, order, shared state).',
  ].join('\n\n');
}

function header(view: SessionView): string {
  const counts = Object.entries(view.counts)
    .filter(([, n]) => n > 0)
    .map(([outcome, n]) => `${n} ${outcome}`)
    .join(', ');
  const where = [view.project && `project ${view.project}`, view.ci?.branch && `branch ${view.ci.branch}`, view.ci?.commit && `commit ${view.ci.commit}`]
    .filter(Boolean)
    .join(', ');
  return `# Triage of pytest session ${view.session_id}\n\nStatus: ${view.status}${view.exitstatus !== null ? ` (exit status ${view.exitstatus})` : ''}; ${counts || 'no results'}${where ? `; ${where}` : ''}.`;
}

function groupsSection(groups: FailureGroup[]): string {
  if (groups.length === 0) return '## Failure groups\n\nNo failures recorded.';
  const items = groups.map(
    (g, i) =>
      `${i + 1}. **${g.signature}** — ${g.count} failure(s), e.g. ${g.nodeids.map((n) => `\`${n}\``).join(', ')}` +
      (g.example_error ? `\n\n   \`\`\`\n${clip(g.example_error)}\n   \`\`\`` : ''),
  );
  return `## Failure groups (same cause, largest first)\n\n${items.join('\n')}`;
}

function failingSection(failing: SessionTest[], histories: TestRun[][], flaky: Map<string, FlakyTest>, hasProject: boolean): string {
  if (failing.length === 0) return '## Failing tests\n\nNone.';
  const items = failing.map((test, i) => {
    const runs = histories[i] ?? [];
    const strip = runs
      .map((r) => (r.outcome === 'passed' ? (r.rerun_passed ? 'R' : 'P') : r.outcome === 'failed' || r.outcome === 'error' ? 'F' : '-'))
      .join(' ');
    const flakiness = flaky.get(test.nodeid);
    const lines = [
      `### \`${test.nodeid}\` — ${test.outcome} (${test.when}, attempt ${test.attempt}, ${test.duration.toFixed(3)} s)`,
      hasProject ? `History, newest first (P passed, R passed on rerun, F failed, - other): ${strip || 'no earlier runs'}` : 'No project: no history.',
      flakiness
        ? `Flaky: yes — ${flakiness.flips} flip(s) in ${flakiness.runs} run(s), flip rate ${flakiness.flip_rate.toFixed(2)}.`
        : hasProject
          ? 'Flaky: no flips in the last 30 finished sessions.'
          : '',
      test.error ? `\`\`\`\n${clip(test.error)}\n\`\`\`` : '',
    ];
    return lines.filter(Boolean).join('\n');
  });
  return `## Failing tests\n\n${items.join('\n\n')}`;
}

const clip = (text: string) => (text.length > ERROR_CHARS ? `${text.slice(0, ERROR_CHARS)}\n… (${text.length - ERROR_CHARS} more characters)` : text);
