"""GitHub misbehaving: 5xx, timeouts, rate limits, outages. Zero duplicates, nothing silent."""

from __future__ import annotations

import random
from collections import defaultdict

from fake_github import BOT
from gh_helpers import SHA, make_run, reporter, target

from emscripten_python.github.reporter import MARKER, OrderKey, annotations, comment_body

# Per-request fault odds for the 100-report soak: about one request in five goes wrong.
ODDS = [("500", 0.04), ("502", 0.02), ("503", 0.02), ("secondary", 0.03), ("secondary-bare", 0.01),
        ("primary", 0.01), ("429", 0.03), ("timeout", 0.006), ("timeout-after", 0.008)]


def seeded_faults(seed: int, down: set[int], current: list[int]):
    rng = random.Random(seed)

    def decide(method, path):
        if current[0] in down:
            return "503"
        roll = rng.random()
        for kind, odds in ODDS:
            if roll < odds:
                return kind
            roll -= odds
        return None

    return decide


def test_100_reports_with_injected_faults_leave_no_duplicates(fake, example_run):
    builders = ["wasm32-emscripten node 3.13", "wasm32-emscripten node 3.14"]
    prs = [11, 12, 13, 14, 15]
    # Reports 40-44 meet a complete outage: they must fail, clearly, and change nothing.
    down = set(range(40, 45))
    current = [0]
    fake.faults = seeded_faults(1234, down, current)
    landed: dict[tuple, object] = {}
    outcomes = []
    check_of: dict[str, int] = {}
    for i in range(100):
        current[0] = i
        pr, name = prs[i % 5], builders[(i // 5) % 2]
        sha = f"{i % 5:x}" * 40
        fake.pulls[pr] = sha
        run = make_run(example_run, run_id=f"{i:032x}", created=f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}+00:00",
                       failing=1 + i % 4)
        chosen = target(pr=pr, sha=sha, name=name)
        result = reporter(fake).report(run, chosen)
        outcomes.append(result)
        comment = result.parts[0]
        if comment.action != "failed":
            landed[(pr, name)] = (run, chosen)
        for part in result.parts:
            assert part.action in ("created", "updated", "unchanged", "failed"), part
            if part.action == "failed":
                assert part.message and ("gave up" in part.message or "exceeds" in part.message), part
        if result.parts[1].action != "failed":
            check_of[run.run_id] = len(annotations(run))

    failed = [i for i, r in enumerate(outcomes) if not r.ok]
    assert set(down) <= set(failed), "an outage is reported as a failure"
    assert len(failed) < 15, f"the retries should carry most reports through: {failed}"
    met = {e.fault for e in fake.log if e.fault}
    assert met == {kind for kind, _ in ODDS}, f"the soak met every kind of fault: {met}"
    assert sum(1 for e in fake.log if e.fault) > 200

    # Exactly one sticky comment per PR and builder, holding the newest report that landed.
    for pr in prs:
        by_key = defaultdict(list)
        for comment in fake.comments_on(pr):
            by_key[MARKER.match(comment["body"])["key"]].append(comment)
        for name in builders:
            key = name.replace(" ", "%20").replace("-", "%2D")
            if (pr, name) in landed:
                [comment] = by_key[key]
                run, chosen = landed[(pr, name)]
                assert comment["body"] == comment_body(run, chosen)

    # One check run per reported run, with each annotation exactly once.
    by_run = defaultdict(list)
    for check in fake.check_runs.values():
        by_run[OrderKey.from_compact(check["external_id"]).run_id].append(check)
    for run_id, count in check_of.items():
        [check] = by_run[run_id]
        assert len(check["_annotations"]) == count and check["status"] == "completed"
    assert all(len(checks) == 1 for checks in by_run.values())


def test_rate_limits_are_waited_out_as_github_asks(fake, example_run):
    kinds = iter(["secondary", "429", "primary", "secondary-bare"])

    def first_four_posts(method, path):
        return next(kinds, None) if method == "POST" else None

    fake.faults = first_four_posts
    chosen = reporter(fake)
    result = chosen.report(make_run(example_run, run_id="a" * 32, created="2026-01-01T00:00:00+00:00"),
                           target(parts=("comment",)))

    assert result.ok
    waits = chosen.policy.waits
    assert waits[:2] == [1.0, 1.0], "Retry-After is honoured"
    assert 1.0 <= waits[2] <= 4.0, "X-RateLimit-Reset is honoured"
    assert waits[3] == 60.0, "a secondary limit without Retry-After waits GitHub's minute"
    assert len(_sticky(fake)) == 1


def test_a_wait_longer_than_allowed_gives_up_with_a_clear_message(fake, example_run):
    fake.faults = lambda method, path: "secondary-bare"
    result = reporter(fake, max_wait=30, bot_login=BOT["login"]).report(
        make_run(example_run, run_id="a" * 32, created="2026-01-01T00:00:00+00:00"), target(parts=("comment",)))

    [part] = result.parts
    assert part.action == "failed"
    assert part.message == ("comment on PR #7: HTTP 403 secondary rate limit; waiting 60 s exceeds the 30 s limit")


def test_timeouts_before_and_after_the_write_never_duplicate(fake, example_run):
    kinds = iter(["timeout", "timeout-after", "timeout-after"])
    fake.faults = lambda method, path: next(kinds, None) if method == "POST" else None

    result = reporter(fake).report(make_run(example_run, run_id="a" * 32, created="2026-01-01T00:00:00+00:00"),
                                   target())

    assert result.ok, result.to_dict()
    assert len(_sticky(fake)) == 1 and len(fake.check_runs) == 1
    assert [s["state"] for s in fake.statuses[SHA]] == ["failure"]


def _sticky(fake, pr=7):
    return [c for c in fake.comments_on(pr) if MARKER.match(c["body"])]
