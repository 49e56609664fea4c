"""Retry delays for network errors (timeouts, resets, 5xx) while sending; 429s use ``retry_after`` instead."""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

__all__ = ["backoff_delay", "backoff_delays"]


def backoff_delay(
    attempt: int,
    base: float = 1.0,
    factor: float = 2.0,
    cap: float = 60.0,
    *,
    jitter: float = 0.0,
    random: Callable[[], float] | None = None,
) -> float:
    """The delay before retry number ``attempt`` (0 for the first): ``base * factor**attempt`` capped at
    ``cap``, jittered as in :func:`backoff_delays`; for a retry loop with no fixed number of attempts."""
    if attempt < 0:
        raise ValueError(f"attempt must not be negative, got {attempt!r}")
    # The exponent is bounded so that a long outage (hundreds of attempts) cannot overflow.
    first = min(base * factor ** min(attempt, 64), cap)
    return backoff_delays(first, factor, cap, 1, jitter=jitter, random=random)[0]


def backoff_delays(
    base: float = 1.0,
    factor: float = 2.0,
    cap: float = 60.0,
    attempts: int = 5,
    *,
    jitter: float = 0.0,
    random: Callable[[], float] | None = None,
) -> list[float]:
    """Return the delays before each retry: ``base * factor**i`` capped at ``cap``, optionally jittered.

    Deterministic unless both ``jitter`` (a fraction, e.g. 0.1 for +-10 %) and ``random`` (returning a
    float in [0, 1), e.g. ``random.Random(seed).random``) are given; jitter keeps many senders that failed
    together from retrying in lockstep. A jittered delay still never exceeds ``cap`` nor drops below 0.
    """
    if attempts < 0:
        raise ValueError(f"attempts must not be negative, got {attempts!r}")
    if base < 0 or factor < 1 or cap < 0:
        raise ValueError("need base >= 0, factor >= 1 and cap >= 0")
    if not 0 <= jitter <= 1:
        raise ValueError(f"jitter must be a fraction in [0, 1], got {jitter!r}")
    delays: list[float] = []
    delay = base
    for _ in range(attempts):
        value = min(delay, cap)
        if jitter and random is not None:
            value *= 1.0 + jitter * (2.0 * random() - 1.0)
        delays.append(max(0.0, min(value, cap)))
        # Stop growing once capped so a large attempt count cannot overflow to inf.
        delay = min(delay * factor, cap)
    return delays
