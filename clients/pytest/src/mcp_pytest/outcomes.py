"""pytest reports as record_test_outcomes items, with pytest's own semantics, inside the server's bounds.

One item the server refuses refuses its whole batch, so every field is made valid here: clipped where
the server would refuse it, never left out.
"""

import math

OUTCOMES = ("passed", "failed", "skipped", "error", "xfailed", "xpassed")
NODEID_UNITS = 4096  # the server refuses longer node ids (and location paths, domains), in UTF-16 units
ERROR_BYTES = 4 * 1024  # the crash message; a session view keeps 4 KiB of it anyway
LONGREPR_BYTES = 16 * 1024  # the traceback, head and tail (where the assertion is)
MAX_SECONDS = 31536000.0  # one year: the server's bound on a duration


def outcome_of(category, report):
    """The outcome to record for a report pytest counted under `category`; None for one it does not count.

    The category comes from pytest_report_teststatus, the hook pytest's terminal summary counts by, so the
    recorded counts are pytest's own: xfail/xpass from the skipping plugin, "rerun" from pytest-rerunfailures.
    """
    if category in OUTCOMES:
        return category
    if category == "rerun":  # an attempt that is run again: recorded under its attempt, replaced by the next
        return "failed" if report.when == "call" else "error"
    if not category:  # a passed setup or teardown
        return None
    # Another plugin's own category: go by the report itself.
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    if report.when != "call":
        return {"failed": "error", "skipped": "skipped"}.get(report.outcome)
    return report.outcome if report.outcome in OUTCOMES else "failed"


def default_category(report):
    """pytest's own category where its terminal plugin, which holds the hook's default, is off (-p no:terminal)."""
    if report.when == "call":
        return report.outcome
    return {"failed": "error", "skipped": "skipped"}.get(report.outcome, "")


def subtest_nodeid(report):
    """The node id of a subtest's report as pytest's summary names it, "<test's node id> [msg] (k=v, …)";
    None for any other report. (pytest ≥ 9's subtests fixture; pytest-subtests reports the same way.)"""
    context = getattr(report, "context", None)
    if not (hasattr(context, "msg") and hasattr(context, "kwargs")):
        return None
    describe = getattr(report, "_sub_test_description", None)  # pytest's own words, where it has them
    if callable(describe):
        description = describe()
    else:
        parts = ["[%s]" % context.msg] if context.msg is not None else []
        if context.kwargs:
            parts.append("(%s)" % ", ".join("%s=%r" % item for item in context.kwargs.items()))
        description = " ".join(parts) or "(<subtest>)"
    return "%s %s" % (report.nodeid, description)


def item_of(report, outcome, when, attempt, nodeid=None):
    item = {
        "nodeid": clip_units(nodeid or report.nodeid or "(collection)", NODEID_UNITS),
        "outcome": outcome,
        "duration": seconds(getattr(report, "duration", 0)),
        "when": when,
        "attempt": attempt,
    }
    message = message_of(report, outcome)
    if message:
        item["error"] = clip_bytes(message, ERROR_BYTES)
    if outcome in ("failed", "error"):
        text = longrepr_text(report)
        if text:
            item["longrepr"] = clip_bytes(text, LONGREPR_BYTES)
    location = location_of(report)
    if location:
        item["location"] = location
    return item


def message_of(report, outcome):
    """One line of why: the crash message of a failure, the reason of a skip or an xfail."""
    if outcome in ("xfailed", "xpassed") and getattr(report, "wasxfail", None):
        return str(report.wasxfail)
    longrepr = report.longrepr
    if longrepr is None:
        return None
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, lineno, "Skipped: reason")
        return str(longrepr[2])
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return str(crash.message)
    lines = [line for line in longrepr_text(report).splitlines() if line.strip()]
    return lines[-1].strip() if lines else None


def longrepr_text(report):
    try:
        return report.longreprtext
    except Exception:  # a plugin's own longrepr that cannot render itself
        return str(report.longrepr)


def location_of(report):
    location = getattr(report, "location", None)
    if not location or len(location) != 3 or location[0] is None:
        return None
    path, lineno, domain = location
    result = {"path": clip_units(str(path), NODEID_UNITS)}
    result["lineno"] = lineno if isinstance(lineno, int) and lineno >= 0 else None
    if domain is not None:
        result["domain"] = clip_units(str(domain), NODEID_UNITS)
    return result


def summary_of(stats, exitstatus, duration):
    """pytest's summary line as record_session_finish takes it; `stats` as the terminal reporter keeps them."""

    def count(category):
        return sum(1 for report in stats.get(category, ()) if getattr(report, "count_towards_summary", True))

    counts = {name: count(category) for name, category in
              (("passed", "passed"), ("failed", "failed"), ("skipped", "skipped"),
               ("errors", "error"), ("xfailed", "xfailed"), ("xpassed", "xpassed"))}
    return {
        "total_tests": sum(counts.values()),
        "passed": counts["passed"],
        "failed": counts["failed"],
        "skipped": counts["skipped"],
        "exitstatus": int(exitstatus),
        "errors": counts["errors"],
        "xfailed": counts["xfailed"],
        "xpassed": counts["xpassed"],
        "duration": seconds(duration),
    }


def seconds(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.0
    if math.isnan(value) or value < 0:
        return 0.0
    return round(min(value, MAX_SECONDS), 6)


def text(value):
    """Text that encodes as UTF-8: a lone surrogate (from undecodable bytes) is kept as its escape."""
    value = str(value)
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")


def described(error):
    """An error for the one line at the end of a run: its type and the start of its message (a repr may run
    to pages, and may hold text that the terminal cannot show)."""
    return "%s: %s" % (type(error).__name__, " ".join(text(error).split())[:200])


def units(value):
    """The length of a str as the server counts it (zod's .max, JavaScript's .length): UTF-16 code units,
    two for a character beyond the BMP. By code points, one long astral node id would refuse its batch."""
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


def head_units(value, limit):
    """The longest start of `value` of at most `limit` UTF-16 units (never half a character)."""
    used = 0
    for index, char in enumerate(value):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return value[:index]
    return value


def clip_units(value, limit):
    """At most `limit` UTF-16 units: the head and the tail around "…" (a node id's end says which case it is)."""
    value = text(value)
    if units(value) <= limit:
        return value
    room = limit - 1  # "…" is one unit
    tail = head_units(value[::-1], room - room // 2)[::-1]
    return head_units(value, room // 2) + "…" + tail


def clip_bytes(value, limit):
    """At most `limit` UTF-8 bytes: the head and the tail around a note of what was cut."""
    value = text(value)
    data = value.encode("utf-8")
    if len(data) <= limit:
        return value
    marker = "\n… [clipped by mcp-pytest from %d bytes] …\n" % len(data)
    room = limit - len(marker.encode("utf-8"))
    head = data[: room // 2].decode("utf-8", "ignore")
    tail = data[len(data) - (room - room // 2):].decode("utf-8", "ignore")
    return head + marker + tail
