// A test's history in a project: a pass/fail strip (oldest on the left, newest on the right) and its runs,
// newest first.

import { get } from './api.js';
import { outcomeStrip } from './charts.js';
import { dataTable, duration, field, filterForm, h, OUTCOMES, replace, route, when } from './dom.js';

export async function render(main, params, ctx) {
  const project = params.project ?? ctx.project;
  const nodeid = params.nodeid ?? '';
  const limit = params.limit ?? '';
  const projects = ctx.projectList();
  const body = h('div', { id: 'history' });
  replace(
    main,
    h('h1', {}, 'Test history'),
    filterForm(
      { label: 'Test', path: '/history' },
      field('Project', { name: 'project', value: project, required: true, list: 'projects' }),
      field('Test (node id)', { name: 'nodeid', value: nodeid, required: true, size: 48, placeholder: 'tests/test_api.py::test_login' }),
      field('Sessions', { name: 'limit', type: 'number', min: 1, max: 200, value: limit, placeholder: '30' }),
    ),
    projects,
    body,
  );
  if (!project || !nodeid) {
    replace(body, h('p', { class: 'empty' }, 'Choose a project and a test — or follow a test from a session or the flaky tests.'));
    return;
  }
  ctx.project = project;
  const { runs } = await get('tests/history', { project, nodeid, limit });
  const sessionHref = (run) => route(`/sessions/${encodeURIComponent(run.session_id)}`, { owner: run.owner });
  const labelOf = (run) =>
    `${run.outcome}${run.rerun_passed ? ' on a rerun' : ''} in ${run.session_id} (${new Date(run.started_at).toLocaleString()}${run.branch ? `, ${run.branch}` : ''})`;
  const seen = OUTCOMES.filter((o) => runs.some((r) => r.outcome === o));
  replace(
    body,
    h('p', { class: 'mono id' }, nodeid),
    runs.length
      ? [
          h('h2', {}, `Last ${runs.length} run${runs.length === 1 ? '' : 's'}`, h('span', { class: 'muted' }, ' — oldest on the left, newest on the right')),
          outcomeStrip([...runs].reverse(), { hrefOf: sessionHref, labelOf }),
          h(
            'p',
            { class: 'legend' },
            seen.map((o) => h('span', { class: `outcome-${o}` }, `■ ${o} `, h('span', { class: 'muted' }, `${runs.filter((r) => r.outcome === o).length}`))),
            runs.some((r) => r.rerun_passed) ? h('span', {}, '┅ passed on a rerun') : null,
          ),
          dataTable({
            id: 'runs',
            caption: 'Newest first',
            columns: ['Session', 'Outcome', 'Duration', 'Attempt', 'Branch', 'Started', 'Error'],
            rows: runs.map((run) =>
              h(
                'tr',
                {},
                h('td', { class: 'id' }, h('a', { href: sessionHref(run) }, run.session_id)),
                h('td', { class: `outcome-${run.outcome}` }, run.outcome, run.rerun_passed ? ' (rerun)' : ''),
                h('td', { class: 'num' }, duration(run.duration)),
                h('td', { class: 'num' }, String(run.attempt)),
                h('td', { class: 'id' }, run.branch ?? '—'),
                h('td', {}, when(run.started_at)),
                h('td', { class: 'id' }, run.error ? h('details', {}, h('summary', {}, firstLine(run.error)), h('pre', {}, run.error)) : ''),
              ),
            ),
          }),
        ]
      : h('p', { class: 'empty' }, `No runs of this test in ${project}.`),
  );
}

const firstLine = (text) => {
  const line = text.split('\n').find((l) => l.trim()) ?? text;
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
};
