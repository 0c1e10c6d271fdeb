"""pytest reports as record_test_outcomes items, with pytest's own semantics, inside the server's bounds.

One item the server refuses refuses its whole batch, so every field is made valid here: clipped where
the server would refuse it, never left out.
"""

import math

OUTCOMES = ("passed", "failed", "skipped", "error", "xfailed", "xpassed")
NODEID_CHARS = 4096  # the server refuses longer node ids (and location paths, domains)
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


def item_of(report, outcome, when, attempt):
    item = {
        "nodeid": clip_chars(report.nodeid or "(collection)", NODEID_CHARS),
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
    result = {"path": clip_chars(str(path), NODEID_CHARS)}
    result["lineno"] = lineno if isinstance(lineno, int) and lineno >= 0 else None
    if domain is not None:
        result["domain"] = clip_chars(str(domain), NODEID_CHARS)
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


def clip_chars(value, limit):
    value = text(value)
    if len(value) <= limit:
        return value
    marker = "…"
    head = (limit - len(marker)) // 2
    return value[:head] + marker + value[len(value) - (limit - len(marker) - head):]


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
