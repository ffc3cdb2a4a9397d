"""The stand-in pipeline under hard faults: a rig to kill it, and the invariants checked after.

The rig is the stand-in tree and toolchain of tests/shards (real CLI processes, real node,
real git), with what the issue's caches need to be exercised: a stand-in emsdk repository
(`--toolchain emsdk` clones it and runs its `emsdk install`, which lays out an emcc of the
asked version and a frozen Emscripten cache, so the writable copy is made), configure steps
that write config.status and a config.cache in place as autoconf does, and a SQLite status
store every finished run is recorded in. Used by tests/faults/test_fault_injection.py (a fixed
budget) and scripts/fault-injection (a larger one).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "shards"))
from stand_in import CLI, make_relocatable_repo  # noqa: E402
from fake_cpython import EMSCRIPTEN_VERSION, make_toolchain  # noqa: E402

from emscripten_python import durable  # noqa: E402
from emscripten_python.results.artifacts import verify_bundle  # noqa: E402
from emscripten_python.building.toolchain.emcache import COPIED  # noqa: E402
from emscripten_python.building.toolchain.emsdk import INSTALLED_STAMP  # noqa: E402
from emscripten_python.results.validation import load_validated  # noqa: E402

TESTS = "test_ok_a,test_fail_b,test_crash_c"
EXPECTED_FILES = {"test_ok_a": "passed", "test_fail_b": "failed", "test_crash_c": "crashed"}
EXPECTED_RC = 30                  # tests ran, one failed and one crashed
FROZEN_FILES = 40                 # files in the stand-in emsdk's frozen Emscripten cache

FAKE_EMSDK = r'''import os, sys, time
from pathlib import Path
here = Path(__file__).resolve().parent
command, version = sys.argv[1], sys.argv[2]
if command == "install":
    with open(os.environ["FAKE_EMSDK_LOG"], "a") as log:
        log.write(f"{version} {os.getpid()}\n")
    tools = here / "upstream" / "emscripten"
    tools.mkdir(parents=True, exist_ok=True)
    for template in Path(os.environ["FAKE_EMSDK_TEMPLATE"]).iterdir():
        text = template.read_text().replace("TEMPLATE_VERSION (fake)", version + " (fake)")
        text = text.replace('"FROZEN_CACHE": "False"', '"FROZEN_CACHE": "True"')
        (tools / template.name).write_text(text)
        (tools / template.name).chmod(0o755)
        time.sleep(0.02)
    frozen = here / "upstream" / "emcache" / "sysroot" / "lib"
    frozen.mkdir(parents=True, exist_ok=True)
    for index in range(FROZEN_FILES):
        (frozen / f"lib{index}.a").write_bytes(bytes([index]) * 20000)
    time.sleep(0.3)      # an install takes a while: runs started together overlap in it
elif command == "activate":
    (here / ".emscripten").write_text(f"EMSCRIPTEN_ROOT = '{here}/upstream/emscripten'\n")
'''.replace("TEMPLATE_VERSION", EMSCRIPTEN_VERSION).replace("FROZEN_FILES", str(FROZEN_FILES))

# configure-* in the stand-in driver: config.cache rewritten in place with a pause in the
# middle (autoconf's cache save is not atomic), a torn one refused, then config.status.
# FAKE_FILL_DISK=COMMAND:DIR:LEAVE: that driver command takes all the free space in DIR but
# LEAVE bytes (a disk that fills up while a build runs).
FILL_ENV = "FAKE_FILL_DISK"
CONFIGURE = r'''fill = os.environ.get("FAKE_FILL_DISK", "").split(":")
if fill[0] == command:
    with open(os.path.join(fill[1], "filler"), "ab") as handle:
        while True:
            stat = os.statvfs(fill[1])
            left = stat.f_bavail * stat.f_frsize - int(fill[2])
            if left <= 0:
                break
            try:
                handle.write(b"\0" * min(left, 65536))
                handle.flush()
            except OSError:
                break
if command.startswith("configure"):
    build = host if command == "configure-host" else host.parents[2] / "build"
    build.mkdir(parents=True, exist_ok=True)
    cache = build / "config.cache"
    if cache.exists() and not cache.read_text().endswith("# complete\n"):
        sys.exit(f"configure: error: {cache} is torn")
    with open(cache, "w") as handle:
        for index in range(200):
            handle.write(f"ac_cv_fake_{index}=${{ac_cv_fake_{index}=yes}}\n")
            if index == 100:
                handle.flush()
                time.sleep(0.2)
        handle.write("# complete\n")
    (build / "config.status").write_text("#!/bin/sh\n")
if command == "make-host":'''

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}


def git(cwd: Path, *argv: str) -> None:
    subprocess.run(["git", *argv], cwd=cwd, env={**os.environ, **GIT_ENV}, check=True, capture_output=True)


def make_emsdk_repo(root: Path, template: Path) -> dict:
    """A git repository standing in for emsdk; returns the environment install_emsdk needs."""
    repo = root / "emsdk-repo"
    repo.mkdir(parents=True)
    (repo / "emsdk").write_text(f"#!{sys.executable}\n{FAKE_EMSDK}")
    (repo / "emsdk").chmod(0o755)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "emsdk")
    return {"EMSDK_REPO": str(repo), "FAKE_EMSDK_TEMPLATE": str(template),
            "FAKE_EMSDK_LOG": str(root / "emsdk-installs.log")}


def make_fault_tree(root: Path) -> Path:
    repo = make_relocatable_repo(root)
    driver = repo / "Platforms" / "emscripten" / "__main__.py"
    text = driver.read_text()
    assert 'if command == "make-host":' in text
    driver.write_text(text.replace('if command == "make-host":', CONFIGURE, 1))
    git(repo, "commit", "-q", "-am", "configure writes config.cache and config.status")
    return repo


@dataclass
class Rig:
    root: Path
    repo: Path
    env: dict
    cache: Path
    out: Path
    store: Path

    @classmethod
    def make(cls, root: Path) -> "Rig":
        root.mkdir(parents=True, exist_ok=True)
        template = make_toolchain(root / "toolchain")
        repo = make_fault_tree(root / "cpython")
        env = {k: v for k, v in os.environ.items()
               if k not in ("EMSCRIPTEN_PYTHON_NO_RECORD",) and not k.startswith(("EMSDK", "EM_"))}
        env.update(make_emsdk_repo(root, template))
        store = root / "status.sqlite"
        env["EMSCRIPTEN_PYTHON_STATUS_DB"] = f"sqlite:///{store}"
        return cls(root=root, repo=repo, env=env, cache=root / "cache", out=root / "out", store=store)

    def argv(self, out: Path | None = None, cache: Path | None = None, toolchain: str = "emsdk") -> list[str]:
        return [str(CLI), "run", "--source", str(self.repo), "--out", str(out or self.out),
                "--cache-dir", str(cache or self.cache), "--toolchain", toolchain,
                "--tests", TESTS, "--jobs", "1"]

    def start(self, *, kill_at: int | None = None, fault_log: Path | None = None, **where) -> subprocess.Popen:
        env = dict(self.env)
        if kill_at is not None:
            env[durable.FAULT_ENV] = str(kill_at)
        if fault_log is not None:
            env[durable.FAULT_LOG_ENV] = str(fault_log)
        return subprocess.Popen(self.argv(**where), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)

    def run(self, **kwargs) -> tuple[int, str, str]:
        process = self.start(**kwargs)
        try:
            stdout, stderr = process.communicate(timeout=180)
        finally:
            kill_tree(process)
        return process.returncode, stdout, stderr

    def count_points(self, label_file: Path) -> list[str]:
        """The fault points a whole run passes, in order (KILL_AT=0 counts without killing)."""
        label_file.unlink(missing_ok=True)
        rc, stdout, stderr = self.run(kill_at=0, fault_log=label_file)
        assert rc == EXPECTED_RC, stdout[-2000:] + stderr[-2000:]
        return [line.split(" ", 2)[2] for line in label_file.read_text().splitlines()]


def descendants(pid: int) -> list[int]:
    """pid and every process below it (by parent pid, from /proc), parents first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        current = queue.pop(0)
        found.append(current)
        queue += children.get(current, [])
    return found


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL the process and everything it started, as a machine going down would: the stage
    children run in sessions of their own, so killing the process group alone would leave them
    building on while the next run starts. Stopped first, so none can start another."""
    if process.poll() is not None:
        return              # ended (and reaped): its pid may already be another process's
    tree = descendants(process.pid)
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in tree:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
    process.wait()


@dataclass
class Tally:
    kills: int = 0
    point_kills: int = 0
    time_kills: int = 0
    checks: int = 0
    recoveries: int = 0
    labels: set = field(default_factory=set)
    violations: list = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        self.checks += 1
        if not ok:
            self.violations.append(what)

    def line(self) -> str:
        return (f"kills injected: {self.kills} ({self.point_kills} at a fault point, {self.time_kills} "
                f"by time); invariants checked: {self.checks}; next runs: {self.recoveries}; "
                f"violations: {len(self.violations)}")


def check_outputs(out: Path, tally: Tally) -> None:
    """Every output in out is absent or whole: results.json validates, JSON and XML parse, bundles verify."""
    results = out / "results.json"
    if results.exists():
        try:
            load_validated(results)
            tally.check(True, "")
        except Exception as exc:      # noqa: BLE001 - any failure to read it is the violation
            tally.check(False, f"results.json does not validate: {exc}")
    for name in ("test-durations.json", "stage-durations.json"):
        if (out / name).exists():
            try:
                json.loads((out / name).read_text())
                tally.check(True, "")
            except ValueError as exc:
                tally.check(False, f"{name} is torn: {exc}")
    for junit in [out / "junit.xml", *(out / "junit").glob("*.xml")] if (out / "junit").is_dir() \
            else [out / "junit.xml"]:
        if junit.exists() and junit.name == "junit.xml":
            try:
                ET.parse(junit)
                tally.check(True, "")
            except ET.ParseError as exc:
                tally.check(False, f"{junit.name} is torn: {exc}")
    for bundle in out.glob("emscripten-python-*.tar.gz"):
        try:
            problems = verify_bundle(bundle)
        except Exception as exc:      # noqa: BLE001
            problems = [f"unreadable: {exc}"]
        tally.check(problems == [], f"{bundle.name} exists but does not verify: {problems[:3]}")


def check_caches(rig: Rig, tally: Tally, cache: Path | None = None) -> None:
    """A cache entry under its final name is complete; config stamps vouch for whole configures."""
    cache = cache or rig.cache
    for emsdk in (cache / "emsdk").glob("*/emsdk"):
        complete = durable.is_complete(emsdk, INSTALLED_STAMP)
        tools = emsdk / "upstream" / "emscripten"
        whole = (tools / "emcc").exists() and (tools / "em-config").exists() and \
            len(list((emsdk / "upstream" / "emcache" / "sysroot" / "lib").glob("*.a"))) == FROZEN_FILES
        config = (emsdk / ".emscripten").read_text() if (emsdk / ".emscripten").exists() else ""
        tally.check(complete and whole and ".partial" not in config,
                    f"{emsdk} under its final name but incomplete (stamp {complete}, files {whole})")
    for copy in cache.glob("emcache-*"):
        if copy.name.endswith((".lock", ".partial")):
            continue
        files = list((copy / "sysroot" / "lib").glob("*.a"))
        tally.check(durable.is_complete(copy, COPIED) and len(files) == FROZEN_FILES
                    and all(f.stat().st_size == 20000 for f in files),
                    f"{copy} under its final name but incomplete ({len(files)} files)")
    for stamp in rig.repo.rglob(".emscripten-python-configure-*.stamp"):
        build = stamp.parent
        cache_file = build / "config.cache"
        tally.check((build / "config.status").exists() and cache_file.exists()
                    and cache_file.read_text().endswith("# complete\n"),
                    f"{stamp} vouches for a configure that did not finish")


def check_store(url: str, tally: Tally) -> dict[str, tuple[int, int]]:
    """Every stored run has all its files (files_total rows), no row belongs to no run; returns
    {run_id: (files, cases)} of what is stored. url: a SQLAlchemy URL (SQLite or PostgreSQL)."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        if "runs" not in inspect(engine).get_table_names():
            return {}
        with engine.connect() as db:
            stored = {row[0]: (row[1], row[2], row[3]) for row in db.execute(text(
                "select r.run_id, r.files_total, count(distinct f.id), count(c.id) from runs r "
                "left join test_files f on f.run_pk = r.id left join test_cases c on c.file_pk = f.id "
                "group by r.id, r.run_id, r.files_total"))}
            partial = [run_id for run_id, (total, files, _) in stored.items() if total != files]
            tally.check(not partial, f"runs stored without all their files: {partial[:3]}")
            orphans = db.execute(text("select count(*) from test_files where run_pk not in "
                                      "(select id from runs)")).scalar()
            orphans += db.execute(text("select count(*) from test_cases where file_pk not in "
                                       "(select id from test_files)")).scalar()
            tally.check(orphans == 0, f"{orphans} stored files or cases of no run")
    finally:
        engine.dispose()
    return {run_id: (files, cases) for run_id, (_, files, cases) in stored.items()}


def check_all(rig: Rig, tally: Tally) -> None:
    check_outputs(rig.out, tally)
    check_caches(rig, tally)
    check_store(f"sqlite:///{rig.store}", tally)


def check_next_run(rig: Rig, tally: Tally) -> None:
    """The run after a kill ends as a whole run does, and uses only complete cache entries."""
    rc, stdout, stderr = rig.run()
    tally.recoveries += 1
    tally.check(rc == EXPECTED_RC, f"the next run ended {rc}: {stderr[-800:]}")
    try:
        results = json.loads((rig.out / "results.json").read_text())
    except (OSError, ValueError) as exc:
        tally.check(False, f"the next run left no results.json: {exc}")
        return
    files = {f["name"]: f["outcome"] for f in results.get("tests", {}).get("files", [])}
    tally.check(files == EXPECTED_FILES, f"the next run's files {files}")
    tally.check(results.get("toolchain", {}).get("emcc_version") == EMSCRIPTEN_VERSION,
                f"the next run's emcc {results.get('toolchain', {}).get('emcc_version')}")
    em_cache = Path(results.get("toolchain", {}).get("em_cache") or "/nonexistent")
    tally.check(durable.is_complete(em_cache, COPIED), f"the next run used {em_cache}, which is incomplete")
    tally.check(any(a["path"].endswith(".tar.gz") for a in results.get("artifacts", [])),
                "the next run made no bundle")
    check_all(rig, tally)


def inject(rig: Rig, tally: Tally, *, point_kills: int, time_kills: int, seed: int = 24,
           recover_every: int = 3, cold_every: int = 4, log=print) -> Tally:
    """Kill the stand-in pipeline point_kills times at a fault point and time_kills times at a
    random moment, checking the invariants after each kill and a whole next run every
    recover_every kills; every cold_every kills the cache starts empty (emsdk install and the
    cache copy are then in the run)."""
    chooser = random.Random(seed)
    durable.remove(rig.cache)
    durable.remove(rig.out)
    cold = rig.count_points(rig.root / "points-cold.log")
    warm = rig.count_points(rig.root / "points-warm.log")
    started = time.monotonic()
    rig.run()
    full_run = time.monotonic() - started
    log(f"a whole run passes {len(cold)} fault points with an empty cache, {len(warm)} with a warm "
        f"one, and takes {full_run:.1f} s")
    plan = ["point"] * point_kills + ["time"] * time_kills
    chooser.shuffle(plan)
    for index, kind in enumerate(plan, 1):
        if index % cold_every == 0:
            durable.remove(rig.cache)
        points = cold if not (rig.cache / "emsdk").exists() else warm
        if kind == "point":
            at = chooser.randint(1, len(points))
            rc, _, stderr = rig.run(kill_at=at)
            if rc == -signal.SIGKILL:
                tally.point_kills += 1
                tally.labels.add(points[at - 1].split(" ", 1)[0] + " " + _kind_of(points[at - 1]))
        else:
            process = rig.start()
            time.sleep(chooser.uniform(0, full_run * 1.1))
            kill_tree(process)
            rc = process.returncode
            tally.time_kills += rc == -signal.SIGKILL
        tally.kills += rc == -signal.SIGKILL
        check_all(rig, tally)
        if index % recover_every == 0 or index == len(plan):
            check_next_run(rig, tally)
    return tally


def _kind_of(label: str) -> str:
    """'write results.json' -> 'results.json'; a bundle or an entry by its kind, not its name."""
    name = label.split(" ", 1)[1] if " " in label else label
    if name.startswith("emscripten-python-") and name.endswith(".tar.gz"):
        return "bundle"
    if name.startswith("emcache-"):
        return "emcache"
    return name


def sweep(rig: Rig, tally: Tally, *, cold: bool, recover_every: int = 1, log=print) -> Tally:
    """Kill a run at each of its fault points in turn (cold: every one starts with an empty
    cache and build directory), checking the invariants after each kill and a next run every recover_every kills."""
    durable.remove(rig.out)
    if cold:
        durable.remove(rig.cache)
        durable.remove(rig.repo / "cross-build")
    else:
        rig.run()           # warm: the caches and configure stamps are there before the count
    labels = rig.count_points(rig.root / f"sweep-{'cold' if cold else 'warm'}.log")
    for at, label in enumerate(labels, 1):
        if cold:                # an empty cache and build directory: every point is reached
            durable.remove(rig.cache)
            durable.remove(rig.repo / "cross-build")
        rc, _, _ = rig.run(kill_at=at)
        if rc == -signal.SIGKILL:
            tally.kills += 1
            tally.point_kills += 1
            tally.labels.add(label.split(" ", 1)[0] + " " + _kind_of(label))
        check_all(rig, tally)
        if at % recover_every == 0 or at == len(labels):
            check_next_run(rig, tally)
        if at % 20 == 0:
            log(f"  {at}/{len(labels)} points: {tally.line()}")
    return tally
