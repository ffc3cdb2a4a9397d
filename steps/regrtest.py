"""The test step: runs regrtest through the CLI, then turns results.json into the build's verdict."""

from __future__ import annotations

import re
import textwrap

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
        properties = test_properties(run)
        self.set_properties(properties)
        await self.add_result_section(run, properties)
        self.descriptionDone = describe(run) if run.test_files else "no test results"
        await self.addCompleteLog("summary", render_markdown(run))
        return worst_status(result, result_of(run))

    async def add_result_section(self, run, properties: dict) -> None:
        """Ends stdio with one result section in regrtest's format for the whole run.

        Each regrtest process (shards, crash isolation, re-runs) printed its own summary and a
        crashed one none; CPython's failure extraction reads the step named "test" for the last
        "N tests failed:" block, which must name every file that failed, crashed or timed out
        (and "N re-run tests:" the flaky ones). Names come from results.json: only a module
        name's characters are kept, so no line can be made up.
        """
        def block(names: list[str], singular: str, plural: str) -> str:
            names = sorted(re.sub(r"[^A-Za-z0-9_.]", "?", name) for name in names)
            if not names:
                return ""
            listed = textwrap.fill(" ".join(names), width=80, initial_indent="    ", subsequent_indent="    ",
                                   break_on_hyphens=False)
            return f"{len(names)} {singular if len(names) == 1 else plural}:\n{listed}\n\n"

        failing = properties["failed_tests"] + properties["crashed_tests"]
        verdict = "FAILURE" if failing else "SUCCESS"
        section = (f"\n== Tests result: {verdict} (all regrtest processes; emscripten-python) ==\n\n"
                   + block(failing, "test failed", "tests failed")
                   + block(properties["flaky_tests"], "re-run test", "re-run tests")
                   + f"Total test files: run={len(run.test_files)} failed={len(failing)}\n"
                   + f"Tests result: {verdict}\n")
        try:
            await self.getLog("stdio").addStdout(section)
        except KeyError:        # no stdio (a step configured without one)
            pass
