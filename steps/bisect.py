"""The `bisect` builder: a forced build that runs `emscripten-python bisect` on a full checkout.

A maintainer starts it from the force form (admins only, master/master.cfg) with GOOD, BAD and
the test files; the step runs the CLI, which does the whole search on the worker (a warm
rebuild per step, the worker's cache dir), and the build shows the answer and uploads
bisect.json and bisect.md. Stop: the worker sends SIGTERM, the CLI puts the checkout back and
exits 130 (CANCELLED).
"""

from __future__ import annotations

import json

from buildbot.process.factory import BuildFactory
from buildbot.process.properties import Interpolate
from buildbot.process.results import CANCELLED, SUCCESS, WARNINGS

from ..errors import BisectInconclusive, Cancelled
from ..results.validation import COMMIT
from .checkout import EmscriptenCheckout
from .command import CHECKOUT, OUT, OUT_DIR, CliStep, jobs_args
from .stages import HOUR, MINUTE, EmscriptenClean
from .upload import EmscriptenUpload

# What the force form accepts (master.cfg): a revision git can name without quoting, never an
# option (no leading "-"), and regrtest file names. The CLI checks both again before any work.
REVISION = r"^[A-Za-z0-9][A-Za-z0-9._/~^-]{0,99}$"
TESTS = r"^test[A-Za-z0-9_.]*(,test[A-Za-z0-9_.]*){0,49}$"
BISECT_JSON = f"{OUT}/bisect.json"
MAX_BISECT_JSON = 4 * 1024 * 1024      # read back and uploaded at most this much of bisect.json and bisect.md


class EmscriptenBisect(CliStep):
    """`emscripten-python bisect` with the build's properties good, bad, tests and flaky_reruns;
    sets bisect_state, bisect_first_bad and bisect_builds from the bisect.json it wrote."""

    name = "bisect"
    stage = "bisect"

    def __init__(self, *, toolchain="emsdk", mirror=None, cache_dir=None, jobs=None, **kwargs):
        # --opt=VALUE: a value is never read as an option, whatever it starts with.
        args = [Interpolate("--good=%(prop:good)s"), Interpolate("--bad=%(prop:bad)s"),
                Interpolate("--tests=%(prop:tests)s"), Interpolate("--flaky-reruns=%(prop:flaky_reruns:-2)s"),
                "--toolchain", toolchain, *jobs_args("--jobs", jobs)]
        if mirror:
            args += ["--mirror", mirror]
        if cache_dir:
            args += ["--cache-dir", cache_dir]
        kwargs.setdefault("decodeRC", {0: SUCCESS, BisectInconclusive.exit_code: WARNINGS,
                                       Cancelled.exit_code: CANCELLED})
        super().__init__(args=args, **kwargs)

    async def run(self):
        result = self.command_result(await self.run_cli())
        if result != CANCELLED and not self.stopped:
            self.describe(await self.read_worker_file(BISECT_JSON, MAX_BISECT_JSON))
        return result

    def describe(self, data: bytes | None) -> None:
        """The answer as the step's text and as properties; bisect.json was written on the
        worker, so only values of the expected shape are used."""
        try:
            report = json.loads(data) if data and len(data) <= MAX_BISECT_JSON else None
        except ValueError:
            report = None
        if not isinstance(report, dict):
            self.descriptionDone = f"no readable {OUT_DIR}/bisect.json"
            return
        state = report.get("state") if report.get("state") in ("found", "inconclusive", "error") else "unknown"
        first_bad = report.get("first_bad")
        sha = first_bad.get("commit") if isinstance(first_bad, dict) else None
        builds = report.get("builds") if isinstance(report.get("builds"), int) else None
        self.set_properties({"bisect_state": state, "bisect_builds": builds,
                             "bisect_first_bad": sha if isinstance(sha, str) and COMMIT.match(sha) else None})
        suspects = report.get("suspects") if isinstance(report.get("suspects"), list) else []
        self.descriptionDone = {
            "found": f"first bad commit {sha[:12]}" if isinstance(sha, str) and COMMIT.match(sha) else "found",
            "inconclusive": f"inconclusive: {len(suspects)} suspect commits",
        }.get(state, f"bisect {state}") + (f" ({builds} builds)" if builds is not None else "")


class EmscriptenBisectFactory(BuildFactory):
    """Checkout of BRANCH with its whole history, the bisect step, the uploads, a clean;
    with record_status, the master records the answer in the status store."""

    def __init__(self, *, branch="main", repourl, toolchain="emsdk", mirror=None, cache_dir=None, jobs=None,
                 timeout_factor=1.0, upload_dir="artifacts", upload_url=None, cli=None, record_status=False):
        super().__init__()
        # Read by the status hook (steps/status_report.py): record each finished bisection's
        # uploaded bisect.json in the status store, on the master.
        self.record_status = record_status
        scaled = lambda seconds: int(seconds * timeout_factor)       # noqa: E731
        # method "fresh" (git clean -fdx): the build directories of an earlier bisection go too;
        # what makes the steps warm is the worker's cache dir, outside the build directory.
        self.addStep(EmscriptenCheckout(repourl=repourl, branch=branch, mode="full", method="fresh",
                                        workdir=CHECKOUT, clobberOnFailure=True, timeout=scaled(HOUR),
                                        haltOnFailure=True, logEnviron=False))
        self.addStep(EmscriptenClean(name="clean-previous", dirs=(OUT_DIR,), alwaysRun=False, haltOnFailure=True))
        self.addStep(EmscriptenBisect(toolchain=toolchain, mirror=mirror, cache_dir=cache_dir, jobs=jobs,
                                      **({"cli": cli} if cli else {}),
                                      timeout=scaled(30 * MINUTE), maxTime=scaled(24 * HOUR)))
        for kind, path in (("bisect", BISECT_JSON), ("bisect-summary", f"{OUT}/bisect.md")):
            self.addStep(EmscriptenUpload(kind, path, upload_dir=upload_dir, base_url=upload_url, workdir=CHECKOUT,
                                          maxsize=MAX_BISECT_JSON))
        self.addStep(EmscriptenClean())
