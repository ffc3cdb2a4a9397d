"""A real master (master/master.cfg) and a real buildbot-worker process on 127.0.0.1.

The factory runs end to end against the stand-in tree and toolchain (fake_cpython.py):
checkout, toolchain, every build stage, tests with a failure, a crash, a flaky file and a
skip, bundle, uploads, clean; the status hook stores each finished build's results.json
(EP_STATUS_DB) and serves the status dashboard. Then the worker is killed in the middle of a
build: that build must end RETRY/EXCEPTION (not hang), and the retried build must start clean.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from emscripten_python.results.artifacts import verify_bundle
from emscripten_python.status.models import RunRow
from emscripten_python.status.store import Store

from buildbot_helpers import RERUN_HEADER, cpython_blocks
from fake_cpython import COMPILER_ERROR, HOLD_ENV, make_cpython_repo, make_toolchain

# Generous: every wait polls for what it waits for, so only a hang uses this up.
pytestmark = pytest.mark.timeout(900)

REPO_ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent
BUILDER = "Emscripten main"
TESTS = "test_ok_a,test_crash_c,test_fail_b,test_flaky_d,test_skip_e"
SUCCESS, WARNINGS, FAILURE, SKIPPED, EXCEPTION, RETRY, CANCELLED = 0, 1, 2, 3, 4, 5, 6
BUILD_DEADLINE = 300
# How long to wait for anything else to become true (polled; a loaded machine is slow, not broken).
READY = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# A loaded machine or a worker (re)connecting can leave the master's answer torn (IncompleteRead,
# a reset, a body cut mid-JSON) or slow: reads are retried until this many seconds have passed.
READ_PATIENCE = 60


def read_json(url: str, *, patience: float = READ_PATIENCE, **request) -> dict:
    """GET url as JSON; a torn or refused answer is read again, for up to `patience` seconds."""
    deadline = time.monotonic() + patience
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, **request), timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError:
            raise                   # a real answer (404, 403): the caller's business
        except (OSError, ValueError, http.client.HTTPException):
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def read_bytes(url: str, *, patience: float = READ_PATIENCE) -> tuple[bytes, dict]:
    """GET url: its body and headers, read again after a torn or refused answer."""
    deadline = time.monotonic() + patience
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.read(), dict(response.headers)
        except urllib.error.HTTPError:
            raise
        except (OSError, http.client.HTTPException):
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def pids_in(path: Path, count: int = 2) -> list[int] | None:
    """The pids a stand-in writes to `path`, once all `count` are there (the write is not atomic)."""
    try:
        text = path.read_text()
    except OSError:
        return None
    pids = text.split()
    return [int(pid) for pid in pids] if text.endswith("\n") and len(pids) == count and all(
        pid.isdigit() for pid in pids) else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed orphan stays a zombie until init reaps it; it runs no more.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True


class Fleet:
    def __init__(self, root: Path, master_src: Path = REPO_ROOT / "master", builder: str = BUILDER,
                 worker_name: str = "w1"):
        self.root, self.master_src, self.builder, self.worker_name = root, master_src, builder, worker_name
        self.www, self.pb = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.www}/"
        self.hold = root / "hold"
        self.artifacts = root / "artifacts"
        self.master_dir, self.worker_dir = root / "master", root / "worker"
        self.status_db = f"sqlite:///{root / 'status.sqlite'}"
        toolchain = make_toolchain(root / "toolchain")
        repo = make_cpython_repo(root / "cpython")
        self.env = {**os.environ, "PATH": os.pathsep.join([str(toolchain), str(BIN), os.environ["PATH"]]),
                    HOLD_ENV: str(self.hold), "EP_WORKERS": f"{worker_name}:secret-pw",
                    "EP_WORKER_PASSWORD": "secret-pw",
                    "EP_WORKER_PORT": f"tcp:{self.pb}:interface=127.0.0.1",
                    "EP_WWW_PORT": f"tcp:{self.www}:interface=127.0.0.1", "EP_BUILDBOT_URL": self.url,
                    "EP_BRANCHES": "main", "EP_REPO_URL": f"file://{repo}", "EP_TOOLCHAIN": "system",
                    "EP_TESTS": TESTS, "EP_JOBS": "2", "EP_CACHE_DIR": str(root / "cache"),
                    "EP_ARTIFACTS_DIR": str(self.artifacts), "EP_ARTIFACTS_URL": "http://artifacts.test/",
                    "EP_STATUS_DB": self.status_db,
                    "EMSCRIPTEN_PYTHON_WORKER_PASSWORD": "secret-pw"}
        for name in ("EP_GITHUB_TOKEN", "EP_GITHUB_WEBHOOK_SECRET", "EMSCRIPTEN_PYTHON_CACHE"):
            self.env.pop(name, None)
        self.master = self.worker = None

    # -- processes -------------------------------------------------------------------------
    def prepare_master(self):
        self.master_dir.mkdir()
        for name in ("master.cfg", "buildbot.tac"):
            shutil.copy(self.master_src / name if (self.master_src / name).exists() else REPO_ROOT / "master" / name,
                        self.master_dir / name)
        subprocess.run([BIN / "buildbot", "upgrade-master", self.master_dir], env=self.env, check=True,
                       capture_output=True)

    def start_master(self):
        self.prepare_master()
        self.master = subprocess.Popen([BIN / "buildbot", "start", "--nodaemon", self.master_dir], env=self.env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self._reachable(), READY, "the master's web API")

    def create_worker(self):
        done = subprocess.run([BIN / "emscripten-python", "worker", "create", self.worker_name, "--master",
                               f"127.0.0.1:{self.pb}", "--basedir", self.worker_dir, "--service", "systemd",
                               "--user", "buildbot"],
                              env=self.env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    def start_worker(self):
        (self.worker_dir / "twistd.pid").unlink(missing_ok=True)
        self.worker = subprocess.Popen([BIN / "buildbot-worker", "start", "--nodaemon", self.worker_dir],
                                       env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: any(w["connected_to"] for w in self.get("workers")["workers"] if w["name"] == self.worker_name),
                 READY, "the worker to connect")

    def kill_worker(self):
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait(30)

    def processes(self) -> list:
        """What stop() ends, workers first."""
        return [self.worker, self.master]

    def stop(self):
        for process in self.processes():
            if process and process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    # -- the master's REST API ----------------------------------------------------------------
    def _reachable(self) -> bool:
        try:
            read_json(f"{self.url}api/v2/builders", patience=0)
            return True
        except (OSError, ValueError, http.client.HTTPException):
            return False

    def get(self, path: str) -> dict:
        return read_json(f"{self.url}api/v2/{path}")

    def builder_id(self) -> int:
        return next(b["builderid"] for b in self.get("builders")["builders"] if b["name"] == self.builder)

    def rpc(self, path: str, method: str, **params) -> dict:
        body = json.dumps({"jsonrpc": "2.0", "method": method, "id": 1, "params": params}).encode()
        request = urllib.request.Request(f"{self.url}api/v2/{path}", data=body,
                                         headers={"Content-Type": "application/json"})
        # Not retried once sent: a second "force" would be a second build. A torn answer means the
        # master read the request, so the action was taken; callers wait for its effect.
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.load(response)
        except (http.client.IncompleteRead, http.client.RemoteDisconnected, ConnectionResetError, ValueError):
            return {}
        assert "error" not in answer, answer
        return answer

    def force(self, **params):
        self.rpc("forceschedulers/force", "force", builderid=str(self.builder_id()), **params)

    def next_number(self) -> int:
        builds = self.get(f"builders/{self.builder_id()}/builds")["builds"]
        return max((b["number"] for b in builds), default=0) + 1

    def stop_build(self, build: dict):
        self.rpc(f"builds/{build['buildid']}", "stop", reason="stopped by the integration test")

    def step_log(self, step: dict, name: str = "stdio") -> str:
        logs = {log["name"]: log for log in self.get(f"steps/{step['stepid']}/logs")["logs"]}
        chunks = self.get(f"logs/{logs[name]['logid']}/contents")["logchunks"]
        # Buildbot stores stdio lines with a one-letter channel prefix (o, e, h).
        return "".join(chunk["content"] for chunk in chunks)

    def leftover_processes(self) -> list[str]:
        """Processes (other than the master and the worker themselves) whose command line names
        this fleet's directory: what a finished build must not leave behind."""
        own = {self.master.pid, self.worker.pid if self.worker else None, os.getpid()}
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in own:
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (entry / "stat").read_text().split(") ")[1][0]
            except (OSError, IndexError):
                continue
            if str(self.root) in cmdline and state != "Z":
                found.append(f"{entry.name}: {cmdline}")
        return found

    def build(self, number: int) -> dict | None:
        builds = self.get(f"builders/{self.builder_id()}/builds?number={number}&property=*")["builds"]
        return builds[0] if builds else None

    def finished_build(self, number: int) -> dict:
        return wait_for(lambda: (b := self.build(number)) and b["complete"] and b, BUILD_DEADLINE,
                        f"build {number} to finish")

    def stored_run(self, number: int) -> RunRow | None:
        """The status store's run of build `number` of BUILDER (the hook ingests it once the
        build has finished, so a little after the API says it is complete)."""
        store = Store(self.status_db)
        try:
            with store.reader() as session:
                return session.execute(select(RunRow).where(RunRow.builder == self.builder).where(
                    RunRow.build_url.endswith(f"/builds/{number}"))).scalars().first()
        except OperationalError:    # the master's ingest is writing (SQLite locked): not there yet
            return None
        finally:
            store.close()

    def steps(self, build: dict) -> dict[str, dict]:
        return {s["name"]: s for s in self.get(f"builds/{build['buildid']}/steps")["steps"]}

    @contextmanager
    def explained(self, build: dict):
        """A failed assertion comes with the build's steps and the ends of both twistd logs."""
        try:
            yield
        except AssertionError as exc:
            steps = [(s["name"], s["results"], s["state_string"]) for s in self.steps(build).values()]
            logs = [f"--- {path}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-40:])
                    for path in (self.master_dir / "twistd.log", self.worker_dir / "twistd.log") if path.exists()]
            raise AssertionError("\n".join([str(exc), f"build: {build['state_string']}", *map(str, steps), *logs]))


    @contextmanager
    def running(self):
        """The master and a worker created by `worker create`, stopped at the end."""
        try:
            self.start_master()
            self.create_worker()
            self.start_worker()
            yield self
        finally:
            self.stop()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    with Fleet(tmp_path_factory.mktemp("fleet")).running() as fleet:
        yield fleet


def check_finished_build(fleet: Fleet, build: dict) -> None:
    """What every complete build of the stand-in tree must show."""
    number = build["number"]
    assert build["results"] == FAILURE, build["state_string"]
    steps = fleet.steps(build)
    assert list(steps) == ["worker_preparation", "git", "clean-previous", "toolchain", "configure-build-python",
                           "make-build-python", "pythoninfo-build", "make-dependencies", "configure-host",
                           "make-host", "pythoninfo-host", "test", "bundle", "upload-results", "upload-junit",
                           "upload-summary", "upload-bundle", "clean-driver", "clean"]
    for name, step in steps.items():
        assert step["results"] == (FAILURE if name == "test" else SUCCESS), (name, step["state_string"])
    # The test step's stdio is regrtest's own console (CPython's failure extraction reads it).
    test_log = fleet.step_log(steps["test"])
    (fleet.root / f"test-step-{number}.log").write_text(test_log)
    assert re.search(r"^o0:00:0\d load avg: [0-9.]+ \[\d/\d\] test_fail_b$", test_log, re.M), test_log[-3000:]
    assert "\noFAIL: test_b (test.test_fail_b.T.test_b)\n" in test_log
    # CPython's failure extraction, whichever block it reads, names exactly the failing files.
    assert cpython_blocks(test_log) == {frozenset({"test_fail_b", "test_crash_c"})}, test_log[-3000:]
    assert cpython_blocks(test_log, RERUN_HEADER) == {frozenset({"test_flaky_d"})}
    assert steps["test"]["state_string"] == "1 passed, 1 failed, 1 crashed, 1 flaky, 1 skipped (failure)"

    props = {name: value for name, (value, _source) in build["properties"].items()}
    assert props["test_files_total"] == 5
    assert props["failed_tests"] == ["test_fail_b"]
    assert props["crashed_tests"] == ["test_crash_c"]
    assert props["flaky_tests"] == ["test_flaky_d"]
    assert props["emscripten_outcome"] == "failure"
    assert props["emcc_version"] == "4.0.12"
    assert props["node_version"].split(".")[0].isdigit()
    assert props["cpython_version"] == "3.15.0a0"
    base = f"http://artifacts.test/Emscripten-main/{number}"
    assert props["results_url"] == f"{base}/results.json"
    assert props["junit_url"] == f"{base}/junit.xml"
    bundle_name = Path(props["emscripten_bundle"]).name
    assert props["bundle_url"] == f"{base}/{bundle_name}"
    assert {u["name"]: u["url"] for u in steps["upload-bundle"]["urls"]} == {"bundle": f"{base}/{bundle_name}"}

    uploaded = fleet.artifacts / "Emscripten-main" / str(number)
    results = json.loads((uploaded / "results.json").read_text())
    assert results["origin"]["kind"] == "buildbot"
    assert results["origin"]["builder"] == BUILDER
    assert results["origin"]["url"].startswith(fleet.url)
    assert (uploaded / "junit.xml").read_text().startswith("<?xml")
    assert verify_bundle(uploaded / bundle_name) == []
    # The always-run clean removed the outputs from the worker.
    assert not (fleet.worker_dir / "emscripten-main" / "emscripten-python-out").exists()

    # The status hook stored the uploaded results.json, and the dashboard shows it.
    row = wait_for(lambda: fleet.stored_run(number), READY, f"build {number} in the status store")
    assert (row.origin, row.run_id, row.outcome, row.files_total) == ("buildbot", results["run_id"], "failure", 5)
    assert row.build_url.startswith(fleet.url) and row.branch == "main"
    dashboard = f"{fleet.url}plugins/wsgi_dashboards/emscripten-status/"
    html = read_bytes(f"{dashboard}index.html")[0].decode()
    assert BUILDER in html
    # The web UI shows this HTML at the master's root (/#/emscripten-status): links and the
    # badge are absolute under the dashboard's mount, and the badge answers there.
    assert f'href="{dashboard}pep11.html"' in html
    badge = re.search(r'src="([^"]+/badge/[^"]+\.svg)"', html).group(1)
    assert badge.startswith(dashboard)
    assert read_bytes(badge)[1]["Content-Type"].startswith("image/svg+xml")


def test_factory_end_to_end(fleet):
    fleet.force()
    build = fleet.finished_build(1)
    with fleet.explained(build):
        check_finished_build(fleet, build)


def test_worker_killed_mid_build_retries_clean(fleet):
    fleet.hold.write_text("hold make-host\n")
    pids_file = Path(f"{fleet.hold}.pids")
    fleet.force()
    number = 2
    driver_pid, cli_pid = wait_for(lambda: pids_in(pids_file), READY, "make-host to start")
    try:
        fleet.kill_worker()
        killed = fleet.finished_build(number)
        assert killed["results"] in (RETRY, EXCEPTION), killed["state_string"]
        # The orphaned stage is released and ends; the CLI above it then exits too.
        fleet.hold.unlink()
        wait_for(lambda: not pid_alive(driver_pid) and not pid_alive(cli_pid), READY, "the orphaned build to end")
    finally:
        kill_alive([driver_pid, cli_pid])
    # Leftovers of the killed build, as a crash could leave them.
    stale = fleet.worker_dir / "emscripten-main" / "emscripten-python-out" / "logs" / "stale-from-killed-build.log"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("must not reach the next build's bundle\n")

    fleet.start_worker()
    if killed["results"] == EXCEPTION:     # only RETRY requeues the request by itself
        fleet.force()
    retried = fleet.finished_build(number + 1)
    with fleet.explained(retried):
        check_finished_build(fleet, retried)
        bundle = fleet.artifacts / "Emscripten-main" / str(number + 1) / Path(
            retried["properties"]["emscripten_bundle"][0]).name
        with tarfile.open(bundle) as archive:
            names = archive.getnames()
        assert "logs/make-host.log" in names and "logs/stale-from-killed-build.log" not in names


# -- builds that end early, as an operator meets them ------------------------------------------

def run_with_control(fleet: Fleet, control: str, **force_params) -> int:
    """Force a build with the stand-ins following `control`; returns its number."""
    fleet.hold.write_text(control)
    number = fleet.next_number()
    fleet.force(**force_params)
    return number


def build_under(fleet: Fleet, control: str) -> tuple[int, dict]:
    """A forced build with the stand-ins following `control`, run to its end: (number, build)."""
    number = run_with_control(fleet, f"{control}\n")
    try:
        return number, fleet.finished_build(number)
    finally:
        fleet.hold.unlink()


def check_early_end(fleet: Fleet, build: dict, failed_step: str, stored_outcome: str, *, result=FAILURE):
    steps = fleet.steps(build)
    assert build["results"] == result, build["state_string"]
    assert steps[failed_step]["results"] == result, steps[failed_step]["state_string"]
    # Nothing after the failed step ran but the always-run uploads and cleans.
    after = list(steps)[list(steps).index(failed_step) + 1:]
    assert [name for name in after if steps[name]["results"] != SKIPPED] == [
        name for name in after if name.startswith("upload-results") or name.startswith("clean")], after
    assert steps["upload-results"]["results"] == SUCCESS
    assert steps["clean"]["results"] == SUCCESS
    try:
        wait_for(lambda: not fleet.leftover_processes(), READY, "no process of the build left")
    except AssertionError:
        raise AssertionError(f"processes left behind: {fleet.leftover_processes()}") from None
    row = wait_for(lambda: fleet.stored_run(build["number"]), READY, f"build {build['number']} in the status store")
    assert row.outcome == stored_outcome and row.files_total == 0
    return steps


def test_failed_toolchain_is_failure(fleet):
    number, build = build_under(fleet, "break toolchain")
    with fleet.explained(build):
        steps = check_early_end(fleet, build, "toolchain", "error")
        assert "fake toolchain broken on purpose" in fleet.step_log(steps["toolchain"])


def test_failed_make_is_failure_with_the_compiler_line_in_the_step_log(fleet):
    number, build = build_under(fleet, "fail make-host")
    with fleet.explained(build):
        steps = check_early_end(fleet, build, "make-host", "error")
        log = fleet.step_log(steps["make-host"])
        # Streamed from the stage's log file into the step's stdio while make ran.
        assert COMPILER_ERROR in log and "Error 1" in log


def test_stopped_test_run_is_cancelled_and_leaves_no_process(fleet):
    # The force form's branch is fixed: a PR ref given here is ignored, the builder builds main.
    number, build, pids = stop_held_build(fleet, "hold test", Path(f"{fleet.hold}.test-pids"), 2,
                                          branch="refs/pull/1/head")
    with killing(pids), fleet.explained(build):
        assert build["properties"]["branch"][0] in ("", None, "main")
        steps = check_early_end(fleet, build, "test", "cancelled", result=CANCELLED)
        assert steps["test"]["state_string"] == "cancelled (cancelled)"
        assert not [pid for pid in pids if pid_alive(pid)], "node's process group outlived the stop"
        assert "[1/1] test_ok_a" in fleet.step_log(steps["test"])
        results = uploaded_results(fleet, number)
        assert (results["outcome"], results["cancelled"]["signal"]) == ("cancelled", "SIGTERM")


def test_stopped_build_stage_is_cancelled_with_its_output_and_leaves_no_process(fleet):
    """Stop during a build stage (not only the test run): CANCELLED, the stage's output already in
    the step's stdio while it runs, make and the CLI gone, results.json and the store say cancelled."""
    def stdio_while_it_runs(running):
        # Live: the worker sends output every few seconds; read it while the stage still runs.
        wait_for(lambda: "fake driver: make-host" in fleet.step_log(fleet.steps(running)["make-host"]), READY,
                 "make-host's output in its stdio while it runs")

    number, build, pids = stop_held_build(fleet, "hold make-host", Path(f"{fleet.hold}.pids"), 2,
                                          before_stop=stdio_while_it_runs)
    with killing(pids), fleet.explained(build):
        steps = check_early_end(fleet, build, "make-host", "cancelled", result=CANCELLED)
        assert steps["make-host"]["state_string"] == "make-host (cancelled)"
        assert not [pid for pid in pids if pid_alive(pid)], "the stage outlived the stop"
        assert uploaded_results(fleet, number)["outcome"] == "cancelled"


def test_stopped_checkout_is_cancelled_and_recorded(fleet):
    """Stop while git clones: CANCELLED (not EXCEPTION), git gone, and like every other early end a
    results.json (written by the master: the CLI never ran) and a store row that say cancelled."""
    number, build, pids = stop_held_build(fleet, "hold checkout", Path(f"{fleet.hold}.git-pid"), 1)
    with killing(pids), fleet.explained(build):
        steps = check_early_end(fleet, build, "git", "cancelled", result=CANCELLED)
        assert steps["upload-results"]["state_string"] == "recorded: cancelled in git"
        assert not [pid for pid in pids if pid_alive(pid)], "git outlived the stop"
        results = uploaded_results(fleet, number)
        assert results["outcome"] == "cancelled" and results["cancelled"]["command"] == "git"
        assert [(s["name"], s["status"]) for s in results["stages"]] == [("git", "cancelled")]
        assert results["origin"] == {"kind": "buildbot", "builder": BUILDER, "url": build_url(fleet, build)}


def test_failed_checkout_is_failure_and_recorded(fleet):
    number, build = build_under(fleet, "fail checkout")
    with fleet.explained(build):
        steps = check_early_end(fleet, build, "git", "error")
        assert "the fake network is down on purpose" in fleet.step_log(steps["git"])
        results = uploaded_results(fleet, number)
        assert results["outcome"] == "error" and results["source"]["branch"] == "main"
        assert [(s["name"], s["status"]) for s in results["stages"]] == [("git", "failed")]


def build_url(fleet: Fleet, build: dict) -> str:
    return f"{fleet.url}#/builders/{build['builderid']}/builds/{build['number']}"


def uploaded_results(fleet: Fleet, number: int) -> dict:
    return json.loads((fleet.artifacts / "Emscripten-main" / str(number) / "results.json").read_text())


def stop_held_build(fleet: Fleet, hold: str, pid_file: Path, count: int, before_stop=lambda build: None,
                    **force_params):
    """Force a build whose stand-in holds at `hold`, stop it from the REST API once the held
    process wrote its `count` pids to `pid_file`; (number, the finished build, the pids)."""
    pid_file.unlink(missing_ok=True)
    number = run_with_control(fleet, f"{hold}\n", **force_params)
    pids: list[int] = []
    try:
        pids += wait_for(lambda: pids_in(pid_file, count), READY, f"the build to reach {hold!r}")
        running = fleet.build(number)
        before_stop(running)
        fleet.stop_build(running)
        return number, fleet.finished_build(number), pids
    except BaseException:
        kill_alive(pids)        # only on the way out: a caller checks the stop ended them
        raise
    finally:
        fleet.hold.unlink(missing_ok=True)


@contextmanager
def killing(pids: list[int]):
    """Whatever happens, no held stand-in process outlives the test."""
    try:
        yield
    finally:
        kill_alive(pids)


def kill_alive(pids: list[int]) -> None:
    for pid in pids:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
