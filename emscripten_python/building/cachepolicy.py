"""When the build caches apply to a build step, and what they did (the Stage's ``cache``).

The mechanisms are elsewhere: configure stamps and the config.cache carried across commits in
``buildcache.py``, the mtimes of unchanged configure outputs in ``configure_outputs.py``. This
is the policy the build stage runs each step under:

* a step whose configure stamp holds the current key is skipped (status ``cached``), unless
  ``--rebuild``; its config.cache is still kept for the next commit;
* otherwise it runs, a configure step seeded with the config.cache carried for its inputs;
  when configure fails with a seeded cache, the cache is dropped and configure runs once more
  without one (its first log kept as ``<step>-seeded.log``);
* after a configure step succeeded: its stamp is written, its config.cache kept, and its
  unchanged outputs get their old mtimes back.

Running a step (its log, progress, the watchdog) stays with the caller, which passes the
function that does it; so does recording the Stage and failing the build.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..results.model import Stage
from . import buildcache
from .configure_outputs import ConfigureOutputs, describe
from .recipes import BuildContext, BuildStep

RunStage = Callable[[str, list, Path, dict, Path], Stage]


class CachePolicy:
    def __init__(self, cache_dir: Path, fingerprint: str | None, *, rebuild: bool, log=print) -> None:
        """fingerprint: the source's (buildcache.source_fingerprint; None: never reused)."""
        self.cache_dir, self.fingerprint, self.rebuild, self.log = cache_dir, fingerprint, rebuild, log

    def run(self, step: BuildStep, context: BuildContext, env: dict[str, str], out: Path, run_stage: RunStage,
            fallback=None) -> Stage:
        """The Stage of ``step`` run (or skipped) under the caches, with what they did in its
        ``cache``; ``env`` is the step's whole environment, ``fallback`` what seeds a configure
        no cache was carried for."""
        log, tree = self.log, context.source.path
        key = buildcache.step_key(step, context.toolchain, self.fingerprint)
        carried = buildcache.ConfigCache(
            self.cache_dir, step, tree, buildcache.config_cache_parts(step, tree, context.toolchain, env),
            log=log) if step.reusable_when is not None else None
        if not self.rebuild and buildcache.is_fresh(step, key):
            log(f"<== stage {step.name} cached: inputs unchanged since it last succeeded")
            if carried:
                carried.save()      # its config.cache (same inputs) seeds the next commit's configure
            return Stage(step.name, "cached", 0.0, command=step.argv)
        buildcache.begin(step, log=log)
        # Taken before configure runs, so a re-run's unchanged outputs keep their mtime (no needless make).
        outputs = ConfigureOutputs(step.reusable_when.parent, tree) if carried else None
        record = carried.prepare(fallback) if carried else None
        stage = run_stage(step.name, step.argv, step.cwd, env, out)
        if stage.status == "failed" and record and record["config_cache"] == "seeded":
            # A carried answer configure cannot live with (autoconf refuses a cache whose
            # precious variables differ, or a check's cached answer breaks a later one).
            log(f"{step.name}: configure failed (rc {stage.returncode}) with the carried config.cache: "
                "dropping it and running configure again without one")
            first_log = out / stage.log
            first_log.replace(first_log.with_name(f"{step.name}-seeded.log"))
            carried.drop()
            record = {**record, "config_cache": "dropped",
                      "reason": f"configure failed with it (rc {stage.returncode}; logs/{step.name}-seeded.log); "
                                "ran again without one"}
            stage = run_stage(step.name, step.argv, step.cwd, env, out)
        buildcache.ended(step, key if stage.status == "succeeded" else None)
        if carried and stage.status == "succeeded":
            carried.save()
            kept = outputs.restore()
            log(describe(step.name, kept))
            record = {**record, "outputs": kept}
        stage.cache = record
        return stage
