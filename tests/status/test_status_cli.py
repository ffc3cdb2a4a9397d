"""`status serve` and `status export` options: a value that cannot work is one line and
exit 2 before the store is opened (waitress took port 70000 as 4464 and gave a traceback
for -5 or an unknown host; export gave a traceback for a directory it could not make)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest


def _status(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emscripten_python.status", *args,
                           "--db", f"sqlite:///{tmp_path / 'store.sqlite'}"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)


@pytest.mark.parametrize("args, says", [
    (["serve", "--port", "70000"], "70000 is not a port number (0 to 65535)"),
    (["serve", "--port", "-5"], "-5 is not a port number"),
    (["serve", "--port", "http"], "'http' is not a port number"),
    (["serve", "--host", "no-such-host.invalid", "--port", "0"], "is not an address to listen on"),
    (["serve", "--threads", "0"], "0 is not between 1 and 1024"),
    (["serve", "--threads", "100000"], "is not between 1 and 1024"),
    (["export", "file.txt"], "'file.txt' exists and is not a directory"),
])
def test_bad_values_are_refused_before_the_store_is_opened(tmp_path, args, says):
    (tmp_path / "file.txt").write_text("x")
    done = _status(tmp_path, *args)
    assert done.returncode == 2, done
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ") and says in line, line
    assert done.stdout == "" and not (tmp_path / "store.sqlite").exists()


def test_an_export_directory_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    done = _status(tmp_path, "export", "file.txt/site")
    assert done.returncode == 2, done
    [line] = done.stderr.splitlines()
    assert line == "error: export: cannot make the directory 'file.txt/site': Not a directory"
    assert not (tmp_path / "store.sqlite").exists()


def test_a_port_in_use_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = _status(tmp_path, "serve", "--host", "127.0.0.1", "--port", str(taken.getsockname()[1]))
    assert done.returncode == 2, done
    [line] = done.stderr.splitlines()
    assert line.startswith("error: cannot listen on 127.0.0.1 port ") and "in use" in line, line
