"""`emscripten-python bisect` as a process, on a git history of the stand-in CPython tree.

The stand-in tree (tests/buildbot/fake_cpython.py) builds in seconds; its commits change
what its tests do through Lib/test/fake-behaviour (tests/integration/fake_regrtest.py) and
whether it builds through Platforms/emscripten/fake-control:

    c0  the tree                      c8-c10  other changes
    c1, c2  other changes             c11 test_target crashes (the runtime dies)
    c3  test_target flaky (to c6):    c12 other change
        fails a run, passes the next  c13 the build breaks
    c4  other change                  c14 the build is fixed; test_other fails
    c5  the build breaks              c15 other change (HEAD of main)
    c6  the build is fixed
    c7  test_target fails
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "buildbot"))
from fake_cpython import HOLD_ENV, make_cpython_repo, make_toolchain  # noqa: E402

pytestmark = pytest.mark.timeout(300)
CLI = Path(sys.executable).with_name("emscripten-python")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}

HISTORY = [  # (subject, behaviour file, control file); None: unchanged
    ("other change 1", None, None), ("other change 2", None, None),
    ("test_target flaky", "test_target test_oddrun\n", None), ("other change 4", None, None),
    ("build breaks", None, "fail make-host\n"), ("build fixed", None, ""),
    ("test_target fails", "test_target test_fail\n", None),
    ("other change 8", None, None), ("other change 9", None, None), ("other change 10", None, None),
    ("test_target crashes", "test_target test_crash\n", None), ("other change 12", None, None),
    ("build breaks again", None, "fail make-host\n"),
    ("build fixed; test_other fails", "test_target test_crash\ntest_other test_fail\n", ""),
    ("other change 15", None, None),
]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    if not any((Path(d) / "node").exists() for d in os.environ["PATH"].split(os.pathsep)):
        pytest.skip("needs node on PATH (the toolchain smoke check runs it)")
    root = tmp_path_factory.mktemp("bisect")
    toolchain = make_toolchain(root / "toolchain")
    repo = make_cpython_repo(root / "cpython")
    behaviour, control = repo / "Lib" / "test" / "fake-behaviour", repo / "Platforms" / "emscripten" / "fake-control"
    behaviour.parent.mkdir(parents=True, exist_ok=True)
    (repo / ".gitignore").write_text("cross-build/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "ignore the build")
    commits = [git(repo, "rev-parse", "HEAD")]
    for number, (subject, behaves, controls) in enumerate(HISTORY, 1):
        with (repo / "Lib" / "os.py").open("a") as lib:
            lib.write(f"# change {number}\n")
        for path, text in ((behaviour, behaves), (control, controls)):
            if text is not None:
                path.write_text(text)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", subject)
        commits.append(git(repo, "rev-parse", "HEAD"))
    env = {**os.environ, "PATH": os.pathsep.join([str(toolchain), os.environ["PATH"]]),
           "EMSCRIPTEN_PYTHON_NO_RECORD": "1", "EMSCRIPTEN_PYTHON_CACHE": str(root / "cache")}
    env.pop(HOLD_ENV, None)
    return {"repo": repo, "c": commits, "env": env, "root": root}


def bisect(history, name: str, *args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, Path]:
    out = history["root"] / name
    done = subprocess.run([CLI, "bisect", "--source", history["repo"], "--out", out, "--toolchain", "system",
                           "--jobs", "1", *args], env=env or history["env"], capture_output=True, text=True,
                          timeout=240)
    return done, out


def on_start(history) -> None:
    """The checkout is back where it was: branch main at its last commit, nothing changed."""
    repo = history["repo"]
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "main"
    assert git(repo, "rev-parse", "HEAD") == history["c"][15]
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""


def test_names_the_commit_that_broke_the_test_past_a_flaky_one(history):
    c = history["c"]
    done, out = bisect(history, "fail", "--good", c[0], "--bad", c[8], "--tests", "test_target")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "bisect.json").read_text())
    assert result["state"] == "found" and result["failure"] == "fail"
    assert result["first_bad"] == {"commit": c[7], "subject": "test_target fails", "author": "t"}
    steps = {s["commit"]: s for s in result["steps"]}
    # The flaky commit failed, was run again, passed: not bad (else c3 or c4 would be named).
    flaky = [s for s in result["steps"] if s["outcome"] == "flaky"]
    assert flaky and all(s["verdict"] == "good" and len(s["runs"]) == 2 for s in flaky)
    assert {s["commit"] for s in flaky} <= {c[3], c[4], c[6]}      # flaky from c3 until c7
    assert steps[c[8]]["role"] == "bad" and steps[c[0]]["role"] == "good"
    assert result["builds"] == len(result["steps"]) <= math.ceil(math.log2(8)) + 2
    assert all((out / s["results"]).is_file() for s in result["steps"])
    assert f"first bad commit: {c[7]}" in done.stdout
    assert "test_target fails" in (out / "bisect.md").read_text()
    assert "bisect: step 3 of about" in done.stdout + done.stderr
    on_start(history)


def test_a_crash_is_bisected_as_a_crash_and_an_earlier_failure_counts_good(history):
    c = history["c"]
    # GOOD is c7, where test_target fails: that is not the crash being bisected.
    done, out = bisect(history, "crash", "--good", c[7], "--bad", c[15], "--tests", "test_target")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "bisect.json").read_text())
    assert result["failure"] == "crash" and result["first_bad"]["commit"] == c[11]
    assert [(s["outcome"], s["verdict"]) for s in result["steps"][:2]] == [("crashed", "bad"), ("failed", "good")]
    failed_but_good = [s for s in result["steps"] if s["outcome"] == "failed"]
    assert failed_but_good and all(s["verdict"] == "good" for s in failed_but_good)
    assert result["builds"] <= math.ceil(math.log2(15 - 7)) + 2
    on_start(history)


def test_a_commit_that_does_not_build_is_skipped_and_can_leave_a_range(history):
    c = history["c"]
    done, out = bisect(history, "skip", "--good", c[9], "--bad", c[15], "--tests", "test_other")
    assert done.returncode == 61, done.stderr[-3000:]
    result = json.loads((out / "bisect.json").read_text())
    assert result["state"] == "inconclusive" and result["first_bad"] is None
    assert [s["commit"] for s in result["suspects"]] == [c[13], c[14]]
    skipped = [s for s in result["steps"] if s["verdict"] == "skip"]
    assert [(s["commit"], s["outcome"], s["runs"]) for s in skipped] == [(c[13], "build-failed", [])]
    assert "inconclusive: the first bad commit is one of 2 commits" in done.stdout
    # What the status store would read back (status record-bisect): the real file passes its checks.
    from emscripten_python.results.validation import load_bisect
    assert load_bisect(out)["suspects"] == result["suspects"]
    on_start(history)


def test_a_bad_commit_whose_failure_does_not_repeat_is_refused_unless_reruns_are_off(history):
    c = history["c"]
    done, out = bisect(history, "flaky", "--good", c[2], "--bad", c[3], "--tests", "test_target",
                       "--flaky-reruns", "1")
    assert done.returncode == 60, done.stderr[-3000:]
    assert "does not show a failure of test_target (flaky)" in done.stderr
    assert json.loads((out / "bisect.json").read_text())["state"] == "error"
    # A fresh --out: the flaky file fails again in its first run, and counts at once.
    done, out = bisect(history, "flaky-counted", "--good", c[2], "--bad", c[3], "--tests", "test_target",
                       "--flaky-reruns", "0")
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((out / "bisect.json").read_text())["first_bad"]["commit"] == c[3]
    on_start(history)


@pytest.mark.parametrize("args, code, message", [
    (["--good", "no-such-ref", "--bad", "HEAD", "--tests", "test_target"], 60, "--good 'no-such-ref': no such commit"),
    (["--good", "HEAD", "--bad", "HEAD~3", "--tests", "test_target"], 60, "is not an ancestor of --bad"),
    (["--good", "HEAD", "--bad", "HEAD", "--tests", "test_target"], 60, "the same commit"),
    (["--good", "HEAD~3", "--bad", "HEAD", "--tests", "../etc/passwd"], 2, "--tests '../etc/passwd'"),
    (["--good", "HEAD~3", "--bad", "HEAD", "--tests", ","], 2, "give test file names"),
    (["--good", "HEAD~3", "--bad", "HEAD", "--tests", "test_x", "--flaky-reruns", "-1"], 2, "--flaky-reruns"),
    (["--good", "HEAD~3", "--bad", "HEAD", "--tests", "test_x", "--flaky-reruns", "nan"], 2, "--flaky-reruns"),
    (["--good", "HEAD~3", "--bad", "HEAD", "--tests", "test_x", "--jobs", "0"], 2, "--jobs"),
    (["--good", "HEAD~3", "--bad", "HEAD", "--tests", "test_x", "--only", "make-host"], 2, "--only does not apply"),
    (["--tests", "test_x"], 2, "bisect needs --good, --bad and --tests (or --from-run RUN_ID)"),
    (["--good", "HEAD~3", "--bad", "HEAD", "--tests", "test_x", "--db", "sqlite://"], 2, "--db is the status store"),
    (["--from-run", "abcdef12", "--bad", "HEAD"], 2, "--from-run takes GOOD and BAD from the status store"),
    (["--good", "HEAD~3", "--bad", "HEAD", "--tests", "test_x", "--record", "--branch", "../x"], 2,
     "--record cannot be stored (1 problem): branch: '../x' has an empty, '.' or '..' path segment"),
])
def test_bad_input_is_one_line_and_its_exit_code_before_any_work(history, args, code, message):
    done, out = bisect(history, "refused", *args)
    assert done.returncode == code and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not out.exists()
    on_start(history)


def test_a_checkout_that_is_not_clean_or_not_git_is_refused_before_any_work(history, tmp_path):
    repo = history["repo"]
    lib = repo / "Lib" / "os.py"
    kept = lib.read_text()
    lib.write_text(kept + "# an edit in progress\n")
    try:
        done, out = bisect(history, "dirty", "--good", "HEAD~3", "--bad", "HEAD", "--tests", "test_target")
        assert done.returncode == 60 and "has uncommitted changes (e.g. Lib/os.py)" in done.stderr, done.stderr
        assert lib.read_text().endswith("in progress\n") and not out.exists()
    finally:
        lib.write_text(kept)
    plain = tmp_path / "plain"
    plain.mkdir()
    done = subprocess.run([CLI, "bisect", "--source", plain, "--good", "a", "--bad", "b", "--tests", "test_x"],
                          env=history["env"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 10 and "not a git work tree" in done.stderr, done.stderr
    on_start(history)


def test_sigterm_midway_leaves_the_checkout_where_it_started(history):
    c = history["c"]
    hold = history["root"] / "hold"
    env = {**history["env"], HOLD_ENV: str(hold)}
    out = history["root"] / "cancelled"
    process = subprocess.Popen([CLI, "bisect", "--source", history["repo"], "--out", out, "--toolchain", "system",
                                "--jobs", "1", "--good", c[0], "--bad", c[8], "--tests", "test_target"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        # After two steps (the endpoints), the third step's build is held.
        while time.monotonic() < deadline and not _steps_done(out, 2):
            time.sleep(0.1)
        hold.write_text("hold make-host\n")
        while time.monotonic() < deadline and not Path(str(hold) + ".pids").exists():
            time.sleep(0.1)
        assert Path(str(hold) + ".pids").exists(), "the third step's build never started"
        held_at = git(history["repo"], "rev-parse", "HEAD")
        assert held_at not in (c[0], c[8], c[15])
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        hold.unlink(missing_ok=True)
    assert process.returncode == 130, output[-3000:]
    result = json.loads((out / "bisect.json").read_text())
    assert result["state"] == "cancelled" and len(result["steps"]) == 3
    assert result["steps"][2]["commit"] == held_at
    assert (result["steps"][2]["outcome"], result["steps"][2]["verdict"]) == ("stopped", None)
    on_start(history)


def _steps_done(out: Path, count: int) -> bool:
    try:
        result = json.loads((out / "bisect.json").read_text())
    except (OSError, ValueError):
        return False
    return len([s for s in result["steps"] if s["outcome"]]) >= count


def _store_lane(history, db: str) -> dict[int, str]:
    """Runs of one builder on main in a real SQLite status store: test_target passed at c0 and c2,
    failed at c8 and c10 (c10's run also has test_other passing). Returns {commit index: run id}."""
    from emscripten_python.results.model import Run, Stage, TestFile
    from emscripten_python.status.ingest import record_run
    ids = {}
    for hour, (index, outcome) in enumerate(((0, "passed"), (2, "passed"), (8, "failed"), (10, "failed"))):
        run = Run(created=f"2026-12-01T{10 + hour:02d}:00:00+00:00", origin={"kind": "buildbot", "builder": "lane"},
                  source={"branch": "main", "commit": history["c"][index], "cpython_version": "3.15.0a0"},
                  stages=[Stage("test", "succeeded", 1.0)])
        run.tests = {"selection": ["test_target", "test_other"],
                     "files": [TestFile("test_target", outcome, 1.0, tests_run=3, failures=int(outcome == "failed")),
                               TestFile("test_other", "passed", 1.0, tests_run=3)]}
        run.decide_outcome()
        path = history["root"] / f"lane-{index}.json"
        run.save(path)
        assert record_run(path, db) == "inserted"
        ids[index] = run.run_id
    return ids


def test_from_run_takes_the_range_and_the_failing_files_from_the_status_store(history):
    c, db = history["c"], f"sqlite:///{history['root'] / 'status.sqlite'}"
    ids = _store_lane(history, db)
    done, out = bisect(history, "from-run", "--from-run", ids[10], "--db", db, "--record")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "bisect.json").read_text())
    assert (result["good"]["commit"], result["bad"]["commit"]) == (c[2], c[10])
    assert result["tests"] == ["test_target"] and result["refs"]["from_run"] == ids[10]
    assert result["first_bad"]["commit"] == c[7]
    # --record: filed under the run's builder and branch; the test page shows the culprit.
    assert (result["origin"]["builder"], result["origin"]["branch"]) == ("lane", "main")
    assert f"inserted: bisection of test_target on main / lane ({c[7]})" in done.stdout
    from emscripten_python.status.web import create_app
    app = create_app(db)
    page = app.test_client().get("/test/test_target.html").get_data(as_text=True)
    app.extensions["emscripten_python_status"].close()
    assert f"<strong><code><bdi>{c[7][:12]}</bdi></code></strong> <bdi>test_target fails</bdi>" in page
    assert f'<a href="../run/{ids[10]}.html">run <bdi>{ids[10][:8]}</bdi></a>' in page
    assert f"{result['builds']} builds" in page
    assert f"from run {ids[10]} of lane on main: GOOD {c[2][:12]}, BAD {c[10][:12]}" in done.stdout + done.stderr
    # A run where nothing failed has nothing to bisect: exit 60 before any work.
    done, out = bisect(history, "from-run-green", "--from-run", ids[2], "--db", db)
    assert done.returncode == 60 and "no test file failed in that run" in done.stderr and not out.exists()
    done, out = bisect(history, "from-run-missing", "--from-run", "f" * 32, "--db", db)
    assert done.returncode == 60 and "no such run in the status store" in done.stderr and not out.exists()
    on_start(history)
