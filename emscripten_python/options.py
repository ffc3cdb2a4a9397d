"""Command-line values checked while the arguments are parsed, before any work (docs/cli.rst).

``Parser`` is the argparse parser of every subcommand: a usage error is one line on stderr
(``error: PROG: MESSAGE``) and exit 2, like every other error of the CLI. The ``type=``
functions here refuse what argparse's ``int`` and ``float`` let through: ``nan``, ``inf``,
zero and negative counts, and values so large that a timer cannot hold them.
"""

from __future__ import annotations

import argparse
import math
import sys

from .untrusted import actions_safe

# Upper bounds: more make jobs or node processes than any machine has cores, and no timeout
# longer than a week (threading timers overflow near 2**31 seconds on some platforms).
MAX_JOBS = 1024
MAX_SECONDS = 7 * 24 * 3600.0
MAX_RERUNS = 100
# Tries of one operation (a request and its retries): more only repeats a failure for longer.
MAX_ATTEMPTS = 100


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """One line, exit 2: the message may quote what was typed (or what an action input held)."""
        sys.stderr.write(f"error: {actions_safe(self.prog)}: {actions_safe(message)}\n")
        sys.exit(2)


def _whole_number(text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
    return value


def jobs(text: str) -> int:
    """A number of parallel jobs or processes: a whole number from 1 to MAX_JOBS."""
    return _whole_number(text, 1, MAX_JOBS)


def reruns(text: str) -> int:
    """How many times to run something again: a whole number from 0 to MAX_RERUNS."""
    return _whole_number(text, 0, MAX_RERUNS)


def attempts(text: str) -> int:
    """How many times an operation is tried: a whole number from 1 to MAX_ATTEMPTS."""
    return _whole_number(text, 1, MAX_ATTEMPTS)


def _seconds(text: str, *, zero: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not (0 <= value if zero else 0 < value) or value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds {'from 0' if zero else 'above 0'} "
                                         f"and at most {MAX_SECONDS:.0f} (a week)")
    return value


def seconds(text: str) -> float:
    """A duration in seconds: a finite number above 0 and at most MAX_SECONDS (a week)."""
    return _seconds(text, zero=False)


def whole_seconds(text: str) -> int:
    """A duration in whole seconds (for a library that takes only an int): 1 to MAX_SECONDS."""
    return _whole_number(text, 1, int(MAX_SECONDS))


def wait_seconds(text: str) -> float:
    """A pause in seconds, 0 meaning none: a finite number from 0 to MAX_SECONDS (a week)."""
    return _seconds(text, zero=True)


__all__ = ["MAX_ATTEMPTS", "MAX_JOBS", "MAX_RERUNS", "MAX_SECONDS", "Parser", "attempts", "jobs", "reruns", "seconds",
           "wait_seconds", "whole_seconds"]
