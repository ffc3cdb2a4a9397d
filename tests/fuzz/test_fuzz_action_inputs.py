"""Fuzzing the action's prepare step (emscripten_python/github/action.py) with generated inputs.

For any inputs: no exception escapes, the exit is 0 or the documented 2, a refusal writes no
output (so no later step runs) and makes no request, no line on stdout or stderr is a workflow
command other than the project's own escaped ``::error`` lines (tests/github/runner_commands.py,
written from the runner's source), and each example ends in bounded time. A fixed, modest
budget (derandomized) keeps this to seconds in CI; failing examples found are kept below as
@example regression cases.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
import urllib.request
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "github"))
from action_trees import stand_in_cpython  # noqa: E402
from runner_commands import unexpected  # noqa: E402
from test_github_action import ACTION  # noqa: E402

from emscripten_python.github import action  # noqa: E402

NAMES = list(ACTION["inputs"])
HOSTILE = ["", " ", "\n", "::add-mask::x", "x\n::error::EVIL", "a\r##[error]b", "%0A%25", "::stop-commands::t",
           "nan", "inf", "-1", "0", "1e309", "99999999999999999999", "true", "yes", "latest", "system", "all",
           "test_os", "test_os,test_math", "--jobs abc", "'unterminated", "a,b", "results/x", "../../etc/passwd",
           "\x07", "\u2028::x::y", "\udcff", "é" * 40, "x" * 5000, "22 24", "1", "4", "github",
           "4b1c0a7d9e2f36a8c5d7e9f0a1b2c3d4e5f60718", "$(touch /tmp/pwned)", "`id`", "${{ secrets.X }}"]
# os.environ cannot hold NUL; everything else may arrive.
VALUES = st.one_of(st.sampled_from(HOSTILE), st.text(st.characters(blacklist_characters="\x00",
                                                                       blacklist_categories=("Cs",)), max_size=60))
INPUTS = st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=8)
BOUND = 30.0     # seconds per example: generous on a loaded machine; prepare takes milliseconds


def _run_prepare(tmp: Path, inputs: dict[str, str]) -> tuple[int, str, str, str, list[str]]:
    workspace = tmp / "workspace"
    if not workspace.exists():
        stand_in_cpython(workspace)
    output = tmp / "output"
    output.write_text("")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "RUNNER_"))}
    environ.update({"GITHUB_WORKSPACE": str(workspace), "GITHUB_OUTPUT": str(output), "GITHUB_ENV": str(output),
                    "RUNNER_TEMP": str(tmp / "runner_temp"), "GITHUB_JOB": "fuzz", "INPUT_SOURCE": "."})
    environ.update({"INPUT_" + name.upper().replace("-", "_"): value for name, value in inputs.items()})
    requests: list[str] = []

    def no_network(url, *args, **kwargs):
        requests.append(str(url))
        raise OSError("no network in this test")

    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, environ, clear=True), mock.patch.object(urllib.request, "urlopen", no_network), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = action.prepare()
    return code, out.getvalue(), err.getvalue(), output.read_text(), requests


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow,
                                                                                      HealthCheck.function_scoped_fixture])
@given(inputs=INPUTS)
@example(inputs={"timeout": "nan"})
@example(inputs={"source": "x" * 5000})            # ENAMETOOLONG from Path.is_dir was a traceback
@example(inputs={"results-from": "r" * 5000, "report": "none"})
@example(inputs={"name": "x\n::error::EVIL"})
@example(inputs={"emscripten-version": "latest"})  # resolved over the network: one request, refused here
def test_prepare_never_crashes_and_prints_no_command(tmp_path_factory, inputs):
    tmp = tmp_path_factory.mktemp("prepare")
    start = time.monotonic()
    code, stdout, stderr, written, requests = _run_prepare(tmp, inputs)
    assert time.monotonic() - start < BOUND
    assert code in (0, action.EXIT_BAD_INPUT)
    assert unexpected(stdout, stderr) == [], (stdout, stderr)
    if code == action.EXIT_BAD_INPUT:
        assert written == "" and requests == [], "a refusal writes nothing and asks nothing"
        assert stdout.startswith("::error title=emscripten-python inputs::")
        assert len(stderr.splitlines()) == 1
    else:
        assert "out=" in written and "artifact-name=" in written
        assert requests in ([], [action.EMSDK_TAGS_URL])


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from([n for n in NAMES if n != "github-token"]), value=VALUES)
def test_one_changed_input_changes_the_artifact_name(name, value):
    variable = "INPUT_" + name.upper().replace("-", "_")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("INPUT_")}
    with mock.patch.dict(os.environ, base_env, clear=True):
        base = action._artifact_name("leg")
        os.environ[variable] = value
        changed = action._artifact_name("leg")
    if name == "artifact-name" and value.strip():
        assert changed == value.strip()
    elif value.strip():
        assert changed != base, (name, value)
    else:
        assert changed == base, "an empty input is the default"
