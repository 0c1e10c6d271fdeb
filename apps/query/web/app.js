// The dashboard's router: hash routes, one page module each. A page's render(main, params, ctx) draws into
// <main> and returns a function that stops whatever it started (live feeds, timers) when the route changes.

import { follow, get } from './api.js';
import { h, replace } from './dom.js';
import * as flakyPage from './flaky-page.js';
import * as historyPage from './history-page.js';
import * as sessionPage from './session-page.js';
import * as sessionsPage from './sessions-page.js';

const main = document.getElementById('main');
const liveBadge = document.getElementById('live');

const LIVE_TEXT = { live: 'live', reconnecting: 'reconnecting…', offline: 'offline — retrying', idle: '' };

/** Shows the live feed's state in the header. */
function setLive(state) {
  liveBadge.textContent = LIVE_TEXT[state] ?? state;
  liveBadge.className = `live is-${state}`;
  liveBadge.hidden = state === 'idle';
}

const PROJECT_KEY = 'mcp-pytest.project';

const ctx = {
  /** Follows /api/events for a page, showing its state in the header. */
  follow(params, handlers) {
    setLive('reconnecting');
    return follow(params, { ...handlers, onState: setLive });
  },
  setLive,
  /** The project last looked at (the flaky and history pages start from it). */
  get project() {
    try {
      return localStorage.getItem(PROJECT_KEY) ?? '';
    } catch {
      return '';
    }
  },
  set project(value) {
    try {
      if (value) localStorage.setItem(PROJECT_KEY, value);
    } catch {
      /* not kept */
    }
  },
  /** The project inputs' suggestions: a <datalist id="projects">, filled with the projects of recent sessions once they load. */
  projectList() {
    const list = h('datalist', { id: 'projects' });
    get('sessions', { limit: 100 }).then(
      ({ sessions }) =>
        replace(
          list,
          [...new Set(sessions.map((s) => s.project).filter(Boolean))].sort().map((name) => h('option', { value: name })),
        ),
      () => undefined, // suggestions only: the page works without them
    );
    return list;
  },
  /** Shows an error where the page's content would be. */
  fail(error) {
    replace(main, h('div', { class: 'empty error', role: 'alert' }, h('strong', {}, 'Could not load this page. '), error?.message ?? String(error)));
  },
};

const ROUTES = [
  { pattern: /^\/(?:sessions)?$/, page: sessionsPage, nav: 'sessions' },
  { pattern: /^\/sessions\/(.+)$/, page: sessionPage, nav: 'sessions' },
  { pattern: /^\/flaky$/, page: flakyPage, nav: 'flaky' },
  { pattern: /^\/history$/, page: historyPage, nav: 'history' },
];

let stop = () => {};
let lastPath = null;

function parseHash() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = hash.split(/\?(.*)/s);
  return { path, params: Object.fromEntries(new URLSearchParams(query)) };
}

async function navigate() {
  stop();
  stop = () => {};
  const { path, params } = parseHash();
  const match = ROUTES.map((r) => ({ r, m: r.pattern.exec(path) })).find(({ m }) => m);
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === match?.r.nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  setLive('idle');
  if (!match) {
    replace(main, h('div', { class: 'empty' }, 'No such page. ', h('a', { href: '#/' }, 'Back to the sessions.')));
    return;
  }
  const changedPage = lastPath !== path;
  lastPath = path;
  try {
    if (match.m[1] !== undefined) params.id = decodeURIComponent(match.m[1]);
    const cleanup = await match.r.page.render(main, params, ctx);
    if (typeof cleanup === 'function') stop = cleanup;
  } catch (error) {
    ctx.fail(error);
  }
  if (changedPage) main.focus({ preventScroll: true });
}

window.addEventListener('hashchange', navigate);
navigate();
