import { createReadStream, realpathSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { projectRoot } from '#platform';

/** The dashboard's files: served from the sources (the same folder whether the app runs from dist/ or not). */
export const DASHBOARD_DIR = join(projectRoot, 'apps/query/web');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Path segments a file may have: no `..`, no hidden files, nothing a URL must escape. */
const SAFE_PATH = /^\/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * Serves a dashboard file for GET/HEAD `path` (`/` is index.html), with its content type and an
 * ETag (clients revalidate: `no-cache`, answered 304 while unchanged). False when there is no
 * such file (nothing was answered): only names of known types inside the folder are served.
 */
export async function serveDashboardFile(path: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const name = path === '/' ? '/index.html' : path;
  const type = CONTENT_TYPES[extname(name).toLowerCase()];
  if (!SAFE_PATH.test(name) || type === undefined) return false;
  const file = join(DASHBOARD_DIR, name);
  const found = await stat(file).catch(() => undefined);
  // A symbolic link out of the folder is not followed.
  if (!found?.isFile() || !realpathSync(file).startsWith(realpathSync(DASHBOARD_DIR) + sep)) return false;
  const etag = `"${found.size.toString(36)}-${Math.trunc(found.mtimeMs).toString(36)}"`;
  res.setHeader('etag', etag);
  res.setHeader('cache-control', 'no-cache');
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304).end();
    return true;
  }
  res.writeHead(200, { 'content-type': type, 'content-length': found.size });
  if (req.method === 'HEAD') res.end();
  else
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  return true;
}
