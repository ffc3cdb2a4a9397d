"""SIGKILL in every stage of the real build (Debian's emcc 3.1.69, CPython 3.13.15), one stage
per CLI command as Buildbot runs them; after each kill the record and caches are whole, and the
same command run again finishes. Runs after the other e2e modules (it rewrites --out).

The kill takes the CLI and everything it started (make, emcc, node), stopped first, as a
machine going down would; a stage that ends before its timed kill is killed at its own fault
point instead (docs/e2e.rst). Costs about 2.5 minutes on a warm build (docs/e2e.rst).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emscripten_python.results.artifacts import verify_bundle
from emscripten_python.durable import FAULT_ENV, FAULT_LOG_ENV
from emscripten_python.building.toolchain.emcache import COPIED
from emscripten_python.results.validation import load_validated

from real_build import OUT, _source  # noqa: E402  (the shared real build)

sys.path.insert(0, str(Path(__file__).parents[1] / "faults"))
from fault_rig import kill_tree  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]
CACHE = "/var/cache/emscripten-python"
TESTS = "test_bool,test_int,test_math"
# (command, stage, when): seconds into the stage before the kill, or the label of the fault
# point (durable.fault_point) to kill at. The configure steps are cached on the warm build
# (running them again would cost a full rebuild): they are killed at their own write, the
# record of which inputs the tree's config.cache came from, between its temporary file and
# the rename.
TREE_KEY = "replace .emscripten-python-config-cache.json"
KILLS = [("toolchain", "toolchain", 0.3), ("build", "configure-build-python", TREE_KEY),
         ("build", "make-build-python", 0.5), ("build", "pythoninfo-build", 0.3),
         ("build", "configure-host", TREE_KEY), ("build", "make-host", 1.0), ("build", "pythoninfo-host", 0.5),
         ("test", "test", 4.0), ("bundle", "bundle", 1.0)]
# When a command ends before its timed kill (a warm make has nothing to do; the toolchain
# check and the bundle take a second or two), it is killed at a fault point of the stage
# instead: where a build stage starts, the toolchain's record, the bundle's own write.
FALLBACK = {"build": "stage {stage}", "toolchain": "write results.json", "test": "stage test",
            "bundle": "write emscripten-python-"}
FAULT_LOG = "/var/lib/ep-e2e/fault-points.log"


def _start(root, script: str, extra_env: dict) -> subprocess.Popen:
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
           "LANG": "C.UTF-8", "TERM": "dumb", "EMSCRIPTEN_PYTHON_CACHE": CACHE, **extra_env}
    return subprocess.Popen(["chroot", str(root.path), "/bin/bash", "-c", f"cd /var/lib/ep-e2e && {script} 2>&1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _points(root) -> list[str]:
    """The fault points the CLI passes, in order, from the fault log (its own pid's lines:
    a process it starts that imports the package counts on its own)."""
    lines = (root.path / FAULT_LOG.lstrip("/")).read_text().splitlines()
    first = lines[0].split(" ", 1)[0]
    return [line.split(" ", 2)[2] for line in lines if line.split(" ", 1)[0] == first]


def _kill_at_point(root, script: str, label: str) -> tuple[bool, str]:
    """Count the fault points of a whole run of script (KILL_AT=0 kills nothing), then run it
    again killed by the fault hook at the first point whose label starts with label."""
    log = root.path / FAULT_LOG.lstrip("/")
    log.unlink(missing_ok=True)
    counted = _start(root, script, {FAULT_ENV: "0", FAULT_LOG_ENV: FAULT_LOG})
    output, _ = counted.communicate(timeout=900)
    assert counted.returncode == 0, output[-3000:]
    points = _points(root)
    at = next((index for index, point in enumerate(points, 1) if point.startswith(label)), None)
    assert at, f"no fault point {label!r} in {script}: {points}"
    log.unlink()
    process = _start(root, script, {FAULT_ENV: str(at), FAULT_LOG_ENV: FAULT_LOG})
    output, _ = process.communicate(timeout=900)
    # bash reports the CLI's SIGKILL as 137 (or, when it exec'ed the CLI, chroot itself dies of it)
    killed = process.returncode in (128 + signal.SIGKILL, -signal.SIGKILL) and _points(root)[-1] == points[at - 1]
    return killed, output


def _kill_in_stage(root, script: str, stage: str, delay: float) -> tuple[bool, str]:
    """Start script; once its output says `stage <stage>` (starting or cached), wait delay
    seconds and kill it and everything it started. True when the stage was still running."""
    process = _start(root, script, {})
    seen, output, deadline = False, "", time.monotonic() + 900
    fd = process.stdout.fileno()
    while time.monotonic() < deadline and not seen:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        chunk = os.read(fd, 65536).decode(errors="replace")
        if not chunk:
            break
        output += chunk
        seen = f"stage {stage} " in output or f"stage {stage}\n" in output
    if seen:
        time.sleep(delay)
    alive = process.poll() is None
    kill_tree(process)
    while select.select([fd], [], [], 5.0)[0]:      # what it printed before the kill
        chunk = os.read(fd, 65536).decode(errors="replace")
        if not chunk:
            break
        output += chunk
    process.stdout.close()
    # Killed in the stage only if the stage had not ended yet (a warm make-host ends in under
    # a second and the command goes on to verify-host).
    return seen and alive and f"<== stage {stage} " not in output, output


def _invariants(root, tree: Path) -> list[str]:
    out = root.path / OUT.lstrip("/")
    problems = []
    if (out / "results.json").exists():
        try:
            load_validated(out / "results.json")
        except Exception as exc:      # noqa: BLE001 - any failure to read it is the violation
            problems.append(f"results.json: {exc}")
    for bundle in out.glob("emscripten-python-*.tar.gz"):
        if verify_bundle(bundle):
            problems.append(f"{bundle.name} does not verify")
    for copy in (root.path / CACHE.lstrip("/")).glob("emcache-*"):
        if copy.is_dir() and not copy.name.endswith(".partial") and not (copy / COPIED).is_file():
            problems.append(f"{copy} has no {COPIED}")
    for stamp in tree.glob("builddir/*/.emscripten-python-configure-*.stamp"):
        if not (stamp.parent / "config.status").exists():
            problems.append(f"{stamp} without config.status")
    for record in tree.glob("builddir/*/.emscripten-python-config-cache.json"):
        try:
            json.loads(record.read_text())
        except ValueError as exc:
            problems.append(f"{record} is torn: {exc}")
    return problems


def test_sigkill_in_every_stage_of_the_real_build(real_run):
    env = real_run["env"]
    root, cli = env["root"], env["cli"]
    tree = root.path / real_run["results"]["source"]["path"].lstrip("/")
    common = f"--toolchain system --mirror /mirror --source {_source(env)} --out {OUT}"
    args = {"toolchain": f"toolchain {common}", "build": f"build {common}",
            "test": f"test {common} --tests {TESTS} --jobs 1 --timeout 900", "bundle": f"bundle {common}"}
    kills, checks, violations, report = 0, 0, [], []
    for command, stage, when in KILLS:
        script = f"{cli} {args[command]}" + (f" --only {stage}" if command == "build" else "")
        if isinstance(when, str):
            killed, output = _kill_at_point(root, script, when)
        else:
            killed, output = _kill_in_stage(root, script, stage, when)
            if not killed:
                when = FALLBACK[command].format(stage=stage)
                killed, output = _kill_at_point(root, script, when)
        assert killed, f"never killed {command} in stage {stage}:\n{output[-2000:]}"
        kills += 1
        found = _invariants(root, tree)
        checks += 1
        violations += [f"after the kill in {stage}: {p}" for p in found]
        started = time.monotonic()
        again = root.chroot(f"cd /var/lib/ep-e2e && {script}", check=False, capture=True,
                            env={"EMSCRIPTEN_PYTHON_CACHE": CACHE})
        report.append(f"{stage}: killed {f'at {when!r}' if isinstance(when, str) else f'{when:.1f} s in'}, rerun rc {again.returncode} "
                      f"in {time.monotonic() - started:.0f} s")
        assert again.returncode == 0, f"{script} after the kill in {stage}:\n{again.stdout[-3000:]}"
        checks += 1
        violations += [f"after the rerun of {stage}: {p}" for p in _invariants(root, tree)]
    results = json.loads((root.path / OUT.lstrip("/") / "results.json").read_text())
    assert {f["name"]: f["outcome"] for f in results["tests"]["files"]} == dict.fromkeys(TESTS.split(","), "passed")
    assert any(a["path"].endswith(".tar.gz") for a in results["artifacts"])
    line = f"real build SIGKILL per stage: {kills} kills, {checks} invariant checks, {len(violations)} violations"
    env["report"] += [line, *report]
    print("\n".join([line, *report]))
    assert violations == []
