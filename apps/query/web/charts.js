// Small inline SVG charts, drawn from data with DOM calls (no library). Colours come from style.css classes,
// so they follow the light/dark scheme; each chart carries a <title> and a text alternative for screen readers.

import { duration, h, s } from './dom.js';

/**
 * Durations of a session's results as a histogram over logarithmic buckets (1 ms … 10 min), one bar per
 * bucket, failing results stacked on top of the others.
 */
export function durationHistogram(results, { width = 640, height = 180 } = {}) {
  const edges = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 600, Infinity];
  const labels = ['<1ms', '1ms', '3ms', '10ms', '30ms', '0.1s', '0.3s', '1s', '3s', '10s', '30s', '100s', '10m+'];
  const buckets = labels.map(() => ({ ok: 0, bad: 0 }));
  for (const r of results) {
    const i = Math.max(
      0,
      edges.findIndex((edge, j) => r.duration >= edge && r.duration < edges[j + 1]),
    );
    buckets[i][r.outcome === 'failed' || r.outcome === 'error' ? 'bad' : 'ok']++;
  }
  const top = Math.max(1, ...buckets.map((b) => b.ok + b.bad));
  const pad = { left: 36, right: 8, top: 10, bottom: 24 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const barW = plotW / buckets.length;
  const y = (n) => pad.top + plotH - (n / top) * plotH;
  const summary = buckets.map((b, i) => `${labels[i]}: ${b.ok + b.bad}`).join(', ');
  return s(
    'svg',
    { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `Results by duration: ${summary}` },
    s('title', {}, 'Results by duration (log buckets)'),
    s('line', { class: 'axis', x1: pad.left, x2: width - pad.right, y1: pad.top + plotH, y2: pad.top + plotH }),
    s('text', { class: 'tick', x: pad.left - 4, y: pad.top + 8, 'text-anchor': 'end' }, String(top)),
    s('text', { class: 'tick', x: pad.left - 4, y: pad.top + plotH, 'text-anchor': 'end' }, '0'),
    buckets.map((b, i) => {
      const x = pad.left + i * barW + 2;
      const w = Math.max(1, barW - 4);
      const total = b.ok + b.bad;
      return s(
        'g',
        {},
        s('title', {}, `${labels[i]}: ${total} result${total === 1 ? '' : 's'}${b.bad ? ` (${b.bad} failing)` : ''}`),
        b.ok ? s('rect', { class: 'bar bar-ok', x, width: w, y: y(total), height: y(b.bad) - y(total) }) : null,
        b.bad ? s('rect', { class: 'bar bar-bad', x, width: w, y: y(b.bad), height: pad.top + plotH - y(b.bad) }) : null,
        s('text', { class: 'tick', x: x + w / 2, y: height - 8, 'text-anchor': 'middle' }, labels[i]),
      );
    }),
  );
}

/** A horizontal bar per item, proportional to its duration: `items` = [{ label, duration, outcome }]. */
export function durationBars(items) {
  const top = Math.max(1e-9, ...items.map((i) => i.duration));
  return h(
    'ol',
    { class: 'bars' },
    items.map((item) =>
      h(
        'li',
        {},
        h('span', { class: 'bar-label' }, item.label),
        h('span', { class: 'bar-track', 'aria-hidden': 'true' }, barFill(item.duration / top, item.outcome)),
        h('span', { class: 'bar-value' }, duration(item.duration)),
      ),
    ),
  );
}

function barFill(fraction, outcome) {
  const fill = h('span', { class: `bar-fill outcome-${outcome ?? 'passed'}` });
  fill.style.width = `${Math.max(0.5, fraction * 100)}%`; // CSSOM, allowed under a CSP without 'unsafe-inline'
  return fill;
}

/** A flip rate (0…1) as a short bar with its percentage. */
export function rateBar(fraction) {
  return h(
    'span',
    { class: 'rate' },
    h('span', { class: 'bar-track', 'aria-hidden': 'true' }, barFill(fraction, 'failed')),
    h('span', {}, `${Math.round(fraction * 100)}%`),
  );
}

/** A sparkline of values (oldest first), the last point marked. */
export function sparkline(values, { width = 120, height = 28, label = 'trend' } = {}) {
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const x = (i) => (values.length === 1 ? width / 2 : 2 + (i * (width - 4)) / (values.length - 1));
  const y = (v) => height - 3 - ((v - min) / span) * (height - 6);
  const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const last = values.length - 1;
  return s(
    'svg',
    { class: 'spark', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': `${label}: ${values.map((v) => duration(v)).join(', ')}` },
    s('title', {}, `${label}, oldest to newest: ${values.map((v) => duration(v)).join(' → ')}`),
    s('polyline', { class: 'spark-line', points }),
    s('circle', { class: 'spark-dot', cx: x(last), cy: y(values[last]), r: 2.5 }),
  );
}

/**
 * A pass/fail strip: one cell per run, oldest on the left and newest on the right, each a link (to the
 * session) named by its outcome and session.
 */
export function outcomeStrip(runs, { hrefOf, labelOf }) {
  return h(
    'ol',
    { class: 'strip', 'aria-label': 'Runs, oldest to newest' },
    runs.map((run) =>
      h(
        'li',
        {},
        h('a', { class: `cell outcome-${run.outcome}${run.rerun_passed ? ' rerun' : ''}`, href: hrefOf(run), title: labelOf(run), 'aria-label': labelOf(run) }),
      ),
    ),
  );
}
