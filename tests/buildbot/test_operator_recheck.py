"""What an operator met in the first week, beyond the plugin's own tests (an independent re-check)."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from emscripten_python.cli import main


def _create(tmp_path, monkeypatch, *extra) -> tuple[int, Path]:
    monkeypatch.setenv("EMSCRIPTEN_PYTHON_WORKER_PASSWORD", "pw")
    basedir = tmp_path / "w1"
    rc = main(["worker", "create", "w1", "--master", "127.0.0.1:9989", "--basedir", str(basedir),
               "--service", "systemd", *extra])
    return rc, basedir


def test_worker_created_by_root_belongs_to_the_service_account(tmp_path, monkeypatch, capsys):
    """The documented path in a container (root) with `--user ACCOUNT`: the service runs as ACCOUNT,
    so the basedir (buildbot.tac is mode 600) and a new cache must be ACCOUNT's, else the service
    cannot even read its .tac; not root: a warning that says what to do instead."""
    account = pwd.getpwnam("nobody")
    tmp_path.chmod(0o755)
    rc, basedir = _create(tmp_path, monkeypatch, "--user", "nobody", "--cache-dir", str(tmp_path / "c" / "ep"))
    err = capsys.readouterr().err
    assert rc == 0
    if os.geteuid() == 0:
        owners = {path.stat().st_uid for path in (basedir, basedir / "buildbot.tac", basedir / "info",
                                                  tmp_path / "c", tmp_path / "c" / "ep")}
        assert owners == {account.pw_uid}, err
    else:
        assert "belongs to you, not to 'nobody'" in err and "sudo -u nobody" in err


def test_root_default_cache_is_the_service_accounts(tmp_path, monkeypatch, capsys):
    if os.geteuid() != 0:
        pytest.skip("only root creates a worker for another account")
    monkeypatch.delenv("EMSCRIPTEN_PYTHON_CACHE", raising=False)
    rc, basedir = _create(tmp_path, monkeypatch, "--user", "nobody")
    assert rc == 0
    unit = (basedir / "emscripten-python-worker-w1.service").read_text()
    # Not root's cache (/root/.cache), which the service account cannot reach; nobody's home
    # does not exist, which the operator is told.
    assert 'Environment="EMSCRIPTEN_PYTHON_CACHE=/nonexistent/.cache/emscripten-python"' in unit
    assert "nobody's home /nonexistent does not exist: pass --cache-dir" in capsys.readouterr().err
    assert not Path("/nonexistent").exists()


def test_unknown_service_account_is_named(tmp_path, monkeypatch, capsys):
    rc, basedir = _create(tmp_path, monkeypatch, "--user", "no-such-account-c3", "--cache-dir", str(tmp_path / "c"))
    assert rc == 0 and (basedir / "emscripten-python-worker-w1.service").exists()
    assert "there is no account 'no-such-account-c3' on this machine" in capsys.readouterr().err


def _unit_lines(text: str, key: str) -> list[str]:
    return [line.partition("=")[2] for line in text.splitlines() if line.startswith(f"{key}=")]


def test_systemd_environment_values_are_literal(tmp_path):
    """systemd.exec(5): Environment= does no variable expansion ("$" has no special meaning), only
    specifiers (%); so a `$` in the cache path must not be doubled there, as it must in ExecStart.
    The install comment is not parsed: it shows the path as typed."""
    from emscripten_python.worker.create import render_service, service_values

    basedir = tmp_path / "w $HOME 50%"
    values = service_values("w1", basedir, "systemd", "/venv/bin/buildbot-worker", tmp_path / "cache $x 5%",
                            user="buildbot", path="/usr/bin:/bin")
    text = render_service("systemd", values)
    assert _unit_lines(text, "Environment")[1] == f'"EMSCRIPTEN_PYTHON_CACHE={tmp_path}/cache $x 5%%"'
    assert _unit_lines(text, "ExecStart")[0].endswith(f'"{tmp_path}/w $$HOME 50%%"')
    install = next(line for line in text.splitlines() if line.startswith("# Install: "))
    assert f"'{basedir}/emscripten-python-worker-w1.service'" in install
