"""A real master (master/master.cfg) and a real buildbot-worker process on 127.0.0.1.

The factory runs end to end against the stand-in tree and toolchain (fake_cpython.py):
checkout, toolchain, every build stage, tests with a failure, a crash, a flaky file and a
skip, bundle, uploads, clean; the status hook stores each finished build's results.json
(EP_STATUS_DB) and serves the status dashboard. Then the worker is killed in the middle of a
build: that build must end RETRY/EXCEPTION (not hang), and the retried build must start clean.
"""

from __future__ import annotations

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
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from sqlalchemy import select

from emscripten_python.artifacts import verify_bundle
from emscripten_python.status.models import RunRow
from emscripten_python.status.store import Store

from fake_cpython import COMPILER_ERROR, HOLD_ENV, make_cpython_repo, make_toolchain

pytestmark = pytest.mark.timeout(240)

REPO_ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent
BUILDER = "Emscripten main"
TESTS = "test_ok_a,test_crash_c,test_fail_b,test_flaky_d,test_skip_e"
SUCCESS, WARNINGS, FAILURE, SKIPPED, EXCEPTION, RETRY, CANCELLED = 0, 1, 2, 3, 4, 5, 6
BUILD_DEADLINE = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


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
    def start_master(self):
        self.master_dir.mkdir()
        for name in ("master.cfg", "buildbot.tac"):
            shutil.copy(self.master_src / name if (self.master_src / name).exists() else REPO_ROOT / "master" / name,
                        self.master_dir / name)
        subprocess.run([BIN / "buildbot", "upgrade-master", self.master_dir], env=self.env, check=True,
                       capture_output=True)
        self.master = subprocess.Popen([BIN / "buildbot", "start", "--nodaemon", self.master_dir], env=self.env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self._reachable(), 60, "the master's web API")

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
                 60, "the worker to connect")

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
            self.get("builders")
            return True
        except OSError:
            return False

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(f"{self.url}api/v2/{path}", timeout=10) as response:
            return json.load(response)

    def builder_id(self) -> int:
        return next(b["builderid"] for b in self.get("builders")["builders"] if b["name"] == self.builder)

    def rpc(self, path: str, method: str, **params) -> dict:
        body = json.dumps({"jsonrpc": "2.0", "method": method, "id": 1, "params": params}).encode()
        request = urllib.request.Request(f"{self.url}api/v2/{path}", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
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
    row = wait_for(lambda: fleet.stored_run(number), 30, f"build {number} in the status store")
    assert (row.origin, row.run_id, row.outcome, row.files_total) == ("buildbot", results["run_id"], "failure", 5)
    assert row.build_url.startswith(fleet.url) and row.branch == "main"
    dashboard = f"{fleet.url}plugins/wsgi_dashboards/emscripten-status/"
    with urllib.request.urlopen(f"{dashboard}index.html", timeout=10) as response:
        html = response.read().decode()
    assert BUILDER in html
    # The web UI shows this HTML at the master's root (/#/emscripten-status): links and the
    # badge are absolute under the dashboard's mount, and the badge answers there.
    assert f'href="{dashboard}pep11.html"' in html
    badge = re.search(r'src="([^"]+/badge/[^"]+\.svg)"', html).group(1)
    assert badge.startswith(dashboard)
    with urllib.request.urlopen(badge, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("image/svg+xml")


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
    driver_pid, cli_pid = map(int, wait_for(lambda: pids_file.exists() and pids_file.read_text().split(), 60,
                                            "make-host to start"))
    try:
        fleet.kill_worker()
        killed = fleet.finished_build(number)
        assert killed["results"] in (RETRY, EXCEPTION), killed["state_string"]
        # The orphaned stage is released and ends; the CLI above it then exits too.
        fleet.hold.unlink()
        wait_for(lambda: not pid_alive(driver_pid) and not pid_alive(cli_pid), 30, "the orphaned build to end")
    finally:
        for pid in (driver_pid, cli_pid):
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
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
        wait_for(lambda: not fleet.leftover_processes(), 60, "no process of the build left")
    except AssertionError:
        raise AssertionError(f"processes left behind: {fleet.leftover_processes()}") from None
    row = wait_for(lambda: fleet.stored_run(build["number"]), 60, f"build {build['number']} in the status store")
    assert row.outcome == stored_outcome and row.files_total == 0
    return steps


def test_failed_toolchain_is_failure(fleet):
    number = run_with_control(fleet, "break toolchain\n")
    try:
        build = fleet.finished_build(number)
    finally:
        fleet.hold.unlink()
    with fleet.explained(build):
        steps = check_early_end(fleet, build, "toolchain", "error")
        assert "fake toolchain broken on purpose" in fleet.step_log(steps["toolchain"])


def test_failed_make_is_failure_with_the_compiler_line_in_the_step_log(fleet):
    number = run_with_control(fleet, "fail make-host\n")
    try:
        build = fleet.finished_build(number)
    finally:
        fleet.hold.unlink()
    with fleet.explained(build):
        steps = check_early_end(fleet, build, "make-host", "error")
        log = fleet.step_log(steps["make-host"])
        # Streamed from the stage's log file into the step's stdio while make ran.
        assert COMPILER_ERROR in log and "Error 1" in log


def test_stopped_test_run_is_cancelled_and_leaves_no_process(fleet):
    pids_file = Path(f"{fleet.hold}.test-pids")
    pids_file.unlink(missing_ok=True)
    # The force form's branch is fixed: a PR ref given here is ignored, the builder builds main.
    number = run_with_control(fleet, "hold test\n", branch="refs/pull/1/head")
    pids = []
    try:
        pids = [int(pid) for pid in wait_for(lambda: pids_file.exists() and len(pids_file.read_text().split()) == 2
                                            and pids_file.read_text().split(), 90, "the held test run")]
        running = fleet.build(number)
        fleet.stop_build(running)
        build = fleet.finished_build(number)
    finally:
        fleet.hold.unlink()
    try:
        with fleet.explained(build):
            assert build["properties"]["branch"][0] in ("", None, "main")
            steps = check_early_end(fleet, build, "test", "cancelled", result=CANCELLED)
            assert steps["test"]["state_string"] == "cancelled (cancelled)"
            assert not [pid for pid in pids if pid_alive(pid)], "node's process group outlived the stop"
            assert "[1/1] test_ok_a" in fleet.step_log(steps["test"])
            uploaded = fleet.artifacts / "Emscripten-main" / str(number) / "results.json"
            results = json.loads(uploaded.read_text())
            assert (results["outcome"], results["cancelled"]["signal"]) == ("cancelled", "SIGTERM")
    finally:
        for pid in pids:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_stopped_build_stage_is_cancelled_with_its_output_and_leaves_no_process(fleet):
    """Stop during a build stage (not only the test run): CANCELLED, the stage's output already in
    the step's stdio while it runs, make and the CLI gone, results.json and the store say cancelled."""
    pids_file = Path(f"{fleet.hold}.pids")
    pids_file.unlink(missing_ok=True)
    number = run_with_control(fleet, "hold make-host\n")
    pids = []
    try:
        pids = [int(pid) for pid in wait_for(lambda: pids_file.exists() and pids_file.read_text().split(), 90,
                                            "make-host to start")]
        running = fleet.build(number)
        # Live: the worker sends output every few seconds; read it while the stage still runs.
        wait_for(lambda: "fake driver: make-host" in fleet.step_log(fleet.steps(running)["make-host"]), 30,
                 "make-host's output in its stdio while it runs")
        fleet.stop_build(running)
        build = fleet.finished_build(number)
    finally:
        fleet.hold.unlink(missing_ok=True)
    try:
        with fleet.explained(build):
            steps = check_early_end(fleet, build, "make-host", "cancelled", result=CANCELLED)
            assert steps["make-host"]["state_string"] == "make-host (cancelled)"
            assert not [pid for pid in pids if pid_alive(pid)], "the stage outlived the stop"
            results = json.loads((fleet.artifacts / "Emscripten-main" / str(number) / "results.json").read_text())
            assert results["outcome"] == "cancelled"
    finally:
        for pid in pids:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
