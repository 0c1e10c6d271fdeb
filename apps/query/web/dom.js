// DOM helpers. Every piece of data reaches the page as a text node or an attribute value set through the DOM:
// nothing here parses HTML, so node ids, error texts and labels (all caller data) cannot inject markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * An element: `h('a', { href: '#/', class: 'x' }, 'text', child)`. Attributes whose value is null, undefined or
 * false are left out; `on*` functions become listeners; children that are null/undefined/false are skipped,
 * strings and numbers become text nodes, arrays are flattened.
 */
export function h(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element, as `h` builds HTML ones. */
export function s(tag, attrs = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name === 'href' && el.namespaceURI !== SVG_NS) el.setAttribute('href', safeHref(value));
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Only in-page (#…), same-origin relative and http(s) links: never javascript: or data: URLs from caller data. */
export function safeHref(value) {
  const text = String(value);
  if (text.startsWith('#')) return text;
  try {
    const url = new URL(text, location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : '#';
  } catch {
    return '#';
  }
}

/** Whether a link is to another site (opened in a new tab). */
export const isExternal = (href) => /^https?:/i.test(href) && !href.startsWith(location.origin);

// ---- page parts --------------------------------------------------------------------------------------

/**
 * A filter form whose submit navigates to `path` with the fields as query parameters, so filters live in the
 * URL (back, reload and links keep them). `after` follows the submit button (e.g. a Clear link).
 */
export function filterForm({ label, path, button = 'Show', role = null, after = null }, ...fields) {
  return h(
    'form',
    {
      class: 'filters',
      role,
      'aria-label': label,
      onsubmit(event) {
        event.preventDefault();
        location.hash = route(path, Object.fromEntries(new FormData(event.target)));
      },
    },
    fields,
    h('button', { type: 'submit' }, button),
    after,
  );
}

/** A labelled form control: `control` is an element, or the attributes of an <input>. */
export const field = (label, control) => h('label', {}, label, control instanceof Node ? control : h('input', control));

/**
 * A captioned table in a scrolling wrapper. `columns` are header names, or `{ name, num: true }` for columns
 * of numbers (right-aligned). `rows` are the <tr> elements; pages that update rows in place find the <tbody>.
 */
export function dataTable({ id, caption, columns, rows = [] }) {
  const head = columns.map((column) => (typeof column === 'string' ? { name: column } : column));
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { id },
      h('caption', {}, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map(({ name, num }) => h('th', { scope: 'col', class: num ? 'num' : null }, name)),
        ),
      ),
      h('tbody', {}, rows),
    ),
  );
}

// ---- formatting -------------------------------------------------------------------------------------

/** Seconds as people read them: 850 ms, 12.3 s, 4 min 05 s, 1 h 02 min. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const min = Math.floor(seconds / 60);
  if (min < 60) return `${min} min ${String(Math.round(seconds % 60)).padStart(2, '0')} s`;
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "3 minutes ago", as a <time> with the exact time in its title. */
export function when(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const ms = Date.parse(iso);
  const ago = (ms - Date.now()) / 1000;
  const abs = Math.abs(ago);
  const text =
    abs < 45
      ? relative.format(Math.round(ago), 'second')
      : abs < 2700
        ? relative.format(Math.round(ago / 60), 'minute')
        : abs < 64800
          ? relative.format(Math.round(ago / 3600), 'hour')
          : abs < 7 * 86400
            ? relative.format(Math.round(ago / 86400), 'day')
            : new Date(ms).toLocaleDateString();
  return h('time', { datetime: iso, title: new Date(ms).toLocaleString() }, text);
}

export const percent = (fraction) => `${Math.round(fraction * 100)}%`;

/** The outcomes in the order a summary lists them. */
export const OUTCOMES = ['passed', 'failed', 'error', 'skipped', 'xfailed', 'xpassed'];

/** A status badge: running, finished (passed / failed) or stuck. */
export function statusBadge(status, counts, exitstatus) {
  let kind = status;
  let label = status;
  if (status === 'finished') {
    const bad = (counts && (counts.failed > 0 || counts.error > 0)) || (exitstatus !== null && exitstatus !== undefined && exitstatus !== 0);
    kind = bad ? 'failed' : 'passed';
    label = bad ? 'failed' : 'passed';
  }
  return h('span', { class: `badge badge-${kind}` }, label);
}

/** Counts per outcome as small labelled numbers; outcomes at zero are dimmed. */
export function countsView(counts) {
  if (!counts) return h('span', { class: 'muted' }, '—');
  return h(
    'span',
    { class: 'counts' },
    OUTCOMES.filter((o) => o === 'passed' || o === 'failed' || counts[o] > 0).map((o) =>
      h(
        'span',
        { class: `count count-${o}${counts[o] ? '' : ' zero'}`, dataset: { outcome: o }, title: o },
        h('span', { class: 'sr-only' }, `${o} `),
        String(counts[o] ?? 0),
      ),
    ),
    h('span', { class: 'count count-total', title: 'total' }, h('span', { class: 'sr-only' }, 'total '), `/ ${counts.total}`),
  );
}

/** A URL hash for a route and its query parameters (empty ones left out). */
export function route(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') query.set(key, String(value));
  const q = query.toString();
  return `#${path}${q ? `?${q}` : ''}`;
}
