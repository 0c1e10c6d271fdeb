// Summarises a V8 .cpuprofile (from `node --cpu-prof`): top self-time functions, self time by
// package, self time attributed to the nearest library/app frame, and top inclusive functions.
// Usage: node dist/bench/cpuprofile-summary.js <file.cpuprofile> [top=25]
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The package or area a frame belongs to. */
export function category(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'program (V8/native, unattributed)';
    if (functionName === '(root)') return 'root';
    return 'V8 builtins (JSON, RegExp, …)';
  }
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) {
    const name = pkg[1]!;
    if (name === '@modelcontextprotocol/sdk') return 'MCP SDK';
    if (name === 'zod') return 'zod';
    if (name.startsWith('@nats-io/')) return 'NATS client';
    if (name.startsWith('@nestjs/')) return 'Nest';
    if (
      [
        'express',
        'body-parser',
        'router',
        'raw-body',
        'iconv-lite',
        'type-is',
        'content-type',
        'on-finished',
        'finalhandler',
        'send',
        'qs',
        'statuses',
        'depd',
        'media-typer',
        'mime-types',
        'negotiator',
        'accepts',
        'vary',
        'encodeurl',
        'cookie',
        'http-errors',
        'path-to-regexp',
        'parseurl',
        'debug',
        'ms',
        'setprototypeof',
        'ee-first',
        'unpipe',
        'bytes',
        'toidentifier',
        'etag',
        'fresh',
        'range-parser',
        'escape-html',
        'merge-descriptors',
        'is-promise',
      ].includes(name)
    )
      return 'Express (+ body-parser, router…)';
    if (name === '@hono/node-server') return '@hono/node-server (Node↔Web adapter)';
    return name;
  }
  if (/\/dist\/(apps|libs)\//.test(url)) return 'our code (apps, libs)';
  if (/\/dist\/bench\//.test(url)) return 'bench code';
  if (url.startsWith('node:internal/deps/undici')) return 'undici (Request/Response/Headers)';
  if (url.startsWith('node:internal/webstreams') || url.startsWith('node:internal/abort_controller') || url.startsWith('node:internal/event_target'))
    return 'node web streams/events';
  if (/^node:(_http_|http$|internal\/http)/.test(url)) return 'node http';
  if (/^node:(net$|internal\/stream_base_commons|internal\/streams|stream$|internal\/child_process|internal\/net|dgram|tty)/.test(url))
    return 'node net/streams/pipes';
  if (url.startsWith('node:internal/process/task_queues') || url.startsWith('node:internal/timers') || url.startsWith('node:internal/async_hooks'))
    return 'node event loop (ticks, timers)';
  if (url.startsWith('node:')) return 'node other';
  return 'other';
}

const NODE_OR_NATIVE = (c: string) => c.startsWith('node ') || c.startsWith('V8 builtins') || c.startsWith('undici') || c === 'GC' || c.startsWith('program');

export function summarise(path: string, top = 25): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Time per sample: the delta to the next sample (the last one gets the mean).
  const total = profile.endTime - profile.startTime;
  const n = profile.samples.length;
  const durations = profile.samples.map((_, i) => (i + 1 < n ? profile.timeDeltas[i + 1]! : total / n));

  const label = (f: CallFrame) => {
    const file = f.url ? f.url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/').replace(/^node_modules\//, '') : '';
    return `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const selfCat = new Map<string, number>();
  const attributed = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const d = durations[i]!;
    const node = byId.get(id)!;
    const cat = category(node.callFrame);
    if (cat === 'idle') {
      idle += d;
      return;
    }
    busy += d;
    self.set(label(node.callFrame), (self.get(label(node.callFrame)) ?? 0) + d);
    selfCat.set(cat, (selfCat.get(cat) ?? 0) + d);
    const seen = new Set<string>();
    let owner: string | undefined;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)!.callFrame;
      const key = label(frame);
      if (!seen.has(key)) {
        seen.add(key);
        inclusive.set(key, (inclusive.get(key) ?? 0) + d);
      }
      const c = category(frame);
      if (owner === undefined && !NODE_OR_NATIVE(c) && c !== 'root') owner = c;
    }
    // Node/native work is charged to the nearest library or app frame that called it.
    const charged = NODE_OR_NATIVE(cat) && owner ? `${owner}` : cat;
    attributed.set(charged, (attributed.get(charged) ?? 0) + d);
  });

  const pct = (v: number) => `${((100 * v) / busy).toFixed(1).padStart(5)}%`;
  const ms = (v: number) => `${(v / 1000).toFixed(0).padStart(6)} ms`;
  const table = (title: string, map: Map<string, number>, limit: number, skip: (k: string) => boolean = () => false) => {
    const rows = [...map]
      .filter(([k]) => !skip(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit);
    return [title, ...rows.map(([k, v]) => `  ${pct(v)} ${ms(v)}  ${k}`)].join('\n');
  };
  const rootish = (k: string) => /^\((root|program|idle)\)/.test(k) || k.startsWith('(garbage collector)');
  return [
    `profile ${path}`,
    `  ${(total / 1e6).toFixed(1)} s wall, ${(busy / 1e6).toFixed(1)} s busy (${((100 * busy) / total).toFixed(0)}%), ${(idle / 1e6).toFixed(1)} s idle; percentages are of busy time`,
    table(`top ${top} functions by self time`, self, top),
    table('self time by package/area (leaf frame)', selfCat, 30),
    table('self time with node/V8 work charged to the nearest library/app frame that called it', attributed, 30),
    table(`top ${top} functions by inclusive time`, inclusive, top, rootish),
  ].join('\n\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [path, top] = process.argv.slice(2);
  if (!path) {
    process.stderr.write('usage: node dist/bench/cpuprofile-summary.js <file.cpuprofile> [top=25]\n');
    process.exit(1);
  }
  process.stdout.write(`${summarise(path, Number(top) || 25)}\n`);
}
