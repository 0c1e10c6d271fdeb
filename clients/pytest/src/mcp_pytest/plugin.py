"""The pytest plugin: options, and a recorder that sends the session to an mcp-pytest server.

Only the process that runs the session reports (pytest-xdist's controller, never its workers): every
report reaches it through pytest_runtest_logreport, so a run is one session whatever -n says.
"""

import contextlib
import os
import platform
import re
import sys
import time
import uuid

import pytest

from . import __version__
from .ci import detect_ci
from .mcp_client import McpClient
from .outcomes import OUTCOMES, clip_units, default_category, described, item_of, outcome_of, subtest_nodeid, summary_of, text
from .sender import Sender, batches, write_spool

CONNECT_TIMEOUT = 2.0  # seconds to open a connection to the server
REQUEST_TIMEOUT = 5.0  # seconds one call may take (off the test thread)
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")

# (option, metavar, variable, default, help)
_OPTIONS = (
    ("--mcp-url", "URL", "MCP_PYTEST_URL", None, "MCP endpoint to record the session to, e.g. http://127.0.0.1:3000/mcp (off without it)"),
    ("--mcp-token", "KEY", "MCP_PYTEST_TOKEN", None, "bearer key sent as Authorization: Bearer KEY (prefer the variable: a flag shows in ps)"),
    ("--mcp-session-id", "ID", "MCP_PYTEST_SESSION_ID", None, "session id (1-128 of A-Z a-z 0-9 _ -; default: pytest-<random hex>)"),
    ("--mcp-project", "NAME", "MCP_PYTEST_PROJECT", None, "project name (default: the rootdir's name)"),
    ("--mcp-batch-size", "N", "MCP_PYTEST_BATCH_SIZE", "200", "outcomes per call, 1-1000 (default 200)"),
    ("--mcp-flush-interval", "SECONDS", "MCP_PYTEST_FLUSH_INTERVAL", "1", "seconds an outcome may wait for its batch to fill (default 1)"),
    ("--mcp-timeout", "SECONDS", "MCP_PYTEST_TIMEOUT", "2", "seconds the end of the run waits for the server at most (default 2)"),
    ("--mcp-spool", "PATH", "MCP_PYTEST_SPOOL", None,
     "where the session's calls go when the server cannot take them (default: <rootdir>/.mcp-pytest/spool-<session id>.jsonl)"),
)


def pytest_addoption(parser):
    group = parser.getgroup("mcp-pytest", "record the session to an mcp-pytest server")
    for flag, metavar, variable, _default, help_text in _OPTIONS:
        group.addoption(flag, dest=_dest(flag), default=None, metavar=metavar, help="%s [env %s]" % (help_text, variable))


def pytest_configure(config):
    if hasattr(config, "workerinput"):  # an xdist worker: its controller reports
        return
    if config.getoption("collectonly", False):  # nothing runs: no session to record
        return
    try:
        settings = _settings(config)
    except _Malformed as error:
        if error.source.startswith("--"):  # given for this run: the caller is there to fix it
            raise pytest.UsageError("mcp-pytest: %s" % error)
        # A variable is set for every job (org-wide in CI, say): one typo must not fail them all.
        config.pluginmanager.register(_Notice("mcp-pytest: %s; not recording this run" % error), "mcp_pytest_notice")
        return
    if settings:
        config.pluginmanager.register(Recorder(config, settings), "mcp_pytest_recorder")


class _Malformed(ValueError):
    """A setting's value that is not valid, from `source` (its flag or its variable)."""

    def __init__(self, source, must, value):
        super().__init__("%s must be %s, not %r" % (source, must, value))
        self.source = source


def _dest(flag):
    return flag[2:].replace("-", "_")


def _settings(config):
    """The options, each from its flag, else its variable, else its default; None without a URL (the plugin is off)."""
    values = {}
    for flag, _metavar, variable, default, _help in _OPTIONS:
        value = config.getoption(_dest(flag))
        values[flag] = (value, flag) if value is not None else (os.environ.get(variable) or default, variable)

    def number(flag, kind, low, high):
        raw, source = values[flag]
        try:
            value = kind(raw)
            if low <= value <= high:
                return value
        except (TypeError, ValueError):
            pass
        raise _Malformed(source, "a number from %g to %g" % (low, high), raw)

    url, source = values["--mcp-url"]
    if not url:
        return None
    try:
        McpClient(url)
    except ValueError:
        raise _Malformed(source, "an http(s) URL such as http://127.0.0.1:3000/mcp", url)
    session_id, source = values["--mcp-session-id"]
    if session_id and not SESSION_ID.match(session_id):
        raise _Malformed(source, "1-128 of A-Z a-z 0-9 _ -", session_id)
    return {
        "url": url,
        "token": values["--mcp-token"][0],
        "session_id": session_id or "pytest-" + uuid.uuid4().hex,
        "project": values["--mcp-project"][0],
        "batch_size": number("--mcp-batch-size", int, 1, 1000),
        "flush_interval": number("--mcp-flush-interval", float, 0, 3600),
        "timeout": number("--mcp-timeout", float, 0, 3600),
        "spool": values["--mcp-spool"][0],
    }


class _Notice:
    """The plugin's one line, told at the end of the run: in pytest's terminal summary, else on stderr."""

    def __init__(self, line=None):
        self.line = line
        self._told = False

    def pytest_terminal_summary(self, terminalreporter):
        self._tell(terminalreporter.write_line)

    def pytest_unconfigure(self, config):
        # Where no terminal summary was shown (an internal error, -p no:terminal).
        self._tell(lambda line: sys.stderr.write(line + "\n"))

    def _tell(self, write):
        if self.line and not self._told:
            self._told = True
            write(self.line)


class Recorder(_Notice):
    def __init__(self, config, settings):
        super().__init__()
        self.config = config
        self.settings = settings
        self.session_id = settings["session_id"]
        self.internal_error = None
        self._start = None
        self._outcomes = []  # every outcome, for a spool that reproduces the whole session
        self._attempt = {}  # nodeid -> the attempt running now (pytest-rerunfailures runs a test again)
        self._sent = {}  # (nodeid, when) -> the last attempt recorded for that phase
        self._subtests = {}  # (subtest's node id, attempt of its test) -> how many were recorded under it
        self._stats = {}  # category -> reports, where there is no terminal reporter to count them
        self._started_at = time.time()
        client = McpClient(settings["url"], settings["token"], CONNECT_TIMEOUT, REQUEST_TIMEOUT, __version__)
        self._sender = Sender(client, self.session_id, settings["batch_size"], settings["flush_interval"])

    def pytest_sessionstart(self, session):
        with self._guard("pytest_sessionstart"):
            self._started_at = time.time()
            start = {
                "session_id": self.session_id,
                "environment": _environment(self.config),
                "project": clip_units(self.settings["project"] or os.path.basename(str(self.config.rootpath)) or "pytest", 128),
            }
            ci = detect_ci(os.environ)
            if ci:
                start["ci"] = ci
            self._sender.start(start)
            # Last: a set start means a running thread, which the finish waits for (else --mcp-timeout in vain).
            self._start = start

    def pytest_runtest_logreport(self, report):
        with self._guard("pytest_runtest_logreport"):
            nodeid, when = report.nodeid, report.when
            if when != "call" and report.passed and (nodeid, when) not in self._sent:
                return  # the usual passed setup or teardown: it counts for nothing (and this is the hot path)
            status = self.config.hook.pytest_report_teststatus(report=report, config=self.config)
            category = status[0] if status else default_category(report)
            self._count(category, report)
            attempt = self._attempt.get(nodeid, 1)
            subtest = subtest_nodeid(report)
            if subtest is not None:
                self._record_subtest(report, category, subtest, attempt)
                return
            if category == "rerun":
                self._attempt[nodeid] = attempt + 1
            outcome = outcome_of(category, report)
            if outcome is None:
                # A passed setup or teardown counts for nothing, but after a rerun of that phase it must replace
                # the earlier attempt's error, which the server would count otherwise.
                if (nodeid, when) not in self._sent or report.outcome != "passed":
                    return
                outcome = "passed"
            self._record(item_of(report, outcome, when, self._attempt_for(nodeid, when, attempt)))

    def pytest_collectreport(self, report):
        with self._guard("pytest_collectreport"):
            # A module that fails to import is one error in pytest's summary; one skipped as a whole, one skip.
            if report.failed or report.skipped:
                category = "error" if report.failed else "skipped"
                self._count(category, report)
                nodeid = report.nodeid or "(collection)"
                self._record(item_of(report, category, "setup", self._attempt_for(nodeid, "setup", 1)))

    @pytest.hookimpl(trylast=True)  # after the other plugins: session.exitstatus is final
    def pytest_sessionfinish(self, session, exitstatus):
        with self._guard("pytest_sessionfinish"):
            if self._start is None:
                return
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            stats = reporter.stats if reporter is not None else self._stats
            summary = summary_of(stats, getattr(session, "exitstatus", exitstatus), time.time() - self._started_at)
            finish = {"session_id": self.session_id, "summary": summary}
            url = self.settings["url"]
            if self._sender.finish(finish, self.settings["timeout"]) and not self.internal_error:
                self.line = 'mcp-pytest: session %s recorded at %s — read it with get_session {"session_id": "%s"}' % (
                    self.session_id, url, self.session_id)
                return
            reason = self._sender.failure or "internal error in %s" % self.internal_error
            calls = [("record_session_start", self._start)]
            calls += [("record_test_outcomes", {"session_id": self.session_id, "outcomes": batch})
                      for batch in batches(self._outcomes, self.settings["batch_size"])]
            calls.append(("record_session_finish", finish))
            path = os.path.abspath(self.settings["spool"] or os.path.join(str(self.config.rootpath), ".mcp-pytest", "spool-%s.jsonl" % self.session_id))
            try:
                write_spool(path, url, self.session_id, calls)
            except (OSError, ValueError) as error:  # ValueError: text that JSON cannot encode
                self.line = "mcp-pytest: could not record to %s (%s); could not write the spool %s either (%s)" % (
                    url, reason, path, described(error))
                return
            self.line = "mcp-pytest: could not record to %s (%s); %d calls spooled to %s — send them later with: npx mcp-pytest upload %s" % (
                url, reason, len(calls), path, path)

    def _tell(self, write):
        if self.line is None and self.internal_error:
            self.line = "mcp-pytest: could not record the session (internal error in %s)" % self.internal_error
        super()._tell(write)

    @contextlib.contextmanager
    def _guard(self, hook):
        """Never lets an error of ours reach pytest, which would end the run as an internal error (exit status 3).

        (A decorator would hide the hook's argument names from older pluggy, which reads them off the function.)
        """
        try:
            yield
        except Exception as error:
            self.internal_error = self.internal_error or "%s: %s" % (hook, described(error))

    def _record_subtest(self, report, category, nodeid, attempt):
        """A subtest under a node id of its own, in the attempt of its test (a rerun runs it again).

        Recorded only where pytest's summary counts it among the six outcomes: a failed subtest always; a
        passed, skipped or xfailed one only with -v or -q ("subtests passed" is a category of its own, and
        at the default verbosity those three are no category at all).
        """
        if category not in OUTCOMES and category != "rerun":
            return
        # The same name twice in one run of the test counts twice in pytest: a second one must not replace it.
        seen = self._subtests[(nodeid, attempt)] = self._subtests.get((nodeid, attempt), 0) + 1
        if seen > 1:
            nodeid = "%s #%d" % (nodeid, seen)
        item = item_of(report, outcome_of(category, report), "call", self._attempt_for(nodeid, "call", attempt), nodeid)
        self._record(item)

    def _record(self, item):
        self._outcomes.append(item)
        self._sender.add(item)

    def _attempt_for(self, nodeid, when, attempt):
        # A node id that runs twice in one session (--keep-duplicates, a plugin running tests again without
        # saying "rerun") is recorded as a later attempt: the same attempt with other content would be refused.
        attempt = max(attempt, self._sent.get((nodeid, when), 0) + 1)
        self._sent[(nodeid, when)] = attempt
        return min(attempt, 1000)

    def _count(self, category, report):
        self._stats.setdefault(category, []).append(report)


def _environment(config):
    return {
        "os": clip_units(platform.system() or "unknown", 200),
        "python_version": clip_units(platform.python_version(), 100),
        "pytest": pytest.__version__,
        "platform": clip_units(platform.platform(), 512),
        "implementation": platform.python_implementation(),
        "plugins": _plugins(config),
    }


def _plugins(config, limit=100, chars=8 * 1024):
    """Installed plugins as pytest's header names them ("xdist-3.1.0"), bounded: the environment must stay under 16 KiB."""
    names = set()
    for _plugin, dist in config.pluginmanager.list_plugin_distinfo():
        name = getattr(dist, "project_name", None) or dist.metadata["name"]
        name = name[len("pytest-"):] if name.startswith("pytest-") else name
        names.add(clip_units(text("%s-%s" % (name, dist.version)), 200))
    plugins, used = [], 0
    for name in sorted(names)[:limit]:
        used += len(name) + 4
        if used > chars:
            break
        plugins.append(name)
    return plugins
