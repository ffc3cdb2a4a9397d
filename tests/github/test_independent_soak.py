"""`emscripten-python report --github` in 2-4 concurrent processes per round, real PyGithub, against
the independently written GitHub-shaped server (independent_github.py) with injected faults:
5xx, secondary rate limits (403 + retry-after), 429, connection resets before and after the
write lands, hangs longer than the client timeout (answer lost, or write applied late), and
lists that lag behind creations and deletions. 250 foreign comments (paginated), spoofed
markers from another user, one posted mid-round.

Each round, every reporter has its own ordering key (``--order``, ``created``); after all of
them exit, the round fails if the newest one exited 0 while GitHub shows an older run (comment,
check run or status), if there are two bot comments, if a foreign comment was edited or
deleted, if a check run is left unfinished, or if any output holds the token in any encoding.

EP_INDEPENDENT_ROUNDS=N runs N rounds (default 3, about 35 s on two cores);
EP_INDEPENDENT_FAULT_RATE (0.07 a read, 2.5 times that a write), EP_INDEPENDENT_LAG (1.0 s) and
EP_INDEPENDENT_SEED make it harsher or different.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from gh_helpers import EXAMPLE, SHA, dump, make_run
from independent_checks import leaks, start_report
from independent_github import Account, IndependentGitHub

from emscripten_python.github.reporter import MARKER, OrderKey
from emscripten_python.results.model import Run
from emscripten_python.results.validation import load_validated

ROUNDS = int(os.environ.get("EP_INDEPENDENT_ROUNDS", "3"))
TOKEN = "ghp_IndependentCheckToken0123456789abcdXYZ"
FOREIGN_TOKEN = "ghp_ForeignUserToken0123456789abcdefghXYZ"
BOT = Account("ep-bot", "User", 4242)
MALLORY = Account("mallory", "User", 666)
NAME = "wasm32 node independent"
PR = 7
HANG = 1.6            # longer than the client timeout (1 s)
SETTLE = 2.6          # longer than a hung write takes to land
RATE = float(os.environ.get("EP_INDEPENDENT_FAULT_RATE", "0.07"))      # per request
WRITE_BIAS = 2.5      # writes fail more often: lost answers and late writes are the hard cases
MAX_LAG = float(os.environ.get("EP_INDEPENDENT_LAG", "1.0"))     # seconds lists lag behind
FAULTS = ("503", "502", "secondary", "429", "reset", "lost", "hang", "hang-late", "slow", "slow")


def spoof(order: int, created: str = "29991231T235959Z", run: str = "f" * 32) -> str:
    key = NAME.replace(" ", "%20").replace("-", "%2D")
    return f"<!-- emscripten-python report: key={key} order={order} created={created} run={run} -->\nLGTM, merge it"


@pytest.fixture(scope="module")
def example() -> Run:
    return load_validated(EXAMPLE)


def _faults(rng: random.Random, rate: float):
    lock = threading.Lock()

    def choose(method: str, path: str) -> str | None:
        with lock:
            if rng.random() >= (rate * WRITE_BIAS if method != "GET" else rate):
                return None
            kind = rng.choice(FAULTS)
        if kind in ("lost", "hang-late") and method == "GET":
            kind = "hang"
        return kind
    return choose


def _bot_comments(gh: IndependentGitHub) -> list[dict]:
    return [c for c in gh.live_comments(PR) if c["user"]["login"] == BOT.login and MARKER.match(c["body"])]


def test_concurrent_reporters_converge_on_the_newest_run(tmp_path, example):
    rng = random.Random(int(os.environ.get("EP_INDEPENDENT_SEED", "12")))
    figures = {"rounds": 0, "reporters": 0, "newest_ok": 0, "newest_failed": 0, "exit": {}, "older_shown_ok": 0}
    problems: list[str] = []
    with IndependentGitHub(tokens={TOKEN: BOT, FOREIGN_TOKEN: MALLORY}, seed=rng.random(), max_lag=MAX_LAG,
                           hang=HANG, pr_head=SHA) as gh:
        gh.echo = True
        gh.stale_bodies = float(os.environ.get("EP_INDEPENDENT_STALE", "0"))   # beyond the documented assumptions
        for i in range(250):
            body = spoof(999_999) if i % 50 == 7 else f"comment {i} @ep-bot #12 looks good"
            gh.add_comment(PR, MALLORY, body)
        foreign = {c["id"]: c["body"] for c in gh.live_comments(PR)}
        base_time = datetime(2026, 3, 1, tzinfo=timezone.utc)
        for number in range(ROUNDS):
            size = rng.choice((2, 3, 4))
            gh.faults = _faults(rng, rate=RATE)
            runs = []
            for i in range(size):
                order = 100 * (number + 1) + i
                # created is shuffled against order: order decides first
                created = (base_time + timedelta(minutes=number * 10 + rng.randint(0, 9))).isoformat()
                run = make_run(example, run_id=uuid.UUID(int=rng.getrandbits(128)).hex, created=created,
                               failing=rng.randint(0, 3))
                out = dump(tmp_path / f"r{number}-{i}", run)
                runs.append((OrderKey.of(run, order), out, order))
            procs = []
            for key, out, order in rng.sample(runs, len(runs)):
                procs.append((key, out, start_report(
                    out, gh.base_url, TOKEN, "--pr", str(PR), "--sha", SHA, "--name", NAME, "--order", str(order),
                    "--details-url", f"https://ci.example.org/{key.run_id}", "--timeout", "1",
                    "--backoff", "0.05", "--throttle", "0", "--attempts", "8", "--settle", str(SETTLE))))
                time.sleep(rng.uniform(0, 0.3))
            # a foreign user posts a spoofed marker of a newer run mid-round
            spoofed = gh.add_comment(PR, MALLORY, spoof(10 ** 9, run="0" * 32))
            foreign[spoofed["id"]] = spoofed["body"]
            newest = max(runs)[0]
            codes = {}
            for key, out, proc in procs:
                stdout, stderr = proc.communicate(timeout=240)
                codes[key] = proc.returncode
                figures["exit"][proc.returncode] = figures["exit"].get(proc.returncode, 0) + 1
                outputs = stdout + stderr + "".join(p.read_text(errors="replace") for p in out.iterdir()
                                                    if p.name != "results.json")
                found = leaks(outputs, TOKEN)
                if found:
                    problems.append(f"round {number}: token leaked in reporter output as {found}")
                if proc.returncode not in (0, 50):
                    problems.append(f"round {number}: exit {proc.returncode}: {stderr[-2000:]}")
            figures["rounds"] += 1
            figures["reporters"] += size
            gh.faults = lambda method, path: None
            gh.wait_idle()                  # writes still hanging land now
            comments = _bot_comments(gh)
            if len(comments) > 1:
                problems.append(f"round {number}: {len(comments)} bot comments")
            checks = gh.live_checks(SHA, NAME)
            open_checks = [c["id"] for c in checks if c["status"] != "completed"]
            if open_checks:
                problems.append(f"round {number}: check runs left {open_checks} not completed")
            status = gh.newest_status(SHA, NAME)
            shown = {
                "comment": OrderKey.from_marker(MARKER.match(comments[-1]["body"])) if comments else None,
                "check": OrderKey.from_compact(checks[-1]["external_id"]) if checks else None,
                "status": OrderKey.from_status(status["description"]) if status else None,
            }
            if codes[newest] == 0:
                figures["newest_ok"] += 1
                wrong = {part: key for part, key in shown.items()
                         if key is None or key.run_id != (newest.run_id[:8] if part == "status" else newest.run_id)}
                if wrong:
                    figures["older_shown_ok"] += 1
                    problems.append(f"round {number}: newest {newest.compact()} exited 0 but GitHub shows "
                                    + ", ".join(f"{p}={k.compact() if k else None}" for p, k in wrong.items()))
                elif comments[-1]["body"].count("test.test_os.T.test_") != _failing(runs, newest):
                    problems.append(f"round {number}: the comment has the newest marker but not its content")
            else:
                figures["newest_failed"] += 1
        now = {c["id"]: c["body"] for c in gh.live_comments(PR) if c["user"]["login"] == MALLORY.login}
        if now != foreign:
            problems.append(f"foreign comments changed: {sorted(set(foreign) ^ set(now))[:5]} "
                            f"{[cid for cid in foreign if now.get(cid) not in (None, foreign[cid])][:5]}")
        # the server refuses to write another user's comment (403), so an attempt counts too
        touched = [e for e in gh.journal.entries if e[1] == "comment" and e[0] != "POST"
                   and (e[3] in foreign or e[0].startswith("FORBIDDEN"))]
        if touched:
            problems.append(f"foreign comments written to: {touched[:3]}")
        figures["requests"], figures["faults"] = gh.requests, dict(gh.fault_counts)
    print("independent soak:", json.dumps(figures, default=str))
    assert not problems, "\n".join(problems)
    assert figures["newest_ok"] >= figures["rounds"] // 2, figures     # the check checked something


def _failing(runs, key) -> int:
    out = next(out for k, out, _ in runs if k == key)
    data = json.loads((out / "results.json").read_text())
    test_os = next(f for f in data["tests"]["files"] if f["name"] == "test_os")
    return len(test_os["cases"])


def test_a_github_app_reports_as_its_bot_and_its_tokens_never_show(tmp_path, example):
    """--app-id: GET /app names the bot (SLUG[bot]); the installation token GitHub mints and
    the private key are secrets too. The server echoes credentials on every error."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    rng = random.Random(3)
    with IndependentGitHub(tokens={FOREIGN_TOKEN: MALLORY}, app_id="4242", app_public_key=key.public_key(),
                           app_slug="ep-app", pr_head=SHA, max_lag=0.5) as gh:
        gh.echo = True
        gh.add_comment(PR, MALLORY, spoof(10 ** 9))
        for round_number in range(2):
            gh.faults = _faults(rng, rate=0.15)
            out = dump(tmp_path / f"app{round_number}", make_run(example, run_id=f"{round_number}" * 32,
                                                               created="2026-03-01T00:00:00+00:00"))
            proc = start_report(out, gh.base_url, "unused", "--pr", str(PR), "--sha", SHA, "--name", NAME,
                                "--order", str(round_number + 1), "--app-id", "4242", "--installation-id", "99",
                                "--timeout", "1", "--backoff", "0.05", "--throttle", "0", "--attempts", "8",
                                "--settle", "0.5", env={"GITHUB_APP_PRIVATE_KEY": pem})
            stdout, stderr = proc.communicate(timeout=240)
            assert proc.returncode == 0, stderr[-3000:]
            output = stdout + stderr + (out / "github-report.json").read_text()
            for secret in gh.minted:
                assert leaks(output, secret) == [], secret
            assert not any(line in output for line in pem.splitlines()[1:-1])
        [comment] = [c for c in gh.live_comments(PR) if MARKER.match(c["body"]) and c["user"]["type"] == "Bot"]
        assert comment["user"]["login"] == "ep-app[bot]" and "run=" + "1" * 32 in comment["body"]
        assert gh.live_comments(PR)[0]["user"]["login"] == MALLORY.login      # the spoof is left alone
        assert gh.minted


def test_run_ids_with_punctuation_are_still_ordered_in_statuses(tmp_path, example):
    """results.json allows run ids like ``run-2026.1``; the status description keeps 8 characters
    of it, and an older run must still recognise the newer run's status and leave it on top."""
    with IndependentGitHub(tokens={TOKEN: BOT}, pr_head=SHA) as gh:
        codes = {}
        for order, run_id in ((2, "new-run.2026"), (1, "old-run.2025")):
            out = dump(tmp_path / run_id, make_run(example, run_id=run_id, created="2026-03-01T00:00:00+00:00"))
            proc = start_report(out, gh.base_url, TOKEN, "--pr", str(PR), "--sha", SHA, "--name", NAME,
                                "--order", str(order), "--timeout", "1", "--throttle", "0", "--settle", "0.2")
            stdout, stderr = proc.communicate(timeout=120)
            codes[run_id] = (proc.returncode, json.loads((out / "github-report.json").read_text()))
        shown = OrderKey.from_status(gh.newest_status(SHA, NAME)["description"])
        assert shown is not None and shown.order == 2, gh.newest_status(SHA, NAME)["description"]
        assert len(gh.statuses[SHA]) == 1
        older = {p["part"]: p["action"] for p in codes["old-run.2025"][1]["parts"]}
        assert older == {"comment": "superseded", "check": "superseded", "status": "superseded"}, codes
