"""The run's record in --out: results.json, saved after every step, and the reports rendered
from it (junit.xml, summary.md).

Every stage can run in its own process, so results.json is the state the stages share: a
stage that continues a run loads it, a new run starts one. It is saved atomically with its
outcome decided again each time, so a reader polling the file always sees a whole,
consistent record (docs/architecture.rst, "How stages share state").
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..durable import atomic_write
from ..results.model import Run, Stage
from ..results.validation import load_validated
from ..testing.junit import write_junit
from .markdown import render_markdown

RESULTS = "results.json"
# What a run writes into --out besides its record: a new run removes an earlier one's.
RUN_OUTPUTS = ("logs", "junit", "shards", "runtimes", "browser")


class RunRecord:
    def __init__(self, out: Path, *, new_run: bool, origin: dict | None = None) -> None:
        """new_run: start a new record (run, toolchain); otherwise continue the one in ``out``."""
        self.out = out
        self.out.mkdir(parents=True, exist_ok=True)
        self.path = out / RESULTS
        self.run = load_validated(self.path) if not new_run and self.path.exists() else Run()
        if new_run:
            # A reused --out must not carry an earlier run's logs into this run's bundle.
            for stale in RUN_OUTPUTS:
                shutil.rmtree(out / stale, ignore_errors=True)
        if origin:
            self.run.origin = {**self.run.origin, **origin}

    def save(self) -> None:
        self.run.decide_outcome()
        self.run.save(self.path)

    def stage(self, stage: Stage) -> None:
        """Record ``stage`` (replacing an earlier one of its name) and save."""
        self.run.set_stage(stage)
        self.save()

    def report(self) -> None:
        """junit.xml and summary.md of the run as it stands, and the record saved."""
        self.run.decide_outcome()
        write_junit(self.run, self.out / "junit.xml")
        atomic_write(self.out / "summary.md", render_markdown(self.run))
        self.save()
