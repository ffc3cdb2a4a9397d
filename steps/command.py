"""The base of every CLI step: one `emscripten-python STAGE` command on the worker.

All stages of a build share one output directory next to the checkout, so a later step
(another process, maybe after a master restart) finds what the earlier ones recorded in
results.json, and a `git clean` of the checkout never touches it.
"""

from __future__ import annotations

from buildbot.process.buildstep import BuildStep, ShellMixin
from buildbot.process.results import CANCELLED, FAILURE, SUCCESS
from buildbot.steps.worker import CompositeStepMixin
from buildbot.worker.protocols.base import FileWriterImpl

from ..errors import Cancelled, ResultsError
from ..results.model import Run
from ..results.validation import Limits, parse_results

CLI = ("emscripten-python",)
CHECKOUT = "build"                         # Buildbot's default workdir inside the builddir
OUT_DIR = "emscripten-python-out"          # relative to the builddir
OUT = f"../{OUT_DIR}"                      # the same, relative to the checkout
RESULTS = f"{OUT}/results.json"
# On "stop" (and a timeout) the worker sends SIGTERM to the command's process group, then
# SIGKILL after this long: the CLI kills node (its own session) and writes results.json.
SIGTERM_SECONDS = 30
# What the master takes of a results.json from a worker (which ran the PR's code): one byte
# over the validator's size limit, so a file at the limit passes and a larger one is known.
RESULTS_MAXSIZE = Limits().max_file_bytes + 1
# Why read_results has no run, when nothing was refused: the build is being stopped, or the CLI
# never wrote the file (it did not start).
STOPPED, MISSING = "cancelled", f"no {OUT_DIR}/results.json on the worker"
# Every other non-zero exit of the CLI is a FAILURE (errors.py / docs/cli.rst list them).
DECODE_RC = {0: SUCCESS, Cancelled.exit_code: CANCELLED}


def jobs_args(flag: str, jobs) -> list:
    """[flag, jobs] when jobs is set (an int or a renderable such as a worker property)."""
    if not jobs:
        return []
    return [flag, jobs if hasattr(jobs, "getRenderingFor") else str(jobs)]


class BoundedBytesWriter(FileWriterImpl):
    """What the worker uploads, kept as bytes (the validator decodes them, so a non-UTF-8 file is
    refused with a message, not an error in the transfer) and never more than ``limit`` of them."""

    def __init__(self, limit: int):
        self.limit = limit
        self.data = bytearray()

    def remote_write(self, data: bytes):
        self.data += data[:self.limit - len(self.data)]

    def remote_close(self):
        pass


class CliStep(ShellMixin, CompositeStepMixin, BuildStep):
    """Runs `CLI STAGE --source . --out OUT --stream ARGS…` in the checkout.

    --stream: the stage's own output (compiler lines, regrtest's console) goes to the step's
    stdio as it is written, and the step's no-output `timeout` means what it says.
    """

    stage: str = ""
    source_args: tuple[str, ...] = ("--source", ".")   # the checkout is the tree the stage works on

    def __init__(self, *, cli=CLI, args=(), **kwargs):
        kwargs.setdefault("workdir", CHECKOUT)
        # The waterfall shows the stage, not the (long) command line.
        label = kwargs.get("name", self.name)
        kwargs.setdefault("description", label)
        kwargs.setdefault("descriptionDone", label)
        kwargs["command"] = [*cli, self.stage, *self.source_args, "--out", OUT, "--stream", *args]
        # Not the worker's whole environment in every (public) log: it may hold a password or token.
        kwargs.setdefault("logEnviron", False)
        kwargs.setdefault("interruptSignal", "KILL")
        kwargs.setdefault("sigtermTime", SIGTERM_SECONDS)
        kwargs.setdefault("decodeRC", DECODE_RC)
        kwargs = self.setupShellMixin(kwargs)
        super().__init__(**kwargs)

    async def run(self):
        cmd = await self.run_cli()
        return self.command_result(cmd)

    async def run_cli(self):
        cmd = await self.makeRemoteShellCommand()
        await self.runCommand(cmd)
        return cmd

    def command_result(self, cmd) -> int:
        """The CLI's exit code as a result; a no-output or maxTime timeout is a FAILURE, even
        though the CLI, killed with SIGTERM like on "stop", said "cancelled" (130)."""
        result = cmd.results()
        if result == CANCELLED and getattr(self, "timed_out", False):
            return FAILURE
        if self.stopped:
            return CANCELLED
        return result

    def set_properties(self, properties: dict) -> None:
        for name, value in properties.items():
            self.setProperty(name, value, type(self).__name__)

    async def read_results(self) -> tuple[Run | None, str | None]:
        """The run's results.json from the worker, or None and why it could not be read.

        The PR's code ran on the worker and may have rewritten the file, so it is read like every
        results.json from elsewhere (emscripten_python/results/validation.py): at most one byte over the
        size limit is transferred, then size, UTF-8, nesting, NaN/Infinity and the schema are
        checked; what the validator refuses comes back as its one line.
        """
        if self.stopped:        # no more remote commands once the build is being stopped
            return None, STOPPED
        limits = Limits()
        data = await self.read_worker_file(RESULTS, limits.max_file_bytes)
        if data is not None and len(data) > limits.max_file_bytes:
            return None, f"{OUT_DIR}/results.json is more than the limit of {limits.max_file_bytes:,} bytes"
        if data is None:
            return None, MISSING
        try:
            return parse_results(data, f"{OUT_DIR}/results.json", limits), None
        except ResultsError as exc:
            return None, str(exc)

    async def read_worker_file(self, path: str, limit: int) -> bytes | None:
        """A file of the worker (relative to the step's workdir): at most limit + 1 bytes of it
        (more than `limit`: too large), or None when it is not there or cannot be read."""
        self.checkWorkerHasCommand("uploadFile")
        writer = BoundedBytesWriter(limit + 1)
        args = {"workdir": self.workdir, "writer": writer, "maxsize": writer.limit, "blocksize": 32 * 1024,
                "workersrc": path}
        uploaded = await self.runRemoteCommand("uploadFile", args, abandonOnFailure=False,
                                               evaluateCommand=lambda cmd: not cmd.didFail())
        # A file over maxsize fails the transfer with its first limit + 1 bytes written.
        return bytes(writer.data) if uploaded or len(writer.data) > limit else None

    async def read_own_results(self, result: int) -> tuple[Run | None, int]:
        """After a stage whose CLI wrote results.json: the run, and ``result``, or FAILURE (the
        reason as the step's description) when the file is there but refused, as one changed
        since the CLI validated and wrote it is."""
        run, problem = await self.read_results()
        if problem in (None, STOPPED, MISSING):
            return run, result
        self.descriptionDone = problem
        return None, FAILURE
