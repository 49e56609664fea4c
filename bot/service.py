"""The running bot (`studybot run`, started by bot/startup.py): every configured channel, the HTTP server
and the scheduler in one asyncio process.

Start-up order is chosen for a fast first getUpdates: Telegram polling starts at once while the content
model (jieba's dictionary) loads in a thread; updates that arrive meanwhile wait for it.

The channels' start-up steps are in bot/wiring.py (`ChannelWiring`, which this class builds on); here the
order, the jobs' loops and the shutdown.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import signal
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from bot.core.actions import Actions
from bot.core.config import Config
from bot.core.faults import Faults
from bot.core.health import Health
from bot.core.metrics import Metrics
from bot.core.storage import Storage
from bot.wiring import ChannelWiring

logger = logging.getLogger(__name__)

#: Seconds between two looks for group quiz rounds whose question's time is up.
ROUNDS_TICK = 2.0


def _trim_heap() -> None:
    """Give the memory the model build freed back to the OS: glibc keeps it otherwise (~6 MB)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


class Service(ChannelWiring):
    """All the parts of a running bot."""

    def __init__(
        self, config: Config, storage: Storage, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ):
        self.config = config
        self.storage = storage
        self.clock = clock
        self.stop = asyncio.Event()
        self.broadcast_wake = asyncio.Event()
        self.senders: dict = {}
        self.telegram = None
        self.actions_ready: asyncio.Future[Actions] | None = None
        self.http_client: httpx.AsyncClient | None = None
        self.http_server = None
        self.tasks: list[asyncio.Task] = []
        # One for every channel and job: a full disk is logged once a minute and told to the admins (on
        # Telegram) once an hour, however many messages hit it. On the service's clock, which tests move.
        self.faults = Faults(clock=lambda: self.clock().timestamp())
        #: What /healthz reports: each channel's check, and problems while they last (a 409 Conflict).
        self.health = Health()
        #: What /metrics shows.
        self.metrics = Metrics()
        self.metrics.read_at_scrape(self._live_gauges)

    def _live_gauges(self) -> dict[str, tuple[str, float]]:
        """The gauges /metrics reads from the database when scraped (one indexed count each)."""
        now = int(self.clock().timestamp())
        return {
            "studybot_due_chats": (
                "Subscribed chats whose daily lesson is due now",
                self.storage.count_due(now),
            ),
            "studybot_due_reminders": (
                "Chats whose study reminder is due now (sent, or skipped if studied, by the next tick)",
                self.storage.count_due_reminders(now),
            ),
            "studybot_broadcast_queue_depth": (
                "Recipients of broadcasts being sent still to be sent",
                self.storage.queued_recipients(),
            ),
        }

    async def get_actions(self) -> Actions:
        """The actions, waiting for the content model if it is still loading."""
        return await asyncio.shield(self.actions_ready)

    async def serve(self) -> None:
        """Start everything, wait for a stop signal, shut down cleanly."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop.set)
        await self.start()
        await self.stop.wait()
        await self.shutdown()

    async def start(self) -> None:
        """Start the channels, the HTTP server and the scheduler."""
        loop = asyncio.get_running_loop()
        self.actions_ready = loop.create_future()
        from bot.core.catalog import Catalog
        from content import load_model, read_text
        from content.terms import release_build_caches

        self.http_client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
        self.health.set("content", "loading the speech")
        if self.config.telegram_enabled:
            await self._start_telegram()
        self._setup_robots()
        if self.config.wecom_app_enabled:
            await self._start_wecom_app()
        if self.config.telegram_webhook:
            # Updates come by HTTP: listen now, and they wait for the model like polled ones would.
            await self._start_http()
            await self._set_webhook()
        # Only now: loading jieba holds the GIL most of the time, and polling should not wait for it.
        text = read_text(self.config.content_path)
        model = await loop.run_in_executor(None, load_model, self.config.content_path)
        release_build_caches()  # the model keeps its own small tokenizer; the build's caches can go
        gc.collect()
        _trim_heap()
        catalog = Catalog.for_configured(self.storage, text, model, self.config.content_path, self.clock())
        self.metrics.models.set_function(catalog.loaded)
        actions = Actions(self.storage, catalog, self.config, robot_count=len(self.config.wecom_webhooks))
        self.actions_ready.set_result(actions)
        self.health.clear("content")
        if self.http_server is None:
            # After the model: /healthz says ok when the bot can answer, and importing aiohttp.web
            # (0.3–0.4 s of CPU) no longer delays the replies to messages that came while it started.
            await self._start_http()
        self._start_jobs(actions)
        logger.info("studybot is running: %s", ", ".join(sorted(self.senders)) or "no senders")

    def _start_jobs(self, actions: Actions) -> None:
        from bot.core import schedule
        from bot.metered import metered
        from jobs.daily import DailyPush
        from jobs.pacing import Pacer
        from jobs.reminders import Reminders

        self.pacer = Pacer(self.config.broadcast_rate)
        senders = metered(self.senders, self.metrics, "push")
        self.daily = DailyPush(self.storage, actions, senders, self.pacer, schedule)
        # Study reminders go to people and groups; the WeCom robots have no people, so get none.
        people = metered({k: v for k, v in self.senders.items() if k != "robot"}, self.metrics, "reminder")
        self.reminders = Reminders(self.storage, actions, people, self.pacer, schedule)
        self.weekly = self._weekly_job(actions)
        self.tasks.append(asyncio.create_task(self._daily_loop()))
        self.tasks.append(asyncio.create_task(self._broadcast_loop()))
        if self.telegram is not None:
            self.tasks.append(asyncio.create_task(self._rounds_loop(actions)))

    def wake_broadcasts(self, broadcast_id: int | None = None) -> None:
        """A broadcast was confirmed: start sending now rather than at the next poll."""
        self.broadcast_wake.set()

    async def _sleep(self, seconds: float, event: asyncio.Event | None = None) -> None:
        """Sleep on the monotonic clock, waking early on stop (or on `event`)."""
        waiters = [asyncio.ensure_future(self.stop.wait())]
        if event is not None:
            waiters.append(asyncio.ensure_future(event.wait()))
        done, pending = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()

    async def _daily_loop(self) -> None:
        # A plain loop on the monotonic clock rather than a wall-clock interval trigger: if the system
        # clock is stepped (NTP, or moved on purpose), every tick still asks the database what is due now.
        self.daily.settle_interrupted(self.clock())
        self.reminders.settle_interrupted(self.clock())
        while not self.stop.is_set():
            try:
                report = await self.daily.tick(self.clock())
                for outcome in ("sent", "blocked", "failed"):
                    if getattr(report, outcome):
                        self.metrics.daily_pushes.labels(outcome).inc(getattr(report, outcome))
                if report.failed:
                    # What went wrong, counted: "TemporaryError × 812"; each chat is tried again later.
                    kinds = Counter(error.rpartition(": ")[2] for error in report.errors)
                    logger.warning(
                        "daily push: %d sent, %d blocked, %d failed (%s); the failed are tried again shortly",
                        report.sent,
                        report.blocked,
                        report.failed,
                        ", ".join(f"{kind} × {n}" for kind, n in kinds.most_common()),
                    )
                elif report.sent or report.blocked:
                    logger.info("daily push: %d sent, %d blocked", report.sent, report.blocked)
            except Exception as exc:
                self.faults.report(exc, "the daily push")
            await self._remind()
            await self._weekly()
            await self._sleep(self.config.tick_seconds)

    def _weekly_job(self, actions: Actions):
        """The weekly summary to every bot admin (Telegram) and every WeCom robot."""
        from bot.core.actions.reports import WeeklyMessages
        from bot.core.storage import robot_chat_key
        from bot.metered import metered
        from jobs.weekly import WeeklySummary

        member_count = self.telegram.member_count if self.telegram else None
        messages = WeeklyMessages(
            self.storage, self.config.tzinfo, lambda: actions.areas(None).admin, member_count
        )
        recipients = [f"tg:{admin}" for admin in self.config.admins]
        recipients += [robot_chat_key(url) for url in self.config.wecom_webhooks]
        senders = metered(
            {k: v for k, v in self.senders.items() if k in ("tg", "robot")}, self.metrics, "weekly"
        )
        return WeeklySummary(self.storage, messages, senders, recipients)

    async def _weekly(self) -> None:
        """The weekly summary, in the daily push's tick: due on Mondays from 09:00 (jobs/weekly.py)."""
        try:
            done = await self.weekly.tick(self.clock())
            if done.sent or done.failed or done.retry:
                logger.info(
                    "weekly summary: %d sent, %d failed, %d to retry", done.sent, done.failed, done.retry
                )
        except Exception as exc:
            self.faults.report(exc, "the weekly summary")

    async def _remind(self) -> None:
        """The study reminders due now (jobs/reminders.py), in the daily push's tick: one indexed query."""
        try:
            done = await self.reminders.tick(self.clock())
            for outcome in ("sent", "skipped", "blocked", "failed"):
                if getattr(done, outcome):
                    self.metrics.reminders.labels(outcome).inc(getattr(done, outcome))
            if done.sent or done.blocked or done.failed:
                logger.info("reminders: %d sent, %d blocked, %d failed", done.sent, done.blocked, done.failed)
        except Exception as exc:
            self.faults.report(exc, "the study reminders")

    async def rounds_tick(self, now: datetime) -> int:
        """Group quiz rounds whose question's time is up (bot/core/actions/quizzes.py) move on: the next
        question or the scoreboard goes out; how many moved. Time is the argument: tests pass their clock."""
        actions = await self.get_actions()
        moved = await actions.overdue_rounds(now)
        for chat_key, outs in moved:
            if chat_key.startswith("tg:") and self.telegram is not None:
                await self.telegram.send(int(chat_key.split(":", 1)[1]), outs)
        return len(moved)

    async def _rounds_loop(self, actions: Actions) -> None:
        # Every ROUNDS_TICK s one indexed query (idx_quiz_sessions_deadline): a round's question ends at
        # most that much after its 60 s, and a round left by a restart moves on after it.
        while not self.stop.is_set():
            try:
                await self.rounds_tick(self.clock())
            except Exception as exc:
                self.faults.report(exc, "the quiz rounds")
            await self._sleep(ROUNDS_TICK)

    async def _broadcast_loop(self) -> None:
        from bot.core.actions import BroadcastMessages
        from bot.metered import metered
        from jobs.broadcast import BroadcastRunner

        senders = metered(self.senders, self.metrics, "broadcast")
        runner = BroadcastRunner(self.storage, BroadcastMessages(), senders, self.pacer, now=self.clock)
        while not self.stop.is_set():
            self.broadcast_wake.clear()
            for broadcast in self.storage.unfinished_broadcasts():
                if broadcast["state"] == "sending":
                    try:
                        await runner.run(broadcast["id"])
                    except Exception as exc:
                        self.faults.report(exc, f"broadcast {broadcast['id']}")
            await self._sleep(5.0, self.broadcast_wake)

    async def shutdown(self) -> None:
        """Stop polling, jobs and servers; in-flight work is recorded so a restart resumes it.

        The jobs start no new send, and the sends they have in flight finish and are recorded (up to
        DRAIN_SECONDS, then they are cut off): cut off at once, they went out again after the restart.
        Telegram's polling stops meanwhile, side by side, so an API that hangs costs those seconds once."""
        from jobs.inflight import DRAIN_SECONDS

        self.stop.set()
        for task in self.tasks:
            task.cancel()  # each job drains its sends in flight as it is cancelled
        if self.telegram:
            await self.telegram.stop_files()  # an export being made or uploaded: its process and files go
        await asyncio.gather(
            asyncio.wait(self.tasks, timeout=DRAIN_SECONDS + 1.5) if self.tasks else asyncio.sleep(0),
            self._stop_telegram(timeout=DRAIN_SECONDS),
        )
        if self.http_server:
            await self.http_server.stop()
        for sender in self.senders.values():
            aclose = getattr(sender, "aclose", None)
            if aclose is not None:
                await aclose()
        if self.http_client:
            await self.http_client.aclose()
        logger.info("studybot stopped")
