"""Retries around whole GitHub operations, honouring primary and secondary rate limits.

PyGithub's own urllib3 retry is switched off (see client.py) because it retries single
requests: a POST whose response was lost would be sent again and create a second comment.
Here the unit that is retried is an *operation* that looks before it writes (find the
comment, then create or edit it), so repeating it after any failure is safe.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable, TypeVar

import requests
from github import GithubException

T = TypeVar("T")

# GitHub's documented advice for a secondary limit without Retry-After: wait at least a minute.
SECONDARY_RATE_WAIT = 60.0


class Conflict(Exception):
    """Another reporter changed what this operation just read (e.g. deleted a duplicate
    comment we were about to edit); the operation is simply run again."""


class GiveUp(Exception):
    """An operation failed for good; the message is safe to show (already redacted)."""


@dataclass
class RetryPolicy:
    attempts: int = 6                 # tries per operation, the first included
    backoff: float = 1.0              # first wait after a 5xx / timeout, doubled each time
    max_backoff: float = 30.0
    max_wait: float = 600.0           # longest rate-limit wait accepted before giving up
    secondary_wait: float = SECONDARY_RATE_WAIT
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)
    # Convergence (reporter.py): after writing, wait `settle` seconds (a real wait, on
    # `settle_sleep`) and read again; a write from an older run that was in flight lands
    # within that time, and is repaired, up to `repairs` times. `settle` must exceed the
    # longest time a write can take: the request timeout plus the pause before a write.
    settle: float = 20.0
    settle_sleep: Callable[[float], None] = time.sleep
    repairs: int = 4
    # A comment (or check run) just created can be missing from the next list answers: read
    # the list up to `lag_reads` more times, `lag_wait` seconds apart, before creating again.
    lag_reads: int = 5
    lag_wait: float = 1.0
    # Lists read in a row when checking what GitHub shows (the last answer is used): an
    # object another reporter created moments ago can be missing from the first answers.
    verify_reads: int = 3

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with jitter, so racing reporters do not retry in lockstep."""
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


def _header(headers: dict | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def error_message(exc: GithubException) -> str:
    data = exc.data
    return str(data.get("message", "")) if isinstance(data, dict) else str(data or "")


def classify(exc: BaseException, policy: RetryPolicy, attempt: int) -> tuple[bool, float, str]:
    """(retryable, seconds to wait first, short reason) for one failed attempt."""
    if isinstance(exc, Conflict):
        return True, 0.0, f"conflict: {exc}"
    if isinstance(exc, (requests.Timeout, requests.ConnectionError)):
        return True, policy.backoff_delay(attempt), f"network: {type(exc).__name__}"
    if not isinstance(exc, GithubException):
        return False, 0.0, f"{type(exc).__name__}: {exc}"
    status, headers, message = exc.status, exc.headers, error_message(exc)
    retry_after = _header(headers, "retry-after")
    if status in (403, 429) and retry_after is not None:
        try:
            wait = max(0.0, float(retry_after))
        except ValueError:
            wait = policy.secondary_wait
        return True, wait, f"HTTP {status} rate limited (Retry-After: {retry_after})"
    if status in (403, 429) and _header(headers, "x-ratelimit-remaining") == "0":
        reset = _header(headers, "x-ratelimit-reset")
        try:
            wait = max(0.0, float(reset) - policy.clock()) + 1.0
        except (TypeError, ValueError):
            wait = policy.secondary_wait
        return True, wait, f"HTTP {status} primary rate limit exhausted until reset"
    if status == 429 or (status == 403 and "secondary rate limit" in message.lower()):
        return True, policy.secondary_wait, f"HTTP {status} secondary rate limit"
    if status >= 500:
        return True, policy.backoff_delay(attempt), f"HTTP {status} {message}".strip()
    return False, 0.0, f"HTTP {status} {message}".strip()


def run_with_retry(operation: Callable[[], T], policy: RetryPolicy, what: str,
                   redact: Callable[[str], str], log: Callable[[str], None]) -> T:
    """Run ``operation`` until it succeeds, fails for good, or the attempts run out."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return operation()
        except GiveUp:
            raise
        except Exception as exc:  # noqa: BLE001 - classified below; unknown kinds are fatal
            retryable, wait, reason = classify(exc, policy, attempt)
            reason = redact(reason)
            if not retryable:
                raise GiveUp(f"{what}: {reason}") from None
            if attempt >= policy.attempts:
                raise GiveUp(f"{what}: gave up after {attempt} attempts; last error: {reason}") from None
            if wait > policy.max_wait:
                raise GiveUp(f"{what}: {reason}; waiting {wait:.0f} s exceeds the "
                             f"{policy.max_wait:.0f} s limit") from None
            log(f"{what}: attempt {attempt} failed ({reason}); retrying in {wait:.1f} s")
            policy.sleep(wait)
