"""The release artifacts work on their own (issue 26, "Done when").

The sdist and the wheel are built from a fresh `git clone` of this repository's HEAD (commit
first: uncommitted changes are not in them), or taken from $EP_RELEASE_DIST, the folder the
release workflow built and is about to publish. Each is installed into a fresh venv with pip
--no-deps; the third-party packages come from this environment, one symlink per entry of its
site-packages except emscripten-python's own (the editable install's path hook included), added
with site.addsitedir. Every command runs from a temporary folder, with no PYTHONPATH and this
environment's bin/ off PATH, so only the installed copy can answer. Through it: the Buildbot
entry points, `buildbot checkconfig` on the master/ of the sdist, `worker create` rendering both
service templates, a stand-in build and test (tests/buildbot/fake_cpython.py's tree and emcc),
`status ingest|serve|export` over that run and a second one stored as a PR's (every page reachable
from the overview fetched from the server), and a comparison of every package file the code
opened at run time (an audit hook logs them) with the wheel's file list.
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import urllib.parse
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from release_support import ROOT, VERSION

sys.path.insert(0, str(ROOT / "tests" / "buildbot"))
sys.path.insert(0, str(ROOT / "tests" / "status"))
from fake_cpython import make_cpython_repo, make_toolchain  # noqa: E402
from status_factory import make_bisection, write_bisection  # noqa: E402
from status_support import http_get, status_server  # noqa: E402

pytestmark = pytest.mark.timeout(900)
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# The stand-in regrtest's verdicts come from the names (tests/integration/fake_regrtest.py).
OUTCOMES = {"test_ok_a": "passed", "test_fail_b": "failed", "test_crash_c": "crashed", "test_flaky_d": "flaky",
            "test_skip_e": "skipped"}

# Test instrumentation written into each venv (never shipped): with $EP_OPEN_LOG set, every
# process of the venv appends each path it opens under the installed package to that file.
OPEN_LOG_MODULE = '''import os, sys
_log = os.environ.get("EP_OPEN_LOG")
if _log:
    _fd = os.open(_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    _package = os.path.join(os.path.dirname(os.path.abspath(__file__)), "emscripten_python") + os.sep

    def _opened(event, args):
        if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.fsdecode(args[0])
            if path.startswith(_package):
                os.write(_fd, path.encode("utf-8", "surrogateescape") + b"\\n")

    sys.addaudithook(_opened)
'''


def _run(argv, *, timeout=300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kwargs)


def _ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, f"{done.args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    if os.environ.get("EP_RELEASE_DIST"):
        out = Path(os.environ["EP_RELEASE_DIST"]).resolve()
    else:
        work = tmp_path_factory.mktemp("dists")
        clone, out = work / "clone", work / "dist"
        _ok(_run(["git", "clone", "--quiet", ROOT, clone]))
        _ok(_run([sys.executable, "-m", "build", "--outdir", out, clone], cwd=work, timeout=600))
    [sdist], [wheel] = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
    twine = _ok(_run([sys.executable, "-m", "twine", "check", "--strict", sdist, wheel]))
    assert twine.stdout.count("PASSED") == 2, twine.stdout
    return {"sdist": sdist, "wheel": wheel}


@pytest.fixture(scope="module")
def third_party(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("third-party")
    for folder in {Path(sysconfig.get_paths()[key]) for key in ("purelib", "platlib")}:
        for entry in folder.iterdir():
            own = entry.name.startswith(("emscripten_python", "__editable__")) or (
                entry.suffix in (".pth", ".egg-link") and str(ROOT) in entry.read_text(errors="replace"))
            if not own and not (site / entry.name).exists():
                (site / entry.name).symlink_to(entry)
    return site


@dataclass
class Installed:
    kind: str
    artifact: Path
    venv: Path
    site: Path
    work: Path
    open_log: Path

    def env(self, **extra: str) -> dict[str, str]:
        ours = str(Path(sys.executable).parent)
        path = [str(self.venv / "bin"), *(p for p in os.environ["PATH"].split(os.pathsep) if p != ours)]
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith("EP_")}
        return {**env, "PATH": os.pathsep.join(path), "EP_OPEN_LOG": str(self.open_log),
                "EMSCRIPTEN_PYTHON_NO_RECORD": "1", **extra}

    def run(self, program: str, *args, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        return _run([self.venv / "bin" / program, *args], cwd=self.work, env=env or self.env(), timeout=timeout)

    def python(self, code: str) -> subprocess.CompletedProcess:
        return self.run("python", "-c", code)


def _console_script(venv: Path, name: str) -> None:
    """A dependency's console script, run by the venv's Python (the one in this environment's
    bin/ would run this environment's Python, which sees the source tree)."""
    from importlib import metadata
    [entry] = [e for e in metadata.entry_points(group="console_scripts") if e.name == name]
    script = venv / "bin" / name
    script.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom {entry.module} import {entry.attr}\n"
                      f"sys.exit({entry.attr}())\n")
    script.chmod(0o755)


@pytest.fixture(scope="module", params=["wheel", "sdist"])
def installed(request, dists, third_party, tmp_path_factory) -> Installed:
    kind = request.param
    root = tmp_path_factory.mktemp(kind)
    venv = root / "venv"
    _ok(_run([sys.executable, "-m", "venv", "--without-pip", venv]))
    _ok(_run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet", "--no-deps",
              "--disable-pip-version-check", dists[kind]], cwd=root, timeout=600))
    site = Path(_ok(_run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]))
                .stdout.strip())
    (site / "_ep_open_log.py").write_text(OPEN_LOG_MODULE)
    (site / "_ep_open_log.pth").write_text("import _ep_open_log\n")
    (site / "third-party.pth").write_text(f"import site; site.addsitedir({str(third_party)!r})\n")
    for name in ("buildbot", "buildbot-worker"):
        _console_script(venv, name)
    work = root / "work"
    work.mkdir()
    return Installed(kind, dists[kind], venv, site, work, root / "opened.log")


def test_the_artifacts_carry_the_version_and_everything_of_the_project(dists):
    assert dists["wheel"].name == f"emscripten_python-{VERSION}-py3-none-any.whl"
    assert dists["sdist"].name == f"emscripten_python-{VERSION}.tar.gz"
    with tarfile.open(dists["sdist"]) as archive:
        in_sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    tracked = _ok(_run(["git", "ls-files"], cwd=ROOT)).stdout.split()
    # Only CI's own files (.ci/, .github/) and .gitignore files stay out of the sdist.
    wanted = {name for name in tracked if not name.startswith((".ci/", ".github/")) and
              not name.endswith(".gitignore") and (ROOT / name).is_file()}
    assert wanted - in_sdist == set(), "add these to MANIFEST.in"
    assert {"PKG-INFO", "master/master.cfg", "LICENSE", "CHANGELOG.md", "action.yml"} <= in_sdist


def test_the_wheel_holds_every_data_file_of_the_packages(dists):
    """What the package-data globs must catch: each tracked non-Python file in a package folder."""
    mapped = PYPROJECT["tool"]["setuptools"]["package-dir"]
    folders = {"emscripten_python": "emscripten_python",
               **{source: package.replace(".", "/") for package, source in mapped.items()}}
    with zipfile.ZipFile(dists["wheel"]) as archive:
        in_wheel = set(archive.namelist())
    expected = set()
    for name in _ok(_run(["git", "ls-files", *folders], cwd=ROOT)).stdout.split():
        folder, rest = name.split("/", 1)
        if not name.endswith(".py") and not name.endswith(".gitignore"):
            expected.add(f"{folders[folder]}/{rest}")
    assert expected, "the packages have data files (templates, pins, smoke.c)"
    assert expected - in_wheel == set(), "add these to [tool.setuptools.package-data] in pyproject.toml"


def test_version_and_that_the_installed_copy_answers(installed):
    shown = _ok(installed.run("emscripten-python", "--version"))
    assert shown.stdout.strip() == f"emscripten-python {VERSION}"
    probe = ("import json, sys, emscripten_python\nfrom importlib import metadata\n"
             "print(json.dumps([emscripten_python.__file__, metadata.version('emscripten-python'), sys.path]))")
    module, version, path = json.loads(_ok(installed.python(probe)).stdout)
    assert version == VERSION
    assert Path(module).is_relative_to(installed.site)
    assert not [entry for entry in path if entry and Path(entry).resolve().is_relative_to(ROOT)]


def test_buildbot_finds_and_loads_every_plugin(installed):
    expected = {group: sorted(PYPROJECT["project"]["entry-points"][group]) for group in ("buildbot.steps",
                                                                                         "buildbot.util")}
    probe = ("import json\nfrom importlib import metadata\nfrom buildbot.plugins import steps, util\n"
             "found = {}\n"
             "for ep in metadata.distribution('emscripten-python').entry_points:\n"
             "    if ep.group.startswith('buildbot.'):\n"
             "        plugin = getattr({'buildbot.steps': steps, 'buildbot.util': util}[ep.group], ep.name)\n"
             "        assert plugin is ep.load(), ep\n"
             "        found.setdefault(ep.group, []).append([ep.name, plugin.__module__])\n"
             "print(json.dumps(found))")
    found = json.loads(_ok(installed.python(probe)).stdout)
    assert {group: sorted(name for name, _ in entries) for group, entries in found.items()} == expected
    assert all(module.startswith("emscripten_python.steps") for entries in found.values() for _, module in entries)


@pytest.fixture(scope="module")
def checkconfig(installed, dists) -> subprocess.CompletedProcess:
    master = installed.work / "master-from-sdist"
    with tarfile.open(dists["sdist"]) as archive:
        top = archive.getnames()[0].split("/")[0]
        members = [m for m in archive.getmembers() if m.name.startswith(f"{top}/master/")]
        archive.extractall(installed.work, members=members, filter="data")
    (installed.work / top / "master").rename(master)
    return installed.run("buildbot", "checkconfig", master, timeout=120)


def test_buildbot_checkconfig_on_the_sdists_master(checkconfig):
    assert "Config file is good!" in _ok(checkconfig).stdout


@pytest.fixture(scope="module")
def workers(installed) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    # A service never runs as root; as root, the worker directory is handed to that account.
    user = "nobody" if os.geteuid() == 0 else getpass.getuser()
    env = installed.env(EMSCRIPTEN_PYTHON_WORKER_PASSWORD="pw-from-env")
    made = {}
    for service in ("systemd", "launchd"):
        basedir = installed.work / f"worker-{service}"
        made[service] = (installed.run("emscripten-python", "worker", "create", f"w-{service}", "--master",
                                       "buildmaster.example.org:9989", "--basedir", basedir, "--service", service,
                                       "--user", user, "--cache-dir", installed.work / "cache", env=env), basedir)
    return made


def test_worker_create_renders_both_service_templates(installed, workers):
    for service, (done, basedir) in workers.items():
        _ok(done)
        assert (basedir / "buildbot.tac").is_file()
        [unit] = basedir.glob("*.plist" if service == "launchd" else "*.service")
        text = unit.read_text()
        assert str(installed.venv / "bin" / "buildbot-worker") in text and str(basedir) in text
        assert "$" + "{" not in text and "{name}" not in text, "every placeholder filled"
        assert f"service file: {unit}" in done.stdout


def _stand_in(installed: Installed, out: Path) -> subprocess.CompletedProcess:
    """`run` on the stand-in tree (made once) with the stand-in emcc first on PATH."""
    root = installed.work / "stand-in"
    if not root.exists():
        make_toolchain(root / "toolchain")
        make_cpython_repo(root / "cpython")
    env = installed.env(EMSCRIPTEN_PYTHON_CACHE=str(root / "cache"))
    env["PATH"] = os.pathsep.join([str(root / "toolchain" / "bin"), env["PATH"]])
    return installed.run("emscripten-python", "run", "--toolchain", "system", "--source", root / "cpython",
                         "--out", out, "--tests", ",".join(OUTCOMES), "--jobs", "1", env=env)


@pytest.fixture(scope="module")
def stand_in_run(installed) -> tuple[subprocess.CompletedProcess, Path]:
    out = installed.work / "out"
    return _stand_in(installed, out), out


def test_a_stand_in_build_and_test(stand_in_run):
    done, out = stand_in_run
    assert done.returncode == 30, done.stdout[-3000:] + done.stderr[-3000:]      # a test failed
    results = json.loads((out / "results.json").read_text())
    assert {f["name"]: f["outcome"] for f in results["tests"]["files"]} == OUTCOMES
    assert (out / "junit.xml").is_file() and (out / "summary.md").is_file()


@pytest.fixture(scope="module")
def pr_run(installed, stand_in_run) -> tuple[subprocess.CompletedProcess, Path]:
    """A second run, stored as a pull request's."""
    out = installed.work / "out-pr"
    return _stand_in(installed, out), out


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.found += [value for name, value in attrs if name == "href" and value]


def _crawl(site: str, start: str, limit: int = 300) -> dict[str, tuple[int, str]]:
    """Every HTML page of the server reachable from `start` by links (status code, text)."""
    pages, queue = {}, [site + start]
    while queue and len(pages) < limit:
        url = queue.pop(0)
        if url in pages:
            continue
        code, body = http_get(url)
        pages[url] = (code, body.decode(errors="replace"))
        if code != 200:
            continue
        parser = _Links()
        parser.feed(pages[url][1])
        for href in parser.found:
            target = urllib.parse.urljoin(url, href).split("#")[0]
            if target.startswith(site) and target.endswith(".html") and target not in pages:
                queue.append(target)
    return {url.removeprefix(site): page for url, page in pages.items()}


@pytest.fixture(scope="module")
def status(installed, stand_in_run, pr_run) -> dict:
    db = f"sqlite:///{installed.work / 'status.sqlite'}"
    branch = json.loads((stand_in_run[1] / "results.json").read_text())["run_id"]
    found = {"ingest": [installed.run("emscripten-python", "status", "ingest", "--db", db, "--builder", "stand-in",
                                      "--branch", "main", *extra, out / "results.json")
                        for extra, (_, out) in (([], stand_in_run), (["--pr", "7"], pr_run))],
             "run_id": branch}
    # A bisection of a test the runs have, so the branch and test pages show a culprit.
    bisection = make_bisection(tests=["test_crash_c"], subject="gh-9: the culprit of the release test",
                               branch="main", builder="stand-in")
    found["record_bisect"] = installed.run("emscripten-python", "status", "record-bisect", "--db", db,
                                           write_bisection(bisection, installed.work))
    with status_server(db, (str(installed.venv / "bin" / "emscripten-python"), "status"),
                       cwd=installed.work, env=installed.env()) as base:
        found["pages"] = _crawl(f"{base}/", "index.html")
        # The comparison of the two stored runs, asked for directly: whether a crawl reaches it
        # depends on which run the pages offer as the other's base (it did not in one CI run).
        pr = json.loads((pr_run[1] / "results.json").read_text())["run_id"]
        code, body = http_get(f"{base}/compare/{branch}/{pr}.html")
        found["pages"][f"compare/{branch}/{pr}.html"] = (code, body.decode(errors="replace"))
    found["export"] = installed.run("emscripten-python", "status", "export", "--db", db, installed.work / "site")
    found["site"] = installed.work / "site"
    return found


def test_status_ingest_serve_and_export(status, pr_run):
    assert pr_run[0].returncode == 30, pr_run[0].stdout[-3000:] + pr_run[0].stderr[-3000:]
    for done in status["ingest"]:
        _ok(done)
    pages = status["pages"]
    assert {page: code for page, (code, _) in pages.items() if code != 200} == {}
    assert "stand-in" in pages["index.html"][1]
    [run_page] = [text for page, (_, text) in pages.items() if page.startswith("run/") and status["run_id"] in page]
    assert "test_crash_c" in run_page
    _ok(status["record_bisect"])
    culprit_pages = sorted(page for page, (_, text) in pages.items() if "gh-9: the culprit of the release test" in text)
    assert any(page.startswith("branch/") for page in culprit_pages), sorted(pages)
    _ok(status["export"])
    assert (status["site"] / "index.html").is_file() and (status["site"] / "run" / f"{status['run_id']}.html").is_file()


@pytest.fixture(scope="module")
def fallback_pin(installed) -> subprocess.CompletedProcess:
    """The toolchain stage on a 3.13 tree that pins no Emscripten: the pin comes from the
    package's data/emscripten_pins.toml."""
    tree = installed.work / "unpinned"
    (tree / "Include").mkdir(parents=True)
    (tree / "Include" / "patchlevel.h").write_text('#define PY_VERSION "3.13.15"\n')
    (tree / "configure").write_text("#! /bin/sh\n")
    (tree / "Tools" / "wasm").mkdir(parents=True)
    toolchain = make_toolchain(installed.work / "unpinned-toolchain")
    env = installed.env(EMSCRIPTEN_PYTHON_CACHE=str(installed.work / "unpinned-cache"))
    env["PATH"] = os.pathsep.join([str(toolchain), env["PATH"]])
    return installed.run("emscripten-python", "toolchain", "--toolchain", "system", "--source", tree,
                         "--out", installed.work / "unpinned-out", env=env)


def test_a_tree_without_a_pin_gets_the_packaged_one(installed, fallback_pin):
    _ok(fallback_pin)
    toolchain = json.loads((installed.work / "unpinned-out" / "results.json").read_text())["toolchain"]
    assert (toolchain["pin_origin"], toolchain["pinned_version"]) == ("fallback table (configure 3.13)", "3.1.69")


def test_what_the_code_loads_at_run_time_is_in_the_wheel(installed, dists, checkconfig, workers, stand_in_run,
                                                         status, fallback_pin):
    opened = {Path(line).relative_to(installed.site).as_posix()
              for line in installed.open_log.read_text().splitlines()}
    loaded = {name for name in opened if not name.endswith((".py", ".pyc")) and "/__pycache__/" not in name}
    with zipfile.ZipFile(dists["wheel"]) as archive:
        in_wheel = set(archive.namelist())
    assert loaded - in_wheel == set(), "the code opened package files the wheel lacks"
    # The runs above reached every kind of package data, so the comparison says something.
    assert {"emscripten_python/data/smoke.c", "emscripten_python/worker/templates/emscripten-python-worker.service",
            "emscripten_python/worker/templates/emscripten-python-worker.plist",
            "emscripten_python/status/templates/base.html", "emscripten_python/status/templates/run.html"} <= loaded
    # And the other way: package data in the wheel that nothing above loaded.
    data = {name for name in in_wheel if name.startswith("emscripten_python/") and not name.endswith(".py")}
    assert sorted(data - loaded) == sorted(NOT_LOADED_BY_THESE_RUNS), sorted(data - loaded)


# Package data these runs do not reach, each for a stated reason (a new file must be added here
# with its reason, or be reached above).
NOT_LOADED_BY_THESE_RUNS: dict[str, str] = {}
