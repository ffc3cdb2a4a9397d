"""The test step: runs regrtest through the CLI, then turns results.json into the build's verdict."""

from __future__ import annotations

import re
import textwrap

from buildbot.process.results import CANCELLED, FAILURE, worst_status

from ..report.markdown import render_markdown
from .command import CliStep, jobs_args
from .stages import HOUR, MINUTE
from .summary import describe, result_of, test_properties


# CPython's failure extraction (python/buildmaster-config, master/custom/testsuite_utils.py,
# Logs._get_test_results, read at commit 6c43b74) joins the step's stdio lines (str.splitlines)
# after stripping the channel letter and any further leading "e"/"o", collects every block that
# starts at a line "<number><whitespace>test(s) failed:" (or "... re-run test(s):"), keeps the
# distinct ones in a set and reads whichever the set lists last. Each regrtest process (a shard,
# a crashed file's isolated re-run) prints its own such block, so with several blocks it named
# an arbitrary process's failures. In the step's stdio every line the extraction could take as
# such a start, "<number><whitespace>...", is therefore shown behind "| ", and the step's own
# section for the whole run (add_result_section) is the only block there is.
_COUNT_LINE = re.compile(r"\d+\s")
SHIELD = "| "


def shield_count_lines(text: str) -> str:
    return "".join(SHIELD + line if _COUNT_LINE.match(line.lstrip("eo")) else line
                   for line in text.splitlines(keepends=True))


class _ShieldedStdio:
    """The stdio log as the remote command writes the worker's output to it, count lines shielded."""

    def __init__(self, log):
        self._log = log

    def __getattr__(self, name):
        return getattr(self._log, name)

    def add_stdout_lines(self, text):
        return self._log.add_stdout_lines(shield_count_lines(text))

    def add_stderr_lines(self, text):
        return self._log.add_stderr_lines(shield_count_lines(text))

    def addStdout(self, text):
        return self._log.addStdout(shield_count_lines(text))

    def addStderr(self, text):
        return self._log.addStderr(shield_count_lines(text))


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

    async def run_cli(self):
        cmd = await self.makeRemoteShellCommand()
        if "stdio" in cmd.logs:
            cmd.logs["stdio"] = _ShieldedStdio(cmd.logs["stdio"])
        await self.runCommand(cmd)
        return cmd

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

        Each regrtest process (shards, crash isolation, re-runs) printed its own summary, shown
        shielded (shield_count_lines), and a crashed one none; CPython's failure extraction reads
        the step named "test" for the "N tests failed:" block, this one, which names every file
        that failed, crashed or timed out (and "N re-run tests:" the flaky ones). Names come from
        results.json: only a module name's characters are kept, so no line can be made up.
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
