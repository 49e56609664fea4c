"""Tests for jobs.pacing (on virtual time) and jobs.retry."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from collections.abc import Callable, Coroutine, Hashable
from typing import Any

import pytest

from jobs.pacing import Pacer, SlidingWindowCounter, in_flight, max_in_window
from jobs.retry import backoff_delay, backoff_delays


class VirtualTime:
    """A fake clock: sleepers wait on futures; time jumps to the earliest wake-up once all tasks sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        if delay <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self.now + delay, next(self._seq), fut))
        await fut

    async def run(self, coros: list[Coroutine[Any, Any, Any]]) -> list[Any]:
        """Run coroutines concurrently, advancing virtual time whenever every live task is asleep."""
        tasks = [asyncio.ensure_future(c) for c in coros]
        while True:
            await asyncio.sleep(0)
            live = sum(not t.done() for t in tasks)
            if live == 0:
                break
            if len(self._heap) == live:
                when, _, fut = heapq.heappop(self._heap)
                assert when >= self.now
                self.now = when
                fut.set_result(None)
        return [t.result() for t in tasks]


def make(rate: float, **kwargs: Any) -> tuple[VirtualTime, Pacer]:
    """Return a virtual clock and a pacer driven by it."""
    vt = VirtualTime()
    return vt, Pacer(rate, clock=vt.clock, sleep=vt.sleep, **kwargs)


async def send(
    vt: VirtualTime,
    pacer: Pacer,
    log: list[tuple[float, Hashable]],
    chat: Hashable,
    is_group: bool = False,
    after: Callable[[float], None] | None = None,
) -> float:
    """Acquire a slot, log the clock at the start and return it."""
    async with pacer.slot(chat, is_group) as start:
        assert start == pytest.approx(vt.now, abs=1e-6)
        log.append((vt.now, chat))
        if after is not None:
            after(vt.now)
    return vt.now


def gaps(times: list[float]) -> list[float]:
    """Return consecutive differences of sorted times."""
    s = sorted(times)
    return [b - a for a, b in itertools.pairwise(s)]


# --- global rate --------------------------------------------------------------------------------------


async def test_thousand_concurrent_at_100_per_second() -> None:
    vt, pacer = make(100)
    log: list[tuple[float, Hashable]] = []
    await vt.run([send(vt, pacer, log, chat) for chat in range(1000)])
    times = [t for t, _ in log]
    assert len(times) == 1000
    assert min(gaps(times)) >= 0.01
    assert max(gaps(times)) == pytest.approx(0.01, abs=1e-5)
    assert max_in_window(times, 1.0) <= 100
    assert max_in_window(times, 1.0, closed=True) <= 100
    assert max(times) == pytest.approx(9.99, abs=0.01)
    # Starts went in the order the waiters arrived.
    assert [chat for _, chat in log] == list(range(1000))


async def test_500_at_25_per_second() -> None:
    vt, pacer = make(25)
    log: list[tuple[float, Hashable]] = []
    await vt.run([send(vt, pacer, log, chat) for chat in range(500)])
    times = [t for t, _ in log]
    assert min(gaps(times)) >= 0.04
    assert max_in_window(times, 1.0, closed=True) <= 25
    assert max(times) == pytest.approx(499 / 25, abs=0.01)


async def test_fractional_rate() -> None:
    vt, pacer = make(0.5)
    log: list[tuple[float, Hashable]] = []
    await vt.run([send(vt, pacer, log, chat) for chat in range(5)])
    times = [t for t, _ in log]
    assert times == pytest.approx([0, 2, 4, 6, 8], abs=1e-4)
    assert max_in_window(times, 1.0, closed=True) == 1
    assert max_in_window(times, 2.0, closed=True) == 1


async def test_fractional_rate_above_one() -> None:
    vt, pacer = make(2.5)
    log: list[tuple[float, Hashable]] = []
    await vt.run([send(vt, pacer, log, chat) for chat in range(50)])
    times = [t for t, _ in log]
    assert min(gaps(times)) >= 0.4
    assert max_in_window(times, 2.0) <= 5
    assert max(times) == pytest.approx(49 * 0.4, abs=0.01)


async def test_idle_pacer_starts_immediately_and_keeps_spacing() -> None:
    vt, pacer = make(10)
    log: list[tuple[float, Hashable]] = []
    vt.now = 100.0
    await vt.run([send(vt, pacer, log, 1)])
    assert log[0][0] == 100.0
    # Sequential sends (each awaited) are still spaced.
    await vt.run([send(vt, pacer, log, 2)])
    assert log[1][0] == pytest.approx(100.1, abs=1e-5)


async def workers_sending(
    vt: VirtualTime, pacer: Pacer, sends: int, workers: int, latency: float
) -> tuple[list[float], list[tuple[float, float]]]:
    """Workers that each acquire a slot, 'send' for `latency`, and go again; return the starts and
    (reserved slot, start) pairs."""
    starts: list[float] = []
    left = iter(range(sends))

    async def worker() -> None:
        for _ in left:
            starts.append(await pacer.acquire(None))
            await vt.sleep(latency)

    await vt.run([worker() for _ in range(workers)])
    return starts


@pytest.mark.parametrize("seed", range(3))
async def test_late_wakeups_do_not_cost_throughput(seed: int) -> None:
    # The event loop wakes sleepers late (epoll counts whole milliseconds, other sends keep it busy): a
    # late start must not push the schedule back, or every late wake-up is throughput lost for good
    # (the pacer that did so took 17 % longer here: 4 sends in flight leave little slack).
    rng = random.Random(seed)
    vt = VirtualTime()

    async def late_sleep(delay: float) -> None:
        await vt.sleep(delay + rng.uniform(0, 0.008))

    pacer = Pacer(100, clock=vt.clock, sleep=late_sleep)
    starts = await workers_sending(vt, pacer, sends=1000, workers=4, latency=0.03)
    elapsed = max(starts) - min(starts)
    assert elapsed == pytest.approx(999 * pacer.interval, rel=0.01)
    # Catching up never makes a burst, nor more than the rate in any second.
    assert min(gaps(starts)) >= pacer.interval / 4 - 1e-9
    assert max_in_window(starts, 1.0, closed=True) <= 100


@pytest.mark.parametrize("rate", [25, 100])
async def test_in_flight_hides_a_slow_network_at_a_bots_rates(rate: int) -> None:
    # A server far from Telegram waits ~300 ms for each answer: the sends in flight must still keep up
    # with the rate (with 4 in flight, 25/s became 13/s).
    vt, pacer = make(rate)
    starts = await workers_sending(vt, pacer, sends=rate * 20, workers=in_flight(rate), latency=0.3)
    assert max(starts) - min(starts) == pytest.approx((rate * 20 - 1) * pacer.interval, rel=0.01)


def test_in_flight_bounds() -> None:
    assert in_flight(0.5) == 4
    assert in_flight(25) == 10
    assert in_flight(1000) == in_flight(10_000) == 52


@pytest.mark.parametrize("seed", range(3))
async def test_a_stalled_loop_catches_up_within_the_window(seed: int) -> None:
    # Now and then the loop stalls for a long time (a garbage collection, a slow disk): the overdue
    # slots go out faster than the rate, but any 101 consecutive starts still span a second.
    rng = random.Random(seed)
    vt = VirtualTime()

    async def stalling_sleep(delay: float) -> None:
        await vt.sleep(delay + (rng.uniform(0.05, 0.6) if rng.random() < 0.01 else 0.0))

    pacer = Pacer(100, clock=vt.clock, sleep=stalling_sleep)
    starts = await workers_sending(vt, pacer, sends=2000, workers=40, latency=0.05)
    assert min(gaps(starts)) >= pacer.interval / 4 - 1e-9
    assert max_in_window(starts, 1.0, closed=True) <= 100
    assert all(b - a >= 1.0 for a, b in zip(sorted(starts), sorted(starts)[100:], strict=False))


async def test_rejects_bad_arguments() -> None:
    for rate in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError):
            Pacer(rate)
    with pytest.raises(ValueError):
        Pacer(10, per_chat_per_minute=0)


async def test_real_clock_smoke() -> None:
    pacer = Pacer(1000)
    begin = time.monotonic()
    starts = await asyncio.gather(*(pacer.acquire(i) for i in range(30)))
    assert min(gaps(starts)) >= pacer.interval / 4 - 1e-9
    # No start before its slot on the schedule (give or take a clock tick and the first clock read), so
    # 30 starts span at least 29 intervals.
    assert max(starts) - min(starts) >= 29 * pacer.interval - 1e-4
    assert time.monotonic() - begin < 2.0


# --- per-group window ---------------------------------------------------------------------------------


async def test_group_limited_while_others_keep_full_rate() -> None:
    vt, pacer = make(25)
    log: list[tuple[float, Hashable]] = []
    group = [send(vt, pacer, log, "group", is_group=True) for _ in range(50)]
    private = [send(vt, pacer, log, chat) for chat in range(400)]
    # Group messages first in the queue, to show they do not hold up the private chats.
    await vt.run(group + private)
    group_times = [t for t, chat in log if chat == "group"]
    private_times = [t for t, chat in log if chat != "group"]
    all_times = [t for t, _ in log]
    assert len(group_times) == 50
    assert max_in_window(group_times, 60.0, closed=True) <= 20
    assert max_in_window(all_times, 1.0, closed=True) <= 25
    assert min(gaps(all_times)) >= 0.04
    # The first 20 group sends plus 400 private ones fill the first 420 slots back to back.
    assert max(private_times) == pytest.approx(419 / 25, abs=0.01)
    assert max(gaps([t for t in all_times if t < 17])) == pytest.approx(0.04, abs=1e-4)
    # The rest of the group goes in two more batches, a window (plus margin) apart.
    assert sorted(group_times)[20] >= 60.0
    assert sorted(group_times)[40] >= 120.0
    assert max(group_times) < 125.0


async def test_group_window_counts_actual_starts_when_a_wake_up_is_late() -> None:
    # The first sends to a group wake up 3 s late (a stalled loop): the group's minute must be counted
    # from when they really went out, not from their slots, or the 21st comes too early.
    vt = VirtualTime()

    async def stalled_at_first(delay: float) -> None:
        # Only the short waits for a slot overshoot (not the long wait for the group's window).
        await vt.sleep(delay + (3.0 if vt.now < 1.0 and delay < 1.0 else 0.0))

    pacer = Pacer(25, clock=vt.clock, sleep=stalled_at_first)
    log: list[tuple[float, Hashable]] = []
    await vt.run([send(vt, pacer, log, "group", is_group=True) for _ in range(30)])
    assert max_in_window([t for t, _ in log], 60.0, closed=True) <= 20


async def test_group_limit_is_per_chat_and_private_chats_unlimited() -> None:
    vt, pacer = make(100)
    log: list[tuple[float, Hashable]] = []
    coros = [send(vt, pacer, log, f"g{g}", is_group=True) for g in range(3) for _ in range(25)]
    coros += [send(vt, pacer, log, "private") for _ in range(100)]
    await vt.run(coros)
    for key in ("g0", "g1", "g2"):
        assert max_in_window([t for t, c in log if c == key], 60.0, closed=True) <= 20
    private = [t for t, c in log if c == "private"]
    assert len(private) == 100
    assert max(private) < 2.0


async def test_custom_per_chat_limit() -> None:
    vt, pacer = make(50, per_chat_per_minute=5)
    log: list[tuple[float, Hashable]] = []
    await vt.run([send(vt, pacer, log, "robot", is_group=True) for _ in range(12)])
    times = [t for t, _ in log]
    assert max_in_window(times, 60.0, closed=True) <= 5
    assert sorted(times)[5] >= 60.0
    assert sorted(times)[10] >= 120.0


# --- pause on 429 -------------------------------------------------------------------------------------


async def test_pause_delays_everything() -> None:
    vt, pacer = make(10)
    log: list[tuple[float, Hashable]] = []
    paused = []

    def maybe_pause(now: float) -> None:
        # The send that starts at 2.0 s gets a 429 with retry_after=5.
        if not paused and now >= 2.0:
            paused.append((now, pacer.pause(5)))

    await vt.run([send(vt, pacer, log, chat, after=maybe_pause) for chat in range(100)])
    times = sorted(t for t, _ in log)
    assert len(times) == 100
    paused_at, resume = paused[0]
    assert resume == pytest.approx(paused_at + 5)
    assert not [t for t in times if paused_at < t < resume]
    after = [t for t in times if t >= resume]
    assert after[0] == pytest.approx(resume)
    # The queue kept its order across the pause.
    assert [chat for _, chat in log] == list(range(100))
    assert min(gaps(times)) >= 0.1
    assert max_in_window(times, 1.0, closed=True) <= 10
    # Nothing lost: 21 went before the pause, the other 79 after it, back to back.
    assert len(after) == 79
    assert max(times) == pytest.approx(resume + 78 * 0.1, abs=0.01)


async def test_pause_until_and_property() -> None:
    vt, pacer = make(10)
    pacer.pause_until(3.0)
    assert pacer.paused_until == 3.0
    log: list[tuple[float, Hashable]] = []
    await vt.run([send(vt, pacer, log, chat) for chat in range(3)])
    assert [t for t, _ in log] == pytest.approx([3.0, 3.1, 3.2], abs=1e-4)


async def test_pause_of_one_chat_does_not_stop_others() -> None:
    vt, pacer = make(10)
    pacer.pause(30, chat_key="g")
    log: list[tuple[float, Hashable]] = []
    await vt.run([send(vt, pacer, log, "g", is_group=True)] + [send(vt, pacer, log, c) for c in range(5)])
    by_chat = dict((c, t) for t, c in log)
    assert by_chat["g"] >= 30.0
    assert max(by_chat[c] for c in range(5)) < 1.0


@pytest.mark.parametrize("seed", range(5))
async def test_random_mix_with_pauses_keeps_every_limit(seed: int) -> None:
    rng = random.Random(seed)
    vt, pacer = make(25)
    log: list[tuple[float, Hashable]] = []
    pause_at = set(rng.sample(range(600), 4))
    count = itertools.count()

    def maybe_pause(now: float) -> None:
        if next(count) in pause_at:
            pacer.pause(rng.uniform(0.5, 5.0), chat_key=rng.choice([None, "g0", None]))

    chats = [
        (f"g{rng.randrange(5)}", True) if rng.random() < 0.3 else (rng.randrange(10**6), False)
        for _ in range(600)
    ]
    await vt.run([send(vt, pacer, log, chat, group, after=maybe_pause) for chat, group in chats])
    assert len(log) == 600
    times = [t for t, _ in log]
    assert max_in_window(times, 1.0, closed=True) <= 25
    for g in range(5):
        assert max_in_window([t for t, c in log if c == f"g{g}"], 60.0, closed=True) <= 20


# --- helpers ------------------------------------------------------------------------------------------


def test_max_in_window() -> None:
    assert max_in_window([], 1.0) == 0
    assert max_in_window([0.0, 0.5, 1.0], 1.0) == 2
    assert max_in_window([0.0, 0.5, 1.0], 1.0, closed=True) == 3
    assert max_in_window([3.0, 0.0, 0.2, 5.0, 3.1, 3.5], 1.0) == 3
    evenly = [i * 0.01 for i in range(1000)]
    # Exact 1/rate spacing: half-open windows hold 100, but float sums can let a closed one hold 101.
    assert max_in_window(evenly, 1.0) <= 101
    assert max_in_window(evenly, 1.0, closed=True) == 101


def test_sliding_window_counter() -> None:
    counter = SlidingWindowCounter(3, window=1.0)
    assert [counter.hit(t) for t in (0.0, 0.1, 0.2, 0.3)] == [True, True, True, False]
    assert counter.retry_after(0.3) == pytest.approx(0.7)
    assert counter.hit(1.0)  # 0.0 has left the window (now - window, now]
    assert counter.count(1.0) == 3
    assert counter.retry_after(5.0) == 0.0


async def test_pacer_never_trips_a_strict_limiter() -> None:
    # The SPEC's measurement in miniature: a strict 100/s counter sees no 429 from a paced fan-out.
    vt, pacer = make(100)
    limiter = SlidingWindowCounter(100, window=1.0)
    rejected = []

    async def paced(chat: int) -> None:
        await pacer.acquire(chat)
        if not limiter.hit(vt.now):
            rejected.append(chat)

    await vt.run([paced(chat) for chat in range(1000)])
    assert rejected == []


# --- retry delays -------------------------------------------------------------------------------------


def test_backoff_delays_deterministic() -> None:
    assert backoff_delays() == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert backoff_delays(base=0.5, factor=3.0, cap=10.0, attempts=4) == [0.5, 1.5, 4.5, 10.0]
    assert backoff_delays(attempts=0) == []
    assert backoff_delays(attempts=2000)[-1] == 60.0
    assert backoff_delays(cap=5.0, attempts=6) == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_backoff_delays_jitter() -> None:
    a = backoff_delays(jitter=0.2, random=random.Random(1).random, attempts=8)
    b = backoff_delays(jitter=0.2, random=random.Random(1).random, attempts=8)
    plain = backoff_delays(attempts=8)
    assert a == b
    assert a != plain
    for got, base in zip(a, plain, strict=True):
        assert base * 0.8 <= got <= min(base * 1.2, 60.0)
    # Jitter without a random source stays deterministic.
    assert backoff_delays(jitter=0.2) == backoff_delays()


def test_backoff_delays_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        backoff_delays(attempts=-1)
    with pytest.raises(ValueError):
        backoff_delays(factor=0.5)
    with pytest.raises(ValueError):
        backoff_delays(jitter=2.0)


def test_backoff_delay_for_an_open_ended_retry_loop() -> None:
    # The same delays one at a time, for retries with no fixed number of attempts (a broadcast outage).
    assert [backoff_delay(i) for i in range(8)] == backoff_delays(attempts=8)
    assert backoff_delay(5000) == 60.0  # hours of an outage: capped, no overflow
    rng = random.Random(3)
    jittered = [backoff_delay(i, jitter=0.2, random=rng.random) for i in range(12)]
    for got, plain in zip(jittered, backoff_delays(attempts=12), strict=True):
        assert plain * 0.8 <= got <= min(plain * 1.2, 60.0)
    with pytest.raises(ValueError):
        backoff_delay(-1)
