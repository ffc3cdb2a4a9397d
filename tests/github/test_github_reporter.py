"""The reporter against the fake GitHub, through real PyGithub: sticky comment, check run, status."""

from __future__ import annotations

import re

import pytest
from gh_helpers import SHA, TOKEN, make_run, reporter, target

from emscripten_python.github.reporter import MARKER, OrderKey, annotations, comment_body

T0 = "2026-01-01T00:00:00+00:00"
T1 = "2026-01-02T00:00:00+00:00"


def _ours(fake, pr=7):
    return [c for c in fake.comments_on(pr) if MARKER.match(c["body"])]


def test_first_report_posts_comment_check_run_and_status(fake, example_run):
    run = make_run(example_run, run_id="a" * 32, created=T0, failing=3)
    result = reporter(fake).report(run, target())

    assert result.ok, result.to_dict()
    assert [(p.part, p.action) for p in result.parts] == [("comment", "created"), ("check", "created"),
                                                          ("status", "created")]
    [comment] = _ours(fake)
    assert comment["body"] == comment_body(run, target())
    assert "Emscripten: failure" in comment["body"] and "https://ci.example.org/builds/17" in comment["body"]
    [check] = fake.check_runs.values()
    assert (check["name"], check["head_sha"], check["external_id"]) == (target().name, SHA, OrderKey.of(run).compact())
    assert check["external_id"] == f"0/20260101T000000Z/{run.run_id}"
    assert (check["status"], check["conclusion"]) == ("completed", "failure")
    assert check["details_url"] == "https://ci.example.org/builds/17"
    assert [(a["path"], a["start_line"], a["annotation_level"]) for a in check["_annotations"]][-3:] == [
        ("Lib/test/test_os.py", 100, "failure"), ("Lib/test/test_os.py", 101, "failure"),
        ("Lib/test/test_os.py", 102, "failure")]
    [status] = fake.statuses[SHA]
    assert (status["state"], status["context"], status["target_url"]) == (
        "failure", target().name, "https://ci.example.org/builds/17")
    assert len(status["description"]) <= 140


def test_same_run_reported_twice_changes_nothing(fake, example_run):
    run = make_run(example_run, run_id="a" * 32, created=T0, failing=3)
    reporter(fake).report(run, target())
    writes = len(fake.writes())

    second = reporter(fake).report(run, target())

    assert [p.action for p in second.parts] == ["unchanged"] * 3
    assert len(fake.writes()) == writes
    assert len(_ours(fake)) == 1 and len(fake.check_runs) == 1 and len(fake.statuses[SHA]) == 1


def test_newer_run_updates_the_comment_in_place_past_other_comments(fake, example_run):
    # Humans and other builders talk on the PR too; with 10 comments a page the sticky one
    # is on page 3, so pagination matters.
    for i in range(12):
        fake.add_comment(7, f"looks good {i}", user={"login": f"human{i}", "id": i, "type": "User"})
    fake.add_comment(7, "> <!-- emscripten-python report: key=x created=2026 run=1 -->\nquoted, not ours")
    other = target(name="wasm32-emscripten node 3.14")
    reporter(fake, per_page=5).report(make_run(example_run, run_id="c" * 32, created=T0), other)
    for i in range(12, 25):
        fake.add_comment(7, f"ping {i}")
    first = make_run(example_run, run_id="a" * 32, created=T0, failing=1)
    reporter(fake, per_page=5).report(first, target())
    [before] = [c for c in _ours(fake) if "node%203.13" in c["body"]]

    newer = make_run(example_run, run_id="b" * 32, created=T1, failing=2)
    result = reporter(fake, per_page=5).report(newer, target())

    assert result.parts[0].action == "updated"
    [after] = [c for c in _ours(fake) if "node%203.13" in c["body"]]
    assert after["id"] == before["id"] and after["body"] == comment_body(newer, target())
    assert len(_ours(fake)) == 2, "the other builder's comment is its own and stays"
    assert len(fake.comments_on(7)) == 12 + 1 + 1 + 13 + 1
    assert len(fake.check_runs) == 3, "a new run on the same commit is a new check run"


def test_an_older_run_never_overwrites_a_newer_report(fake, example_run):
    newer = make_run(example_run, run_id="b" * 32, created=T1, failing=2)
    reporter(fake).report(newer, target(parts=("comment",)))

    result = reporter(fake).report(make_run(example_run, run_id="a" * 32, created=T0), target(parts=("comment",)))

    assert result.parts[0].action == "superseded" and "newer" in result.parts[0].message
    assert _ours(fake)[0]["body"] == comment_body(newer, target())


def test_annotations_are_batched_50_per_request_and_never_duplicated(fake, example_run):
    run = make_run(example_run, run_id="a" * 32, created=T0, failing=120)
    expected = len(annotations(run))
    patches = []

    def lose_the_second_batch_response(method, path):
        if method == "PATCH" and "/check-runs/" in path:
            patches.append(path)
            return "timeout-after" if len(patches) == 2 else None
        return None

    fake.faults = lose_the_second_batch_response
    result = reporter(fake).report(run, target(parts=("check",)))

    assert result.ok, result.to_dict()
    [check] = fake.check_runs.values()
    assert len(check["_annotations"]) == expected
    assert [a["title"] for a in check["_annotations"]] == [a["title"] for a in annotations(run)]
    assert expected > 100 and check["status"] == "completed"


def test_long_summary_is_truncated_cleanly(fake, example_run):
    run = make_run(example_run, run_id="a" * 32, created=T0, failing=40)
    for case in run.test_files[-1].cases:
        case.traceback = "\n".join(f"  frame {i} " + "x" * 200 for i in range(30))
    result = reporter(fake).report(run, target())

    assert result.ok, result.to_dict()
    [check] = fake.check_runs.values()
    summary = check["output"]["summary"]
    assert 60000 < len(summary) <= 65535
    assert summary.count("```") % 2 == 0 and summary.count("<details>") == summary.count("</details>")
    assert re.search(r"\*\*Truncated:\*\* [\d,]+ more characters; full results: https://ci.example.org/builds/17$",
                     summary)
    body = _ours(fake)[0]["body"]
    assert len(body) <= 65536 and "**Truncated:**" in body


def test_pr_head_check_refuses_results_of_another_commit(fake, example_run):
    fake.pulls[7] = "f" * 40
    run = make_run(example_run, run_id="a" * 32, created=T0)

    result = reporter(fake).report(run, target(parts=("comment",), verify_pr_head=True))

    assert result.parts[0].action == "skipped" and "not commenting" in result.parts[0].message
    assert not fake.comments_on(7)
    fake.pulls[7] = SHA
    assert reporter(fake).report(run, target(parts=("comment",), verify_pr_head=True)).parts[0].action == "created"


def test_bad_credentials_fail_at_once_without_retrying(fake, example_run):
    run = make_run(example_run, run_id="a" * 32, created=T0)

    result = reporter(fake, token="ghp_" + "W" * 36).report(run, target())

    assert not result.ok
    assert all("HTTP 401 Bad credentials" in p.message for p in result.parts)
    assert len(fake.log) == 3, "one request per part, no retries"


def test_missing_pr_or_sha_skips_that_part(fake, example_run):
    run = make_run(example_run, run_id="a" * 32, created=T0)
    result = reporter(fake).report(run, target(pr=None, sha=None))
    assert [p.action for p in result.parts] == ["skipped"] * 3 and result.ok
    assert TOKEN not in repr(result.to_dict())


def test_a_check_run_part_that_gives_up_completes_what_it_created(fake, example_run):
    patches = []

    def first_two_patches_fail(method, path):
        if method == "PATCH" and "/check-runs/" in path:
            patches.append(path)
            return "503" if len(patches) <= 2 else None
        return None

    fake.faults = first_two_patches_fail
    run = make_run(example_run, run_id="a" * 32, created=T0, failing=2)
    result = reporter(fake, attempts=2).report(run, target(parts=("check",)))

    [part] = result.parts
    assert part.action == "failed" and "gave up after 2 attempts" in part.message
    [check] = fake.check_runs.values()
    assert (check["status"], check["conclusion"]) == ("completed", "failure"), "never left in progress"
    assert check["output"]["title"].endswith("(report incomplete)")
