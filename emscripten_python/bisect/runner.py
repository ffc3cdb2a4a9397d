"""One bisection: each step checks a commit out, rebuilds it warm and runs the chosen test files.

Every step goes through the same pipeline as `run` (toolchain, build, test), in the same
`OUT/step` directory and cache dir, so what the build caches keep between commits (the
carried config.cache, ccache, make's own up-to-date checks in the tree's build directories)
makes each step an incremental build. The endpoints are tested first: BAD (to learn what the
failure is: a test failing, or the runtime crashing or hanging) and GOOD (that it passes);
then `search.Search` picks the commits.
"""

from __future__ import annotations

import copy
import json
import time
from datetime import datetime, timezone
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import cancel
from ..building.stages import _clock, say
from ..durable import atomic_write
from ..errors import BisectError, BuildError, Cancelled, EmscriptenPythonError, TestRunError
from ..pipeline import Options, Pipeline
from . import git
from .report import render_markdown
from .search import BAD, GOOD, SKIP, Search

SCHEMA = 1
# What one run of the selected files showed, per file outcome (results.FILE_OUTCOMES).
_KIND = {"failed": "fail", "env-changed": "fail", "crashed": "crash", "timed-out": "crash",
         "passed": "pass", "flaky": "pass"}     # flaky: failed, then passed on regrtest's re-run


def run_kinds(files, selection: list[str]) -> set[str]:
    """{'pass', 'fail', 'crash', 'untestable'}: what the run says about each selected file.

    A file that was skipped, denied a resource, ran no test, or is missing from the results
    says nothing (untestable).
    """
    outcomes = {f.name: f.outcome for f in files}
    return {_KIND.get(outcomes.get(name), "untestable") for name in selection}


def verdict_of(kinds: set[str], failure: str) -> str:
    """GOOD, BAD or SKIP for a run, given the failure being bisected ('fail' or 'crash').

    The failure shows: bad. A crash when the failure is a failing test: the crash hides
    whether the test would fail, so skip (a crash counts as bad only when BAD crashed). A
    failing test when the failure is a crash: the runtime got through the file, so the crash
    is not there yet (good). Untestable: skip.
    """
    if failure in kinds:
        return BAD
    unknown = kinds - {"pass"} - ({"fail"} if failure == "crash" else set())
    return SKIP if unknown else GOOD


@dataclass
class Bisection:
    tree: Path
    good: str                      # full commit ids, checked (git.resolve / first_parent_range)
    bad: str
    commits: list[git.Commit]      # after GOOD up to BAD, oldest first
    selection: list[str]
    options: Options               # the pipeline's options for each step (its out is OUT/step)
    out: Path
    flaky_reruns: int = 2
    refs: dict = field(default_factory=dict)   # what was typed: {"good": REV, "bad": REV}
    # Where the bisection ran, for the status store: {"kind", "builder", "branch", "url"}
    # (status record-bisect files it under builder and branch as a run is).
    origin: dict = field(default_factory=dict)
    failure: str | None = None
    steps: list[dict] = field(default_factory=list)
    state: str = "running"
    error: str | None = None
    _toolchain: tuple[dict, dict] | None = None
    _started: float = field(default_factory=time.monotonic)
    started: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        self.search = Search([c.sha for c in self.commits])
        self.known = {c.sha: c for c in self.commits}          # subject and author of each commit
        self.known.setdefault(self.good, git.describe(self.tree, self.good))
        self.subjects = {sha: c.subject for sha, c in self.known.items()}

    # -- the whole bisection --------------------------------------------------------------
    def run(self) -> dict:
        try:
            with git.returning_to_start(self.tree):
                self._endpoints()
                while (sha := self.search.next()) is not None:
                    step = self._step(sha, "search")
                    self.search.record(sha, step["verdict"])
                    self._after(step)
            culprit = self.search.culprit()
            self.state = "found" if culprit else "inconclusive"
        except Cancelled:
            self.state, self.error = "cancelled", f"cancelled by {cancel.reason() or 'a signal'}"
            raise
        except EmscriptenPythonError as exc:
            self.state, self.error = "error", str(exc)
            raise
        finally:
            self.write()
        return self.to_dict()

    def _endpoints(self) -> None:
        bad = self._step(self.bad, "bad")
        if bad["verdict"] != BAD:
            raise BisectError(f"--bad {self.bad[:12]} does not show a failure of {', '.join(self.selection)} "
                              f"({bad['outcome']}): nothing to bisect")
        self._after(bad)
        good = self._step(self.good, "good")
        if good["verdict"] != GOOD:
            raise BisectError(f"--good {self.good[:12]} is not good ({good['outcome']}): "
                              "give a GOOD commit that builds and passes the tests")
        self._after(good)

    def _after(self, step: dict) -> None:
        """Record the step, write bisect.json, and say where the search stands."""
        self.write()
        left = self.search.steps_left() + (1 if step["role"] == "bad" else 0)   # GOOD is still to come
        durations = [s["duration"] for s in self.steps]
        eta = sum(durations) / len(durations) * left
        say(f"bisect: step {len(self.steps)} of about {len(self.steps) + left}: {step['commit'][:12]} "
            f"is {step['verdict']} ({step['outcome']}, {_clock(step['duration'])}); "
            f"{len(self.search.suspects())} suspect commit(s) left"
            + (f", about {_clock(eta)} to go" if left else ""))

    # -- one step -------------------------------------------------------------------------
    def _step(self, sha: str, role: str) -> dict:
        cancel.check()
        number = len(self.steps) + 1
        say(f"bisect: step {number} ({role}): testing {sha[:12]} {self.subjects.get(sha, '')}")
        started = time.monotonic()
        step = {"number": number, "role": role, "commit": sha, "subject": self.subjects.get(sha, ""),
                "built": False, "runs": [], "verdict": SKIP, "outcome": None, "duration": 0.0, "results": None}
        self.steps.append(step)
        git.checkout(self.tree, sha)
        pipeline = Pipeline(self.options, new_run=True)
        try:
            self._toolchain_for(pipeline)
            try:
                step["built"] = True
                pipeline.build_stage()
            except BuildError as exc:
                step["outcome"], step["error"] = "build-failed", str(exc)
                return step
            self._test(step, pipeline)
        finally:
            if step["outcome"] is None:         # a cancel or an error ended the step: no verdict
                step["outcome"], step["verdict"] = "stopped", None
            step["duration"] = round(time.monotonic() - started, 3)
            step["results"] = self._keep_results(pipeline, number, sha)
        return step

    def _toolchain_for(self, pipeline: Pipeline) -> None:
        """The toolchain stage once (at the first step); later steps reuse its record, as a
        staged `build` reuses what `toolchain` wrote."""
        if self._toolchain is None:
            pipeline.toolchain_stage()
            self._toolchain = (copy.deepcopy(pipeline.run.toolchain), copy.deepcopy(pipeline.run.node))
        else:
            pipeline.run.toolchain, pipeline.run.node = map(copy.deepcopy, self._toolchain)
            pipeline.save()

    def _test(self, step: dict, pipeline: Pipeline) -> None:
        """Run the files; a result that counts as bad is run again, up to flaky_reruns more
        times, and only counts when every run agrees (else the step is 'flaky')."""
        for attempt in range(1 + self.flaky_reruns):
            try:
                pipeline.test_stage()
                kinds = run_kinds(pipeline.run.tests["files"], self.selection)
                files = {f.name: f.outcome for f in pipeline.run.tests["files"]}
            except TestRunError as exc:
                kinds, files = {"untestable"}, {}
                step["error"] = str(exc)
            if self.failure is None and step["role"] == "bad" and attempt == 0:
                # What BAD shows is what is bisected; a crash wins when a file also fails.
                self.failure = "crash" if "crash" in kinds else "fail" if "fail" in kinds else None
            verdict = verdict_of(kinds, self.failure) if self.failure else SKIP
            step["runs"].append({"kinds": sorted(kinds), "files": files, "verdict": verdict})
            if verdict != BAD:
                step["verdict"] = verdict
                step["outcome"] = "flaky" if attempt else _outcome(kinds)
                return
        step["verdict"], step["outcome"] = BAD, _outcome(kinds)

    def _keep_results(self, pipeline: Pipeline, number: int, sha: str) -> str | None:
        """The step's results.json under OUT/steps/ (OUT/step is reused by the next step)."""
        if not pipeline.results_path.exists():
            return None
        name = f"steps/{number:02d}-{sha[:12]}.results.json"
        (self.out / "steps").mkdir(parents=True, exist_ok=True)
        atomic_write(self.out / name, pipeline.results_path.read_bytes())
        return name

    # -- output ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        culprit = self.search.culprit() if self.state == "found" else None
        def described(sha: str) -> dict:
            commit = self.known.get(sha) or git.Commit(sha, "")
            return {"commit": sha, "subject": commit.subject, "author": commit.author}
        return {
            "schema": SCHEMA, "state": self.state, "error": self.error, "source": str(self.tree),
            "started": self.started, "origin": self.origin,
            "good": described(self.good), "bad": described(self.bad), "refs": self.refs,
            "tests": self.selection, "flaky_reruns": self.flaky_reruns, "failure": self.failure,
            "commits": len(self.commits),
            "first_bad": described(culprit) if culprit else None,
            "suspects": [described(sha) for sha in self.search.suspects()] if self.state == "inconclusive" else [],
            "builds": sum(s["built"] for s in self.steps),
            "duration": round(time.monotonic() - self._started, 3),
            "steps": self.steps,
        }

    def write(self) -> None:
        data = self.to_dict()
        atomic_write(self.out / "bisect.json", json.dumps(data, indent=2) + "\n")
        atomic_write(self.out / "bisect.md", render_markdown(data))


def _outcome(kinds: set[str]) -> str:
    """One word for a run: the worst of what the files showed."""
    for kind, word in (("crash", "crashed"), ("fail", "failed"), ("untestable", "untestable")):
        if kind in kinds:
            return word
    return "passed"


def plan(tree: Path, good_ref: str, bad_ref: str) -> tuple[str, str, list[git.Commit]]:
    """Check the checkout and the range before any work (BisectError / SourceError)."""
    git.check_clean(tree)
    good, bad = git.resolve(tree, "--good", good_ref), git.resolve(tree, "--bad", bad_ref)
    return good, bad, git.first_parent_range(tree, good, bad)


def step_options(options: Options, out: Path, selection: list[str]) -> Options:
    return replace(options, out=out / "step", tests=",".join(selection))
