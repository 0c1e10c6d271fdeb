"""Sends a session's calls from a background thread, and writes them to a spool when the server cannot take them."""

import contextlib
import json
import os
import tempfile
import threading
import time

from .mcp_client import CallFailed
from .outcomes import described

MAX_BODY_BYTES = 900 * 1024  # one call's arguments, well under the server's 1 MiB event and 4 MiB body bounds
RETRY_PAUSES = (0.2, 0.5)  # pauses before trying a call again after a transient failure


def item_bytes(item):
    return len(json.dumps(item, ensure_ascii=False).encode("utf-8")) + 1


def batches(items, size):
    """Consecutive batches of at most `size` items and MAX_BODY_BYTES of JSON (an item is never split)."""
    batch, used = [], 0
    for item in items:
        cost = item_bytes(item)
        if batch and (len(batch) >= size or used + cost > MAX_BODY_BYTES):
            yield batch
            batch, used = [], 0
        batch.append(item)
        used += cost
    if batch:
        yield batch


class Sender:
    """Calls the server in order: the start, outcome batches (by size or after `interval` seconds), the finish.

    Outcomes are handed over in a list that the thread takes whole when a batch is full or due: waking it
    for every outcome would hand the GIL back and forth once per test, which costs a quick suite more than
    the sending itself. The thread is woken only when the list stops being empty, when it holds a batch,
    and at the finish; with nothing pending it waits without a timeout, so no interval (0 included) spins. The first call that fails opens the circuit: nothing more goes to the network for
    the rest of the run, so a server that is down or slow costs the run one timeout at most, and that off
    the test thread.
    """

    def __init__(self, client, session_id, batch_size, interval):
        self.failure = None  # why the server is no longer used, once a call failed
        self._client = client
        self._session_id = session_id
        self._batch_size = batch_size
        self._interval = interval
        self._start = None
        self._finish = None
        self._pending = []  # outcomes not yet taken by the thread
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mcp-pytest-sender", daemon=True)

    def start(self, start_arguments):
        self._start = start_arguments
        self._thread.start()

    def add(self, item):
        with self._lock:
            self._pending.append(item)
            count = len(self._pending)
        if count == 1 or count == self._batch_size:  # the interval starts now, or the batch is full
            self._wake.set()

    def finish(self, finish_arguments, wait):
        """Sends what is pending and the finish, waiting `wait` seconds at most; True when all of it was recorded."""
        self._finish = finish_arguments
        self._wake.set()
        if not self._done.wait(wait) and self.failure is None:
            self.failure = "no answer within %g s at the end of the run" % wait
        return self._done.is_set() and self.failure is None

    def _run(self):
        try:
            self._loop()
        except Exception as error:  # a bug here must not go unnoticed, nor stop pytest
            self.failure = self.failure or "internal error: %s" % described(error)
        finally:
            self._client.close()
            self._done.set()

    def _loop(self):
        self._send("record_session_start", self._start)
        while True:
            self._wait_until_due()
            # The finish is set after the last outcome was added: seen before the take, it follows all of them.
            finish = self._finish
            with self._lock:
                taken, self._pending = self._pending, []
            for batch in batches(taken, self._batch_size):
                self._send_batch(batch)
            if finish is not None:
                self._send("record_session_finish", finish)
                return

    def _wait_until_due(self):
        """Until what is pending is due: the interval after the first outcome arrived, or sooner when a batch
        is full or the run ends. Each condition is checked after the clear, so a wake that the clear swallows
        is not lost; a stale wake costs one empty round, never a spin."""
        self._wake.wait()  # set by the first pending outcome, a full batch or the finish
        self._wake.clear()
        due = time.monotonic() + self._interval
        while self._finish is None and len(self._pending) < self._batch_size:
            left = due - time.monotonic()
            if left <= 0:
                return
            self._wake.wait(left)
            self._wake.clear()

    def _send_batch(self, batch):
        self._send("record_test_outcomes", {"session_id": self._session_id, "outcomes": batch})

    def _send(self, tool, arguments):
        for pause in RETRY_PAUSES + (None,):
            if self.failure is not None:
                return
            try:
                self._client.call_tool(tool, arguments)
                return
            except CallFailed as error:
                if not error.transient or pause is None:
                    self.failure = error.reason
                    return
                time.sleep(pause)


def write_spool(path, url, session_id, calls):
    """The session's calls as JSON Lines, the format `mcp-pytest upload` reads; never the token."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # A file of our own beside it, renamed when complete: a reader never sees half a spool, and a spool
    # that could not be written (a full disk, text JSON cannot encode) leaves nothing behind.
    handle, partial = tempfile.mkstemp(prefix=".spool-", suffix=".partial", dir=folder)
    try:
        with open(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(json.dumps({"mcp_pytest_spool": 1, "url": url, "session_id": session_id}) + "\n")
            for tool, arguments in calls:
                out.write(json.dumps({"tool": tool, "arguments": arguments}, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())  # the spool is what is left of the session: on disk before it is named
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise
