// Flaky tests of a project: flip rate over its last finished sessions (highest first), and the slowest tests
// with a sparkline of their duration per session and the trend (newer half over older half).

import { get } from './api.js';
import { rateBar, sparkline } from './charts.js';
import { dataTable, duration, field, filterForm, h, replace, route, when } from './dom.js';

export async function render(main, params, ctx) {
  const project = params.project ?? ctx.project;
  const win = params.window ?? '';
  const branch = params.branch ?? '';
  const projects = ctx.projectList();
  const body = h('div', { id: 'flaky' });
  replace(
    main,
    h('h1', {}, 'Flaky tests'),
    filterForm(
      { label: 'Project and window', path: '/flaky' },
      field('Project', { name: 'project', value: project, required: true, list: 'projects' }),
      field('Last finished sessions', { name: 'window', type: 'number', min: 1, max: 200, value: win, placeholder: '30' }),
      field('Branch', { name: 'branch', value: branch, placeholder: 'any' }),
    ),
    projects,
    body,
  );
  if (!project) {
    replace(body, h('p', { class: 'empty' }, 'Choose a project.'));
    return;
  }
  ctx.project = project;
  const answer = await get('flaky', { project, window: win, branch });
  const historyHref = (nodeid) => route('/history', { project, nodeid });
  replace(
    body,
    h(
      'p',
      { class: 'muted' },
      `Over the last ${answer.sessions} finished session${answer.sessions === 1 ? '' : 's'} of ${answer.project}${branch ? ` on ${branch}` : ''}.`,
    ),
    h('h2', {}, 'Flaky'),
    answer.tests.length
      ? dataTable({
          id: 'flaky-tests',
          caption: 'Highest flip rate first. A flip is a change between passed and failed from one session to the next, or a pass on a rerun.',
          columns: ['Test', 'Flip rate', { name: 'Flips', num: true }, { name: 'Runs', num: true }, { name: 'Rerun passes', num: true }, 'Last flip'],
          rows: answer.tests.map((t) =>
            h(
              'tr',
              {},
              h('td', { class: 'id mono' }, h('a', { href: historyHref(t.nodeid) }, t.nodeid)),
              h('td', {}, rateBar(t.flip_rate)),
              h('td', { class: 'num' }, String(t.flips)),
              h('td', { class: 'num' }, String(t.runs)),
              h('td', { class: 'num' }, String(t.rerun_passes)),
              h('td', {}, when(t.last_flip_at)),
            ),
          ),
        })
      : h('p', { class: 'empty' }, 'No flaky tests in this window.'),
    h('h2', {}, 'Slowest'),
    answer.slowest.length
      ? dataTable({
          id: 'slowest-tests',
          caption: 'By mean duration. Trend: mean of the newer half of the runs over the older half; the line runs oldest to newest.',
          columns: ['Test', { name: 'Runs', num: true }, { name: 'Mean', num: true }, { name: 'Last', num: true }, { name: 'Trend', num: true }, 'Durations'],
          rows: answer.slowest.map((t) =>
            h(
              'tr',
              {},
              h('td', { class: 'id mono' }, h('a', { href: historyHref(t.nodeid) }, t.nodeid)),
              h('td', { class: 'num' }, String(t.runs)),
              h('td', { class: 'num' }, duration(t.mean_duration)),
              h('td', { class: 'num' }, duration(t.last_duration)),
              h(
                'td',
                { class: `num ${t.trend > 1.2 ? 'trend-up' : t.trend < 0.8 ? 'trend-down' : ''}` },
                `${t.trend > 1.2 ? '▲' : t.trend < 0.8 ? '▼' : ''} ×${t.trend.toFixed(2)}`,
              ),
              h('td', {}, sparkline(t.durations, { label: `Duration of ${t.nodeid}` })),
            ),
          ),
        })
      : h('p', { class: 'empty' }, 'No results in this window.'),
  );
}
