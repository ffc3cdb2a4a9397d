"""A "Debian worker with a distro Emscripten", provisioned for the real-toolchain tests.

Debian trixie ships Emscripten 3.1.69, clang-19 and node 20, but needs a newer libc than
the host, so it lives in its own debootstrap root entered with chroot. The root and the
offline source mirror are cached on this machine, keyed by what they contain, so a warm
run provisions nothing; a fresh machine rebuilds them (see docs/e2e.md).

This is test infrastructure, not product code: it provides the environment; the product
(`emscripten-python run --mirror ...`) does everything else itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

SUITE = "trixie"
PACKAGES = (
    "emscripten", "nodejs", "make", "python3", "python3-venv", "ca-certificates",
    "gcc", "libc6-dev", "pkg-config",
)
# Debian source packages that make up the offline mirror: CPython itself, the sources of
# emcc's ports CPython asks for (zlib, bzip2) and CPython's 3.14+ dependencies.
CPYTHON_VERSION = "3.13.15"
SOURCE_PACKAGES = (f"python3.13={CPYTHON_VERSION}-1", "zlib", "bzip2", "libffi", "mpdecimal")
# python3.13 3.13.15 is not in trixie itself but in the newer suites.
SOURCE_SUITES = (SUITE, "forky", "sid")
# Bump when the way the root is made changes, so stale caches are not reused.
LAYOUT_REVISION = 1
# A second, small root with newer CPythons and their test suites: real native regrtest
# output of 3.14 and 3.15 for the parser's format tests (tests/e2e/test_regrtest_formats.py).
SID_SUITE = "sid"
SID_PACKAGES = ("python3.14", "libpython3.14-testsuite", "python3.15", "libpython3.15-testsuite")

NODERAWFS_JS = "usr/share/emscripten/src/library_noderawfs.js"


def cache_base() -> Path:
    return Path(os.environ.get("EP_E2E_CACHE", "/var/cache/emscripten-python-e2e"))


def debian_mirror_url() -> str:
    """The Debian archive the host's own apt uses (so no host name lives in this code)."""
    if os.environ.get("EP_E2E_DEBIAN_MIRROR"):
        return os.environ["EP_E2E_DEBIAN_MIRROR"]
    for sources in sorted(Path("/etc/apt").glob("sources.list.d/*.sources")):
        match = re.search(r"^URIs:\s*(\S+/debian)/?\s*$", sources.read_text(), re.M)
        if match:
            return match.group(1)
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        match = re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s", legacy.read_text(), re.M)
        if match:
            return match.group(1)
    raise RuntimeError("cannot find a Debian archive URL in /etc/apt; set EP_E2E_DEBIAN_MIRROR")


def _key(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def missing_prerequisites() -> list[str]:
    """What stops the e2e tests from running here (empty when they can run)."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (chroot and mount need it)")
    for tool in ("chroot", "debootstrap", "mount", "umount"):
        if shutil.which(tool) is None:
            missing.append(tool)
    return missing


def e2e_required() -> bool:
    """CI must never count a skipped real-toolchain test as a pass."""
    return os.environ.get("CI") == "true" or os.environ.get("EP_E2E_REQUIRED") == "1"


def _log(message: str) -> None:
    print(f"[e2e] {message}", file=sys.stderr, flush=True)


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, **kwargs)


class DebianRoot:
    """A cached debootstrap root; `mounted()` makes it usable with chroot."""

    def __init__(self, base: Path | None = None, suite: str = SUITE, packages: tuple[str, ...] = PACKAGES):
        self.base = base or cache_base()
        self.suite, self.packages = suite, packages
        self.key = _key({"suite": suite, "packages": sorted(packages), "rev": LAYOUT_REVISION})
        self.path = self.base / f"root-{suite}-{self.key}"
        self.timings: dict[str, float] = {}

    @property
    def ready(self) -> bool:
        return (self.path / ".provisioned").exists()

    def ensure(self) -> "DebianRoot":
        if self.ready:
            _log(f"reusing cached root {self.path}")
            self.timings["provision_root"] = 0.0
            return self
        self.base.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        if partial.exists():
            shutil.rmtree(partial)
        _log(f"debootstrap {self.suite} into {partial} (a few minutes on a fresh machine)")
        started = time.monotonic()
        _run([
            "debootstrap", "--variant=minbase", f"--include={','.join(self.packages)}",
            self.suite, str(partial), debian_mirror_url(),
        ], stdout=subprocess.DEVNULL)
        # Keep pristine copies of the files the environment steps patch.
        js = partial / NODERAWFS_JS
        if js.exists():
            shutil.copy2(js, js.with_name(js.name + ".debian"))
        partial.rename(self.path)
        (self.path / ".provisioned").write_text(json.dumps({"suite": self.suite, "packages": self.packages}))
        self.timings["provision_root"] = time.monotonic() - started
        _log(f"root provisioned in {self.timings['provision_root']:.0f} s")
        return self

    @contextlib.contextmanager
    def mounted(self):
        """/proc and /dev mounted for the run, always unmounted afterwards (errors, Ctrl-C, SIGTERM)."""
        mounts = [(self.path / "proc", ["-t", "proc", "proc"]), (self.path / "dev", ["--bind", "/dev"])]
        done: list[Path] = []
        previous_term = signal.getsignal(signal.SIGTERM)

        def _terminate(signum, frame):
            raise SystemExit(128 + signum)

        if previous_term in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _terminate)
        try:
            for target, args in mounts:
                if not os.path.ismount(target):
                    _run(["mount", *args, str(target)])
                    done.append(target)
            yield self
        finally:
            for target in reversed(done):
                subprocess.run(["umount", "-l", str(target)], check=False)
            if previous_term in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, previous_term or signal.SIG_DFL)

    def chroot(self, script: str, *, env: dict[str, str] | None = None, check: bool = True,
               capture: bool = False, timeout: float | None = None) -> subprocess.CompletedProcess:
        """Run a bash script inside the root, with a clean, explicit environment."""
        base_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb"}
        base_env.update(env or {})
        return subprocess.run(
            ["chroot", str(self.path), "/bin/bash", "-c", script],
            env=base_env, check=check, text=True, timeout=timeout,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
        )

    def install_project(self, project: Path) -> str:
        """Install this checkout of emscripten-python into a venv inside the root.

        Wheels are built on the host (which has the package index configured) and installed
        in the root with --no-index, so the root needs no network or pip configuration.
        Returns the path (inside the root) of the installed CLI.
        """
        wheels = self.path / "opt" / "ep-wheels"
        shutil.rmtree(wheels, ignore_errors=True)
        wheels.mkdir(parents=True)
        _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels), str(project)],
             stdout=subprocess.DEVNULL)
        self.chroot(
            "set -e; [ -x /opt/ep-venv/bin/pip ] || python3 -m venv /opt/ep-venv; "
            "/opt/ep-venv/bin/pip install --quiet --no-index --find-links /opt/ep-wheels "
            "--force-reinstall emscripten-python",
        )
        return "/opt/ep-venv/bin/emscripten-python"

    def link_host_paths(self) -> None:
        """Make the root's own host path lead back to the root, inside it, so a host path under
        the root (the runner's --junit-xml, out directories) names the same file for a program
        run with chroot. The link is relative: on the host too it leads to the root, never
        outside it."""
        inside = self.path / str(self.path).lstrip("/")
        target = "/".join([".."] * (len(self.path.parts) - 2)) or "."
        if inside.is_symlink() and str(inside.readlink()) != target:
            inside.unlink()
        if not inside.is_symlink():
            inside.parent.mkdir(parents=True, exist_ok=True)
            inside.symlink_to(target)
        assert inside.resolve() == self.path.resolve()

    def bind(self, host_dir: Path, inside: str) -> "contextlib.AbstractContextManager":
        return _bind(host_dir, self.path / inside.lstrip("/"))

    # --- the documented environment step: Emscripten 3.1.69's NODERAWFS stdio fix ---------
    def set_noderawfs_stdio_fix(self, enabled: bool) -> None:
        """Give NODERAWFS's standard streams real paths and no tty flag, as newer Emscripten does.

        Emscripten 3.1.69 creates them with `path: ''` and `tty: true`, so fstat(1) fails
        (CPython sets sys.stdout to None and every print vanishes) and isatty() crashes in
        ioctl_tcgets. See docs/e2e.md.
        """
        js = self.path / NODERAWFS_JS
        pristine = js.with_name(js.name + ".debian").read_text()
        if not enabled:
            js.write_text(pristine)
            return
        stdin = "FS.createStream({ nfd: 0, position: 0, path: '', flags: 0, tty: true, seekable: false }, 0);"
        outputs = "FS.createStream({ nfd: i, position: 0, path: '', flags:"
        if stdin not in pristine or outputs not in pristine:
            raise RuntimeError(f"NODERAWFS fix: {js} does not have 3.1.69's createStandardStreams")
        fixed = pristine.replace(stdin, stdin.replace("path: ''", "path: '/dev/stdin'").replace("tty: true, ", ""))
        fixed = fixed.replace(outputs, outputs.replace("path: ''", "path: i == 1 ? '/dev/stdout' : '/dev/stderr'"))
        fixed = fixed.replace("}}}, tty: true, seekable: false }, i);", "}}}, seekable: false }, i);")
        js.write_text(fixed)


@contextlib.contextmanager
def _bind(host_dir: Path, target: Path):
    target.mkdir(parents=True, exist_ok=True)
    _run(["mount", "--bind", "-o", "ro", str(host_dir), str(target)])
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


class SourceMirror:
    """Debian source tarballs (CPython, port sources, CPython deps), fetched with apt's own config."""

    def __init__(self, base: Path | None = None):
        self.base = base or cache_base()
        self.key = _key({"suites": SOURCE_SUITES, "sources": SOURCE_PACKAGES, "rev": LAYOUT_REVISION})
        self.path = self.base / f"mirror-{SUITE}-{self.key}"
        self.timings: dict[str, float] = {}

    @property
    def ready(self) -> bool:
        return (self.path / ".complete").exists()

    def cpython_tarball(self) -> Path:
        found = sorted(self.path.glob(f"python3.13_{CPYTHON_VERSION}*.orig.tar.*"))
        if not found:
            raise FileNotFoundError(f"no CPython {CPYTHON_VERSION} tarball in {self.path}")
        return found[0]

    def ensure(self) -> "SourceMirror":
        if self.ready:
            _log(f"reusing cached source mirror {self.path}")
            self.timings["fetch_sources"] = 0.0
            return self
        started = time.monotonic()
        work = self.base / f"apt-{self.key}"
        shutil.rmtree(work, ignore_errors=True)
        (work / "lists" / "partial").mkdir(parents=True)
        (work / "download").mkdir()
        sources_list = work / "sources.list"
        sources_list.write_text("".join(f"deb-src {debian_mirror_url()} {suite} main\n" for suite in SOURCE_SUITES))
        # An apt configuration of its own: the host's sources, lists and cache are untouched.
        apt = [
            "apt-get", "-q",
            f"-o=Dir::Etc::SourceList={sources_list}", "-o=Dir::Etc::SourceParts=/dev/null",
            f"-o=Dir::State::Lists={work / 'lists'}", f"-o=Dir::Cache={work / 'cache'}",
            "-o=APT::Sandbox::User=root", "-o=APT::Get::Only-Source=true",
        ]
        _run([*apt, "update"], stdout=subprocess.DEVNULL)
        partial = self.path.with_name(self.path.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        for package in SOURCE_PACKAGES:
            # Only the upstream (orig) tarballs are reachable for every package; .dsc and
            # Debian patch tarballs sometimes are not, so `apt-get source` itself can fail.
            uris = _run([*apt, "source", "--print-uris", package], capture_output=True, text=True).stdout
            for uri, name in re.findall(r"^'(\S+)' (\S+\.orig\.tar\.\w+) ", uris, re.M):
                _log(f"downloading {name}")
                with urllib.request.urlopen(uri, timeout=120) as response, open(partial / name, "wb") as out:
                    shutil.copyfileobj(response, out)
        shutil.rmtree(work)
        if not list(partial.glob(f"python3.13_{CPYTHON_VERSION}*.orig.tar.*")):
            raise RuntimeError(f"Debian's python3.13 source is not {CPYTHON_VERSION}: {os.listdir(partial)}")
        partial.rename(self.path)
        (self.path / ".complete").write_text("\n".join(sorted(os.listdir(self.path))) + "\n")
        self.timings["fetch_sources"] = time.monotonic() - started
        return self


def main(argv: list[str]) -> int:
    """`python tests/e2e/debian_root.py provision` — prepare the cached root and mirror."""
    if argv[1:] != ["provision"]:
        print("usage: debian_root.py provision", file=sys.stderr)
        return 2
    missing = missing_prerequisites()
    if missing:
        print(f"cannot provision: missing {', '.join(missing)}", file=sys.stderr)
        return 1
    root, mirror = DebianRoot().ensure(), SourceMirror().ensure()
    print(json.dumps({"root": str(root.path), "mirror": str(mirror.path),
                      "timings": {**root.timings, **mirror.timings}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
