// Sessions list: newest first, filters and paging in the URL, updated live from /api/events — a change to a
// listed session patches its row at once, and the first page is fetched again (new sessions come in on top).

import { get } from './api.js';
import { countsView, dataTable, duration, field, filterForm, h, isExternal, replace, route, safeHref, statusBadge, when } from './dom.js';

const FILTERS = ['project', 'status', 'branch', 'label'];

export async function render(main, params, ctx) {
  const filters = Object.fromEntries(FILTERS.map((f) => [f, params[f] ?? '']));
  const cursor = params.cursor ?? '';
  if (filters.project) ctx.project = filters.project;

  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of sessions' });
  const projects = ctx.projectList();
  const table = dataTable({
    id: 'sessions',
    caption: 'Newest first',
    columns: ['Session', 'Status', 'Results', { name: 'Duration', num: true }, 'Started', 'Branch', 'CI', 'Project', 'Labels'],
  });
  // Rows are replaced on each load, and patched in place between loads.
  const tbody = table.querySelector('tbody');

  replace(main, h('h1', {}, 'Sessions'), sessionFilters(filters), projects, table, status, pager);

  /** Rows shown, by owner/session id. */
  let rows = new Map();
  let firstLoad = true;

  async function load() {
    const page = await get('sessions', { ...filters, cursor });
    const next = new Map();
    const fresh = [];
    for (const session of page.sessions) {
      const key = keyOf(session);
      const row = sessionRow(session);
      if (!firstLoad && !rows.has(key)) fresh.push(row);
      next.set(key, row);
    }
    replace(tbody, [...next.values()]);
    for (const row of fresh) row.classList.add('fresh');
    rows = next;
    firstLoad = false;
    status.textContent = page.sessions.length ? '' : cursor ? 'No more sessions.' : 'No sessions yet. Sessions appear here as they start.';
    replace(
      pager,
      cursor ? h('a', { href: route('/', filters) }, '← Newest') : null,
      page.next_cursor ? h('a', { href: route('/', { ...filters, cursor: page.next_cursor }), rel: 'next' }, 'Older →') : null,
    );
  }

  await load();

  // Live: patch the row now, and fetch the first page again (debounced) for the rest (duration, new rows).
  let timer = null;
  let loading = null;
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      await loading;
      loading = load().catch((error) => (status.textContent = `Could not refresh: ${error.message}`));
    }, 150);
  };
  const stopFollowing = ctx.follow(filters.project ? { project: filters.project } : {}, {
    onChange(notice) {
      const row = rows.get(keyOf(notice));
      if (row) patchRow(row, notice);
      if (!cursor) refresh();
    },
    onReset: refresh,
  });
  return () => {
    clearTimeout(timer);
    stopFollowing();
  };
}

const keyOf = (s) => `${s.owner}/${s.session_id}`;

function sessionFilters(filters) {
  const text = (name, placeholder, extra = {}) => ({ name, value: filters[name], placeholder, ...extra });
  return filterForm(
    {
      label: 'Filter sessions',
      path: '/',
      role: 'search',
      button: 'Filter',
      after: Object.values(filters).some(Boolean) ? h('a', { href: '#/' }, 'Clear') : null,
    },
    field('Project', text('project', 'any', { list: 'projects' })),
    field(
      'Status',
      h(
        'select',
        { name: 'status' },
        ['', 'running', 'finished'].map((value) => h('option', { value, selected: filters.status === value }, value || 'any')),
      ),
    ),
    field('Branch', text('branch', 'any')),
    field('Label', text('label', 'key=value', { pattern: '[^=]+=.*', title: 'key=value' })),
  );
}

function sessionRow(session) {
  const href = route(`/sessions/${encodeURIComponent(session.session_id)}`, { owner: session.owner });
  const ci = session.ci;
  const ciHref = ci?.url ? safeHref(ci.url) : null;
  return h(
    'tr',
    { dataset: { sessionId: session.session_id, owner: session.owner } },
    h('td', { class: 'id' }, h('a', { href }, session.session_id), h('div', { class: 'muted mono' }, session.owner)),
    h(
      'td',
      { class: 'status' },
      session.stuck ? h('span', { class: 'badge badge-stuck' }, 'stuck') : statusBadge(session.status, session.counts, session.exitstatus),
    ),
    h('td', { class: 'counts-cell' }, countsView(session.counts)),
    h('td', { class: 'num' }, session.status === 'running' ? h('span', { class: 'muted' }, 'running') : duration(session.duration)),
    h('td', {}, when(session.started_at)),
    h('td', { class: 'id' }, ci?.branch ?? h('span', { class: 'muted' }, '—')),
    h(
      'td',
      {},
      ciHref && ciHref !== '#'
        ? h(
            'a',
            { href: ciHref, target: isExternal(ciHref) ? '_blank' : null, rel: 'noopener noreferrer' },
            ci.run_id ? `run ${ci.run_id}` : (ci.provider ?? 'CI'),
          )
        : h('span', { class: 'muted' }, ci?.provider ?? '—'),
    ),
    h(
      'td',
      { class: 'id' },
      session.project ? h('a', { href: route('/', { project: session.project }) }, session.project) : h('span', { class: 'muted' }, '—'),
    ),
    h(
      'td',
      { class: 'id' },
      Object.entries(session.labels ?? {}).map(([k, v]) => h('a', { class: 'tag', href: route('/', { label: `${k}=${v}` }) }, `${k}=${v}`)),
    ),
  );
}

/** Applies a change notice to a row at once (status and counts); the refetch brings the rest. */
function patchRow(row, notice) {
  if (notice.counts) replace(row.querySelector('.counts-cell'), countsView(notice.counts));
  replace(
    row.querySelector('.status'),
    notice.status === 'stuck' ? h('span', { class: 'badge badge-stuck' }, 'stuck') : statusBadge(notice.status, notice.counts, null),
  );
}
