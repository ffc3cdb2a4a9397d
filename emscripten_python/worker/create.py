"""`worker create`: a Buildbot worker directory plus a systemd unit or launchd job to run it.

Wraps `buildbot-worker create-worker` (the one supported way to make a worker directory)
and renders the service from the templates in the repository's workers/ folder, shipped as
emscripten_python.worker.templates.
"""

from __future__ import annotations

import getpass
import os
import platform
import pwd
import re
import shlex
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from string import Template
from xml.sax.saxutils import escape

from ..errors import EmscriptenPythonError

PASSWORD_ENV = "EMSCRIPTEN_PYTHON_WORKER_PASSWORD"
TEMPLATES = {"systemd": "emscripten-python-worker.service", "launchd": "emscripten-python-worker.plist"}
INSTALL = {
    "systemd": "sudo cp {unit_file} /etc/systemd/system/{unit_name} && sudo systemctl daemon-reload "
               "&& sudo systemctl enable --now {unit_name}",
    "launchd": "sudo cp {unit_file} /Library/LaunchDaemons/{unit_name} "
               "&& sudo launchctl bootstrap system /Library/LaunchDaemons/{unit_name}",
}


class WorkerSetupError(EmscriptenPythonError):
    """The worker directory or its service file could not be made."""


def default_service() -> str:
    return "launchd" if platform.system() == "Darwin" else "systemd"


def buildbot_worker_executable() -> str:
    beside = Path(sys.executable).with_name("buildbot-worker")
    found = str(beside) if beside.exists() else shutil.which("buildbot-worker")
    if not found:
        raise WorkerSetupError("buildbot-worker is not installed: pip install 'emscripten-python[buildbot]'")
    return found


def read_password(password_file: Path | None) -> str:
    if password_file:
        return password_file.read_text().strip()
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if sys.stdin.isatty():
        return getpass.getpass("worker password (as configured on the master): ")
    raise WorkerSetupError(f"no worker password: use --password-file or set {PASSWORD_ENV}")


def systemd_specifiers(value: str) -> str:
    """A value systemd takes literally: % starts a specifier (%h, %n), $ a variable in ExecStart."""
    return value.replace("%", "%%")


def systemd_quoted(value: str, *, command: bool = True) -> str:
    """One ExecStart= argument (command) or Environment= assignment, double-quoted
    (systemd.syntax(7)): a basedir with a space stays one argument. Only a command line
    expands $VARIABLES (systemd.service(5)); Environment= takes "$" literally."""
    escaped = systemd_specifiers(value.replace("\\", "\\\\").replace('"', '\\"'))
    return '"' + (escaped.replace("$", "$$") if command else escaped) + '"'


def render_service(kind: str, values: dict[str, str]) -> str:
    template = resources.files("emscripten_python.worker.templates").joinpath(TEMPLATES[kind]).read_text()
    if kind == "launchd":
        # Every value is element text (never inside a comment, where "--" would be invalid XML).
        values = {key: escape(value, {'"': "&quot;"}) for key, value in values.items()}
    else:
        values = {**{key: systemd_specifiers(value) for key, value in values.items()},
                  "install": values["install"],         # a comment: shown as typed, never parsed
                  **{f"q_{key}": systemd_quoted(values[key]) for key in ("basedir", "buildbot_worker")},
                  "q_path_env": systemd_quoted(f"PATH={values['path']}", command=False),
                  "q_cache_env": systemd_quoted(f"EMSCRIPTEN_PYTHON_CACHE={values['cache_dir']}", command=False)}
    return Template(template).substitute(values)


# What the worker runs, found on the creating shell's PATH: only their directories go into the
# service's PATH (plus the system's), not every directory of the shell that created it.
WORKER_TOOLS = ("node", "git", "make", "cc", "gcc", "python3", "emcc", "ccache")
SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")


def service_path(which=shutil.which) -> str:
    dirs = [str(Path(sys.executable).parent)]          # buildbot-worker and emscripten-python
    dirs += [str(Path(found).parent) for tool in WORKER_TOOLS if (found := which(tool))]
    return os.pathsep.join(dict.fromkeys([*dirs, *SYSTEM_PATH]))


def service_user(user: str | None) -> str:
    """The account the service runs as: given, else whoever creates it, but never root."""
    user = user or getpass.getuser()
    if user == "root":
        raise WorkerSetupError("the worker would run as root: pass --user NAME, a dedicated account "
                               "(e.g. `sudo useradd --system --create-home buildbot`) that owns the basedir")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*\$?", user):
        raise WorkerSetupError(f"--user {user!r} is not a valid account name")
    return user


def service_values(name: str, basedir: Path, kind: str, executable: str, cache_dir: Path,
                   user: str | None = None, path: str | None = None) -> dict[str, str]:
    if re.search(r"[\x00-\x1f\x7f]", name) or re.search(r"[\x00-\x1f\x7f]", str(basedir)):
        raise WorkerSetupError("the worker name and basedir must not contain control characters")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
    label = f"org.python.emscripten-python.worker.{slug}"
    unit_name = f"{label}.plist" if kind == "launchd" else f"emscripten-python-worker-{slug}.service"
    values = {"name": name, "basedir": str(basedir), "user": service_user(user), "path": path or service_path(),
              "buildbot_worker": executable, "cache_dir": str(cache_dir), "label": label,
              "unit_name": unit_name, "unit_file": str(basedir / unit_name)}
    values["install"] = INSTALL[kind].format(**{key: shlex.quote(value) for key, value in values.items()})
    return values


def user_cache_dir_of(account: pwd.struct_passwd) -> Path:
    """The service user's own cache directory (what the pipeline's default is when it runs)."""
    home = Path(account.pw_dir)
    return home / ("Library/Caches" if platform.system() == "Darwin" else ".cache") / "emscripten-python"


def hand_over(user: str, basedir: Path, cache_dir: Path) -> list[str]:
    """Makes the worker directory the service user's: as root, chown it (and a cache directory
    `worker create` made) to them; otherwise say why the service would fail to start."""
    try:
        account = pwd.getpwnam(user)
    except KeyError:
        return [f"there is no account {user!r} on this machine: create it (sudo useradd --system "
                f"--create-home {user}) and give it {basedir} before starting the service"]
    if account.pw_uid == os.geteuid():
        return []
    if os.geteuid() != 0:
        return [f"{basedir} belongs to you, not to {user!r}: the service cannot write to it; run "
                f"`worker create` as {user} (sudo -u {user} ...) or as root"]
    for path in (basedir, *basedir.rglob("*")):
        os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
    if cache_dir.exists():
        return []               # an existing cache is the operator's; only a new one is handed over
    top = next(parent for parent in (cache_dir, *cache_dir.parents) if parent.parent.exists())
    if top.is_relative_to(account.pw_dir) and not Path(account.pw_dir).is_dir():
        return [f"{user}'s home {account.pw_dir} does not exist: pass --cache-dir, a directory {user} can write"]
    cache_dir.mkdir(parents=True)
    for path in (top, *top.rglob("*")):
        os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
    return []


def create_worker(name: str, master: str, basedir: Path, password: str, *, cache_dir: Path, service: str,
                  admin: str | None = None, host_info: str | None = None, user: str | None = None,
                  force: bool = False) -> tuple[Path, str] | None:
    """Creates the worker directory; returns the service file written and how to install it."""
    if not re.fullmatch(r"[^:\s]+:\d+", master):
        raise WorkerSetupError(f"--master {master!r}: expected HOST:PORT, e.g. buildmaster.example.org:9989")
    basedir = basedir.expanduser().resolve()
    if (basedir / "buildbot.tac").exists() and not force:
        raise WorkerSetupError(f"{basedir} already holds a worker (buildbot.tac); use --force to recreate it")
    executable = buildbot_worker_executable()
    if service != "none":
        service_user(user)          # refuse root before anything is written
    done = subprocess.run([executable, "create-worker", "--umask=0o22", "--force", str(basedir), master, name,
                           password], capture_output=True, text=True)
    if done.returncode:
        raise WorkerSetupError(f"buildbot-worker create-worker failed (rc {done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()[-500:]}")
    info = basedir / "info"
    info.mkdir(exist_ok=True)
    if admin:
        (info / "admin").write_text(admin + "\n")
    (info / "host").write_text((host_info or f"{platform.platform()}, {os.cpu_count()} CPUs; "
                                "Emscripten worker (emscripten-python)") + "\n")
    if service == "none":
        return None
    values = service_values(name, basedir, service, executable, cache_dir, user=user)
    unit = Path(values["unit_file"])
    unit.write_text(render_service(service, values))
    for warning in hand_over(values["user"], basedir, cache_dir):
        print(f"warning: {warning}", file=sys.stderr)
    return unit, values["install"]
