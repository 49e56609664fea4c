"""What `/metrics` shows, in the Prometheus text format (prometheus-client), one registry per running bot.

Counted as it happens: messages sent and failed by channel, kind (reply, push, reminder, broadcast) and
reason, 429s, resends, daily pushes and study reminders by outcome, update → reply latency. Read when
scraped: due chats, due reminders and the broadcast queue (one indexed count each, through `gauges`),
content models loaded. A registry of its own rather than
prometheus-client's global one: tests run several bots in one process, and the process's own figures
(memory, CPU, open files) are added to it explicitly.

A failed send is counted when it fails: a 429 followed by a resend that goes through counts one
`failed{reason="rate_limited"}`, one `retries` and one `sent`.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

#: Reasons a send fails, by the class name of the exception a sender raised (jobs.interfaces).
REASONS = {
    "Blocked": "blocked",
    "Migrated": "migrated",
    "RetryLater": "rate_limited",
    "TemporaryError": "temporary",
    "PermanentError": "permanent",
}
#: Update → reply: most replies take a few milliseconds; a quiz or an export much longer.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def reason(exc: BaseException) -> str:
    """The `reason` label of a failed send."""
    return REASONS.get(type(exc).__name__, "error")


class _Live:
    """Gauges read when scraped: `gauges()` returns {name: (help, value)}."""

    def __init__(self, gauges: Callable[[], dict[str, tuple[str, float]]]):
        self.gauges = gauges

    def collect(self):
        for name, (text, value) in self.gauges().items():
            yield GaugeMetricFamily(name, text, value=value)

    def describe(self):
        return []  # values are read on collect only: registering must not query the database


class Metrics:
    """The bot's counters and histograms; `render()` is the /metrics body."""

    #: The classic text format every Prometheus reads (generate_latest writes it; newer versions of
    #: prometheus-client label it 1.0.0, which Prometheus before 3.0 does not take).
    content_type = "text/plain; version=0.0.4; charset=utf-8"

    def __init__(self, process: bool = True):
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.sent = Counter("studybot_messages_sent", "Messages sent", ["channel", "kind"], registry=r)
        self.failed = Counter(
            "studybot_messages_failed",
            "Sends that failed, by reason (blocked, rate_limited, temporary, permanent, migrated, error)",
            ["channel", "kind", "reason"],
            registry=r,
        )
        self.rate_limited = Counter(
            "studybot_rate_limited", "429 answers (WeCom: 45009)", ["channel"], registry=r
        )
        self.retries = Counter(
            "studybot_send_retries", "Sends made again after a failure", ["channel", "kind"], registry=r
        )
        self.daily_pushes = Counter(
            "studybot_daily_pushes",
            "Daily lessons by outcome (sent, blocked, failed)",
            ["outcome"],
            registry=r,
        )
        self.reminders = Counter(
            "studybot_reminders",
            "Study reminders by outcome (sent; skipped: the person had studied or it was too late; blocked, failed)",
            ["outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "studybot_update_reply_seconds",
            "From an update's arrival to the last message of its reply",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.models = Gauge("studybot_content_models_loaded", "Content models loaded", registry=r)
        if process:
            ProcessCollector(registry=r)

    def read_at_scrape(self, gauges: Callable[[], dict[str, tuple[str, float]]]) -> None:
        """Add gauges whose values `gauges()` reads when /metrics is asked (e.g. counts in the database)."""
        self.registry.register(_Live(gauges))

    def count_send(self, channel: str, kind: str, error: BaseException | None = None) -> None:
        """One send went out (`error` None) or failed."""
        if error is None:
            self.sent.labels(channel, kind).inc()
            return
        why = reason(error)
        self.failed.labels(channel, kind, why).inc()
        if why == "rate_limited":
            self.rate_limited.labels(channel).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of everything registered."""
        return generate_latest(self.registry)
