// One session: header, counts, failures with their error text, failure groups, slowest tests and a chart of
// result durations — redrawn (debounced) on each change notice of the session while the page is open.

import { get } from './api.js';
import { durationBars, durationHistogram } from './charts.js';
import { duration, h, isExternal, OUTCOMES, replace, route, safeHref, statusBadge, when } from './dom.js';

/** Results fetched for the duration chart, at most (the chart says when it shows only the first ones). */
const CHART_RESULTS = 1000;

export async function render(main, params, ctx) {
  const id = params.id;
  const owner = params.owner || undefined;
  const body = h('div', { id: 'session' });
  replace(main, body);

  let lastSeq = -1;
  async function load() {
    const [view, groups, tests] = await Promise.all([
      get(`sessions/${encodeURIComponent(id)}`, { owner }),
      get('failure-groups', { session_id: id, owner }).catch((error) => ({ error })),
      get(`sessions/${encodeURIComponent(id)}/tests`, { owner, limit: CHART_RESULTS }).catch((error) => ({ error })),
    ]);
    if (view.project) ctx.project = view.project;
    lastSeq = view.last_seq ?? lastSeq;
    document.title = `${view.session_id} · mcp-pytest`;
    replace(body, ...page(view, groups, tests));
    return view;
  }

  const view = await load();

  let timer = null;
  let loading = Promise.resolve();
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      loading = loading.then(() => load()).catch((error) => ctx.fail(error));
    }, 200);
  };
  const stopFollowing = ctx.follow(
    { session_id: id },
    {
      onChange(notice) {
        if (notice.session_id === id && (!owner || notice.owner === owner) && notice.last_seq > lastSeq) refresh();
      },
      onReset: refresh,
    },
  );
  void view;
  return () => {
    clearTimeout(timer);
    stopFollowing();
    document.title = 'mcp-pytest · sessions';
  };
}

function page(view, groups, tests) {
  const ci = view.ci ?? {};
  const ciHref = ci.url ? safeHref(ci.url) : null;
  const env = view.environment ?? {};
  const historyHref = (nodeid) => (view.project ? route('/history', { project: view.project, nodeid }) : null);
  return [
    h(
      'header',
      {},
      h('p', { class: 'muted' }, h('a', { href: view.project ? route('/', { project: view.project }) : '#/' }, '← Sessions')),
      h(
        'h1',
        {},
        view.session_id,
        ' ',
        view.stuck ? h('span', { class: 'badge badge-stuck' }, 'stuck') : statusBadge(view.status, view.counts, view.exitstatus),
      ),
      h(
        'p',
        { class: 'sub' },
        fact('Project', view.project),
        fact('Owner', view.owner),
        fact('Branch', ci.branch),
        fact('Commit', ci.commit ? ci.commit.slice(0, 12) : null),
        ciHref && ciHref !== '#'
          ? h(
              'span',
              {},
              'CI: ',
              h(
                'a',
                { href: ciHref, target: isExternal(ciHref) ? '_blank' : null, rel: 'noopener noreferrer' },
                ci.run_id ? `run ${ci.run_id}` : (ci.provider ?? 'link'),
              ),
            )
          : fact('CI', ci.provider),
        h('span', {}, 'Started ', when(view.started_at)),
        view.finished_at ? h('span', {}, 'Finished ', when(view.finished_at)) : null,
        fact('Python', env.python_version),
        fact('OS', env.os),
        Object.entries(view.labels ?? {}).map(([k, v]) => h('span', { class: 'tag' }, `${k}=${v}`)),
      ),
    ),
    view.stuck
      ? h(
          'p',
          { class: 'empty error', role: 'alert' },
          `The projector could not fold event ${view.stuck.seq}: ${view.stuck.reason}. The view stays as of the event before it until the session is re-folded (npm run refold).`,
        )
      : null,
    h(
      'section',
      { 'aria-labelledby': 'counts-title' },
      h('h2', { id: 'counts-title', class: 'sr-only' }, 'Counts'),
      h(
        'div',
        { class: 'cards', id: 'counts' },
        OUTCOMES.filter((o) => o === 'passed' || o === 'failed' || view.counts[o] > 0).map((o) => card(view.counts[o], o, `count-${o}`, o)),
        card(view.counts.total, 'results', 'count-total', 'total'),
        card(view.status === 'running' ? '…' : duration(view.duration), view.status === 'running' ? 'running' : 'duration'),
        card(duration(view.tests_duration), 'time in tests'),
      ),
      view.summary_matches === false
        ? h(
            'p',
            { class: 'error' },
            'pytest reported other numbers than were recorded: ',
            view.summary_mismatches.map((m) => `${m.field} reported ${m.reported}, recorded ${m.recorded}`).join('; '),
          )
        : null,
    ),
    section(
      'failures',
      `Failures (${view.failures.length + view.failures_omitted})`,
      view.failures.length
        ? [
            view.failures.map((f) =>
              h(
                'article',
                { class: `failure outcome-${f.outcome}`, dataset: { nodeid: f.nodeid } },
                h(
                  'header',
                  {},
                  historyHref(f.nodeid)
                    ? h('a', { class: 'nodeid mono', href: historyHref(f.nodeid), title: 'History of this test' }, f.nodeid)
                    : h('span', { class: 'nodeid mono' }, f.nodeid),
                  h('span', { class: `outcome-${f.outcome}` }, f.outcome),
                  h('span', { class: 'muted' }, `${f.when}${f.attempt > 1 ? `, attempt ${f.attempt}` : ''}, ${duration(f.duration)}`),
                ),
                f.error ? h('pre', { class: 'error-text' }, f.error) : null,
              ),
            ),
            view.failures_omitted
              ? h('p', { class: 'muted' }, `${view.failures_omitted} more failures are not listed here; the results below list every one.`)
              : null,
          ]
        : h('p', { class: 'muted' }, view.status === 'running' ? 'No failures so far.' : 'No failures.'),
    ),
    section(
      'groups',
      'Failure groups',
      groups.error
        ? h('p', { class: 'error' }, groups.error.message)
        : groups.groups.length
          ? groups.groups.map((g) =>
              h(
                'article',
                { class: 'group' },
                h('div', { class: 'signature mono' }, g.signature),
                h('div', { class: 'muted' }, `${g.count} failure${g.count === 1 ? '' : 's'}`),
                h(
                  'ul',
                  {},
                  g.nodeids.map((nodeid) => h('li', { class: 'mono' }, nodeid)),
                ),
                g.example_error ? h('details', {}, h('summary', {}, 'Example error'), h('pre', {}, g.example_error)) : null,
              ),
            )
          : h('p', { class: 'muted' }, 'No failures to group.'),
    ),
    section(
      'slowest',
      'Slowest tests',
      view.slowest.length
        ? durationBars(view.slowest.map((t) => ({ label: `${t.nodeid}${t.when === 'call' ? '' : ` (${t.when})`}`, duration: t.duration, outcome: t.outcome })))
        : h('p', { class: 'muted' }, 'No results yet.'),
    ),
    section(
      'durations',
      'Durations',
      tests.error
        ? h('p', { class: 'error' }, tests.error.message)
        : tests.tests.length
          ? [
              durationHistogram(tests.tests),
              h(
                'p',
                { class: 'muted' },
                tests.next_cursor ? `The first ${tests.tests.length} results recorded, by duration.` : `All ${tests.tests.length} results, by duration.`,
              ),
            ]
          : h('p', { class: 'muted' }, 'No results yet.'),
    ),
  ];
}

const fact = (name, value) => (value === null || value === undefined || value === '' ? null : h('span', {}, `${name}: `, h('strong', {}, String(value))));

function card(value, what, cls = '', outcome) {
  return h('div', { class: 'card', dataset: outcome ? { outcome } : {} }, h('div', { class: `n ${cls}` }, String(value)), h('div', { class: 'what' }, what));
}

function section(id, title, ...content) {
  return h('section', { id, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), content);
}
