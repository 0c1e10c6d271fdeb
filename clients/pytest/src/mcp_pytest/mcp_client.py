"""MCP over Streamable HTTP with the standard library: one persistent HTTP/1.1 connection, tools/call only."""

import http.client
import json
import socket
import urllib.parse

PROTOCOL_VERSION = "2025-06-18"
REFUSAL_META_KEY = "mcp-pytest/refusal"
# Refusals that say nothing about the call itself (the server's NATS was briefly unavailable, or busy):
# the same call may succeed a moment later. Every other refusal would be repeated.
TRANSIENT_CODES = frozenset({"WRITE_UNAVAILABLE", "WRITE_CONTENDED", "POLICY_UNAVAILABLE", "QUERY_UNAVAILABLE"})
# Errors of a reused keep-alive connection that the server closed while it was idle (Node closes them after 5 s).
_STALE_CONNECTION = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, http.client.RemoteDisconnected)


class CallFailed(Exception):
    """A call that did not get through; `transient` when the same call may succeed if tried again."""

    def __init__(self, reason, transient=False):
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


class _SessionGone(Exception):
    """The server no longer knows our MCP session (404): it restarted, or closed the session as idle."""


class McpClient:
    def __init__(self, url, token=None, connect_timeout=2.0, request_timeout=5.0, version="0"):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL: %r" % url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number, here rather than mid-run)
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        self._token = token
        self._connect_timeout = connect_timeout
        self._request_timeout = request_timeout
        self._version = version
        self._conn = None
        self._session = None
        self._protocol = None
        self._next_id = 0

    def call_tool(self, name, arguments):
        """The tool's structuredContent; raises CallFailed."""
        for tries_left in (1, 0):
            try:
                if self._session is None:
                    self._initialize()
                result = self._rpc("tools/call", {"name": name, "arguments": arguments})[0]
                break
            except _SessionGone:  # a new MCP session, once
                if not tries_left:
                    raise CallFailed("%s: HTTP 404: the server closed the new MCP session at once" % name)
        if result.get("isError"):
            refusal = (result.get("_meta") or {}).get(REFUSAL_META_KEY) or {}
            code = refusal.get("code") or "TOOL_ERROR"
            message = refusal.get("message") or _text_of(result)
            raise CallFailed("%s refused: [%s] %s" % (name, code, _one_line(message)), transient=code in TRANSIENT_CODES)
        return result.get("structuredContent") or {}

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _initialize(self):
        self._session = self._protocol = None
        params = {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "mcp-pytest-plugin", "version": self._version},
        }
        result, headers = self._rpc("initialize", params)
        self._session = headers.get("Mcp-Session-Id")
        self._protocol = result.get("protocolVersion") or PROTOCOL_VERSION
        self._rpc("notifications/initialized", None)

    def _rpc(self, method, params):
        """(result, response headers) of a request; (None, headers) for a notification (params None)."""
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            self._next_id += 1
            message["id"] = self._next_id
            message["params"] = params
        status, headers, body = self._post(json.dumps(message, ensure_ascii=False).encode("utf-8"))
        if status == 404 and self._session is not None:
            self._session = None
            raise _SessionGone()
        if params is None and status in (200, 202):
            return None, headers
        if status != 200:
            # 429 and 5xx (the server's body budget, a restart) may pass; 401/403/404 will not.
            raise CallFailed("%s: HTTP %d%s" % (method, status, _http_detail(body)), transient=status == 429 or status >= 500)
        reply = _reply(headers.get("Content-Type") or "", body, message.get("id"))
        if reply is None:
            raise CallFailed("%s: no JSON-RPC answer in the response" % method)
        if "error" in reply:
            error = reply["error"] or {}
            raise CallFailed("%s: JSON-RPC error %s: %s" % (method, error.get("code"), _one_line(str(error.get("message")))))
        return reply.get("result") or {}, headers

    def _headers(self):
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "User-Agent": "mcp-pytest-plugin/%s" % self._version,
        }
        if self._token:
            headers["Authorization"] = "Bearer " + self._token
        if self._session:
            headers["Mcp-Session-Id"] = self._session
        if self._protocol:
            headers["MCP-Protocol-Version"] = self._protocol
        return headers

    def _post(self, body):
        reused = self._conn is not None
        if not reused:
            self._connect()
        try:
            self._conn.request("POST", self._path, body, self._headers())
            response = self._conn.getresponse()
            data = response.read()
        except socket.timeout:
            self.close()
            # Not worth a second try: a server this slow would only cost the run more.
            raise CallFailed("no answer within %g s" % self._request_timeout)
        except _STALE_CONNECTION as error:
            self.close()
            if reused:  # the server closed the idle connection: a new one, once (every call is idempotent)
                return self._post(body)
            raise CallFailed("connection lost (%s)" % _describe(error), transient=True)
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise CallFailed(_describe(error))
        if response.will_close:
            self.close()
        return response.status, response.headers, data

    def _connect(self):
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = kind(self._host, self._port, timeout=self._connect_timeout)
        try:
            conn.connect()
        except socket.timeout:
            conn.close()
            raise CallFailed("could not connect within %g s" % self._connect_timeout)
        except OSError as error:
            conn.close()
            raise CallFailed(_describe(error))
        # The connect timeout bounds the handshake; each request then gets its own, longer bound.
        conn.sock.settimeout(self._request_timeout)
        self._conn = conn


def _reply(content_type, body, request_id):
    """The JSON-RPC response to `request_id`, from a JSON body or from an SSE stream's events."""
    text = body.decode("utf-8", "replace")
    if content_type.split(";")[0].strip().lower() == "text/event-stream":
        messages = [json.loads(data) for data in _sse_data(text)]
    else:
        parsed = json.loads(text) if text.strip() else None
        messages = parsed if isinstance(parsed, list) else [parsed]
    for message in messages:
        if isinstance(message, dict) and message.get("id") == request_id and ("result" in message or "error" in message):
            return message
    return None


def _sse_data(text):
    """The data of each event. Split on \\n only: JSON may hold U+2028, which str.splitlines() would split on."""
    data = []
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line:
            if data:
                yield "\n".join(data)
            data = []
        elif line.startswith("data:"):
            data.append(line[6:] if line.startswith("data: ") else line[5:])
    if data:
        yield "\n".join(data)


def _http_detail(body):
    try:
        message = json.loads(body.decode("utf-8"))["error"]["message"]
        return ": " + _one_line(str(message))
    except Exception:
        return ""


def _text_of(result):
    return " ".join(c.get("text", "") for c in result.get("content") or [] if isinstance(c, dict))


def _describe(error):
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    return _one_line(str(error)) or type(error).__name__


def _one_line(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
