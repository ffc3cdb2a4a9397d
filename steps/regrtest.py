"""The test step: runs regrtest through the CLI, then turns results.json into the build's verdict."""

from __future__ import annotations

from buildbot.process.results import CANCELLED, FAILURE, worst_status

from ..markdown import render_markdown
from .command import CliStep, jobs_args
from .stages import HOUR, MINUTE
from .summary import describe, result_of, test_properties


class EmscriptenTest(CliStep):
    """Named "test" because CPython's failure extraction (PR comments, mail) looks for that step name."""

    name = "test"
    stage = "test"

    def __init__(self, tests="all", *, file_timeout=None, jobs=None, baseline=None, expected=None,
                 fail_on=None, nodes=(), browser=False, **kwargs):
        """jobs: node processes the test files are sharded across (default: the worker's CPUs).
        baseline / expected / fail_on: compare with a base run (docs/compare.rst), e.g.
        baseline="auto" with the status store reachable from the worker."""
        args = ["--tests", tests, *jobs_args("--jobs", jobs)]
        for flag, value in (("--baseline", baseline), ("--expected", expected), ("--fail-on", fail_on)):
            if value:
                args += [flag, value]
        if file_timeout:
            args += ["--timeout", str(file_timeout)]
        # Several runtimes, one build: the first node is the primary (docs/runtimes.rst).
        args += [arg for node in nodes for arg in ("--node", node)] + (["--browser"] if browser else [])
        kwargs.setdefault("timeout", 30 * MINUTE)
        kwargs.setdefault("maxTime", 6 * HOUR)
        super().__init__(args=args, **kwargs)

    async def run(self):
        cmd = await self.run_cli()
        result = self.command_result(cmd)
        if result == CANCELLED:
            # Stopped: the CLI killed node and wrote outcome "cancelled"; the upload step sends it.
            self.descriptionDone = "cancelled"
            return CANCELLED
        run, problem = await self.read_results()
        if run is None:
            self.descriptionDone = problem
            await self.addCompleteLog("summary", f"{problem}; the test command exited with rc {cmd.rc} "
                                                 "(see the stdio log).\n")
            return FAILURE
        self.set_properties(test_properties(run))
        self.descriptionDone = describe(run) if run.test_files else "no test results"
        await self.addCompleteLog("summary", render_markdown(run))
        return worst_status(result, result_of(run))
