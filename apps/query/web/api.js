// The query app's JSON API and its live feed, with the access key: asked for once (when a call answers 401),
// kept for the tab (sessionStorage) or on this browser (localStorage, when asked to remember it), sent as a bearer
// key — and as ?access_token= on /api/events only, since EventSource cannot send headers.

const KEY_NAME = 'mcp-pytest.key';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function storedKey() {
  try {
    return sessionStorage.getItem(KEY_NAME) ?? localStorage.getItem(KEY_NAME);
  } catch {
    return null;
  }
}

function storeKey(key, remember) {
  try {
    sessionStorage.setItem(KEY_NAME, key);
    if (remember) localStorage.setItem(KEY_NAME, key);
    else localStorage.removeItem(KEY_NAME);
  } catch {
    /* storage disabled: the key lasts as long as the page */
  }
  memoryKey = key;
}

export function forgetKey() {
  try {
    sessionStorage.removeItem(KEY_NAME);
    localStorage.removeItem(KEY_NAME);
  } catch {
    /* nothing stored */
  }
  memoryKey = null;
}

let memoryKey = storedKey();
/** The dialog asking for the key, while it is open: every call that meets a 401 waits for the same answer. */
let asking = null;

/** Asks for the key in the page's dialog; resolves with it (a rejected key asks again, with a note). */
function askForKey(rejected) {
  asking ??= new Promise((resolve) => {
    const dialog = document.getElementById('key-dialog');
    const form = dialog.querySelector('form');
    const input = dialog.querySelector('#key-input');
    const remember = dialog.querySelector('#key-remember');
    const note = dialog.querySelector('#key-note');
    note.textContent = rejected ? 'That key was not accepted. Try another.' : '';
    note.hidden = !rejected;
    input.value = '';
    const submit = (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      form.removeEventListener('submit', submit);
      dialog.removeEventListener('cancel', stay);
      dialog.close();
      storeKey(key, remember.checked);
      asking = null;
      resolve(key);
    };
    // Without a key nothing can be shown: Escape does not close the dialog.
    const stay = (event) => event.preventDefault();
    form.addEventListener('submit', submit);
    dialog.addEventListener('cancel', stay);
    dialog.showModal();
    input.focus();
  });
  return asking;
}

/** GET /api/<path> with query parameters (empty ones left out); on 401, asks for the key and tries again. */
export async function get(path, params = {}, { signal } = {}) {
  const url = new URL(`api/${path}`, document.baseURI);
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, String(value));
  for (let tried = 0; ; tried++) {
    const sent = memoryKey;
    const headers = { accept: 'application/json' };
    if (sent) headers.authorization = `Bearer ${sent}`;
    const response = await fetch(url, { headers, signal, cache: 'no-store' });
    if (response.status === 401) {
      await response.text().catch(() => ''); // read to its end: the request is done, not left hanging
      if (sent && memoryKey === sent) forgetKey();
      // Another call may have been given a new key meanwhile: try that one before asking.
      if (!memoryKey) await askForKey(Boolean(sent) && tried > 0);
      continue;
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const error = body?.error;
      throw new ApiError(response.status, error?.code ?? 'HTTP_ERROR', error?.message ?? `${response.status} ${response.statusText}`);
    }
    return body;
  }
}

/**
 * Follows /api/events (filtered by `project` or `session_id`), calling `onChange(notice)` per change and
 * `onReset()` when the server says to reload (and after the feed was lost and came back, as notices may
 * have been missed). The browser's EventSource resumes with Last-Event-ID by itself; when the server
 * refuses the stream (e.g. a key was needed), this opens a new one after a pause. Returns a stop function.
 */
export function follow(params, { onChange, onReset, onState = () => {} }) {
  let source = null;
  let stopped = false;
  let timer = null;
  let lost = false;
  let pause = 1000;

  const open = () => {
    if (stopped) return;
    const url = new URL('api/events', document.baseURI);
    for (const [name, value] of Object.entries(params)) if (value) url.searchParams.set(name, String(value));
    if (memoryKey) url.searchParams.set('access_token', memoryKey);
    source = new EventSource(url);
    source.addEventListener('open', () => {
      onState('live');
      pause = 1000;
      if (lost) {
        lost = false;
        onReset();
      }
    });
    source.addEventListener('change', (event) => {
      let notice;
      try {
        notice = JSON.parse(event.data);
      } catch {
        return;
      }
      onChange(notice);
    });
    source.addEventListener('reset', () => onReset());
    source.addEventListener('error', () => {
      lost = true;
      if (source.readyState === EventSource.CLOSED) {
        // Refused (not a dropped connection, which EventSource retries itself): check the key with a call,
        // which asks for it on a 401, then open again.
        onState('offline');
        source.close();
        timer = setTimeout(async () => {
          try {
            await get('sessions', { limit: 1 });
          } catch {
            /* shown by the page's own calls */
          }
          open();
        }, pause);
        pause = Math.min(pause * 2, 15000);
      } else onState('reconnecting');
    });
  };
  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    source?.close();
  };
}
