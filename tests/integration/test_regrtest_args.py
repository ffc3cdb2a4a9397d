"""The runner reads regrtest's arguments as regrtest does: checked against the real
`test.libregrtest.cmdline._parse_args` of every CPython on this machine (Debian's 3.11.2 for
the 3.11.0-3.11.6 era, pyenv's 3.11.7, 3.12.1 and 3.13.0), on hand-picked tricky lists and on
generated ones, and the option tables against the real parsers' own options."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest

from emscripten_python.errors import TestRunError
from emscripten_python.testing.regrtest_args import OLD_311, TAKES_VALUE, era_table, read_args, without

INTERPRETERS = {
    "3.11.2": "/usr/bin/python3.11",
    "3.11.7": "/root/.pyenv/versions/3.11.7/bin/python",
    "3.12.1": "/root/.pyenv/versions/3.12.1/bin/python",
    "3.13.0": "/root/.pyenv/versions/3.13.0/bin/python",
}

# Run inside each interpreter: its own regrtest reads each list; the fields the runner uses.
PROBE = r"""
import contextlib, io, json, sys
from test.libregrtest import cmdline
if sys.argv[1] == "version":
    print(json.dumps(sys.version.split()[0]))
    sys.exit()
if sys.argv[1] == "options":
    print(json.dumps([[a.option_strings, a.nargs is None] for a in cmdline._create_parser()._actions]))
    sys.exit()
out = []
for args in json.load(sys.stdin):
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            ns = cmdline._parse_args(args)
    except SystemExit:
        out.append({"error": err.getvalue()})
        continue
    match = getattr(ns, "match_tests", None) or []
    out.append({"quiet": ns.quiet, "verbose": ns.verbose, "rerun": getattr(ns, "rerun", getattr(ns, "verbose2", False)),
                "verbose3": ns.verbose3, "single_process": getattr(ns, "single_process", False), "use_mp": ns.use_mp,
                "python": ns.python,
                "match": [list(m) if isinstance(m, tuple) else [m, True] for m in match]
                         + [[m, False] for m in getattr(ns, "ignore_tests", None) or []],
                "args": ns.args})
print(json.dumps(out))
"""

TRICKY = [
    ["-vq"], ["-qv"], ["--qui"], ["--quiet"], ["-v", "--qu"], ["-vvq", "test_os"],
    ["--ver"], ["--verb"], ["--verbose"], ["--verbose2"], ["--verbose3"], ["-vw"], ["-wv"], ["-vW"], ["-Wv"],
    ["--rer"], ["--rerun"], ["-w"], ["--single-process"], ["--single-p"], ["--single"], ["--sing"],
    ["-j", "2"], ["-j2"], ["-vj2"], ["-j", "-1"], ["-j0", "--single-process"], ["-j"], ["-j", "-q"],
    ["-m", "-q"], ["-m", "test_q", "test_os"], ["-mtest_b"], ["--match=test_*", "-i", "x"], ["--mat", "-v"],
    ["-m", "--rerun"], ["--timeout", "60", "-v"], ["--timeout=30"], ["--timeout", "-5"], ["--tim", "5"],
    ["--timeout", "x", "--timeout", "5"], ["--timeout", "5", "--timeout=x"], ["-j", "x", "-j", "2"],
    ["-u", "all,-network", "-q"], ["-uall"], ["-vuall"], ["--use=cpu"], ["-vu", "cpu"],
    ["--fast-ci"], ["--slow-ci", "--single-process"], ["--fa"], ["-p", "node", "-j", "1", "--rerun"],
    ["--python=node", "-j1", "-w"], ["-v", "--", "test_os"], ["--", "-q"], ["-v=1"], ["--verbose=2"], ["--rerun=1"],
    ["-x", "test_os"], ["--junit-xml", "-v"], ["--junit-xml", "out.xml", "--tempdir", "/tmp/t"], ["-vx"],
    ["-q", "--header"], ["--he"], ["-Wq"], ["-qW", "-w"], ["-r", "--randseed", "5"], ["-R", "3:3", "-W"],
    ["-N", "-D", "cov"], ["-vN"], ["-o"], ["--fail-env"], ["--fail"], ["-t", "5", "-F", "-v"], ["-vjq"],
]
# Tokens for generated lists: the tricky ones and the values they take or are mistaken for.
WORDS = sorted({token for args in TRICKY for token in args} | {"test_os", "all", "2", "-1"})


LEFT_TO_REGRTEST = ("invalid resource", "argument -R/--huntrleaks", "--huntrleaks/-R parameters")


def _probe(python: str | list[str], *argv: str, stdin: str | None = None):
    """PROBE run by `python` (a path, or a command such as `chroot ROOT python3.14`)."""
    if isinstance(python, str) and not Path(python).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{python} is not installed")
        pytest.skip(f"{python} is not installed")
    command = [python] if isinstance(python, str) else python
    done = subprocess.run([*command, "-c", PROBE, *argv], input=stdin, capture_output=True, text=True,
                          timeout=120, cwd="/tmp")
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _ours(args: list[str], version: str) -> dict:
    try:
        read = read_args(args, version)
    except TestRunError as exc:
        return {"error": str(exc)}
    return {"quiet": read.quiet, "verbose": read.verbose, "rerun": read.rerun, "verbose3": read.verbose3,
            "single_process": read.single_process, "use_mp": read.use_mp, "python": read.python,
            "match": [list(m) for m in read.match_tests], "args": list(read.positional)}


def _theirs(real: dict) -> dict:
    if "error" in real:
        return real
    # regrtest refuses --python with re-runs at run time ("not supported with --python").
    real["rerun"] = bool(real["rerun"]) and real["python"] is None
    real["python"] = " ".join(real["python"]) if isinstance(real["python"], list) else real["python"]
    return real


def _compare(version: str, lists: list[list[str]], expected: list[dict] | None = None,
             python: str | list[str] | None = None) -> list[tuple]:
    """Lists whose reading by the real regrtest differs from `expected` (default: ours)."""
    mismatches = []
    expected = expected or [_ours(args, version) for args in lists]
    reals = _probe(python or INTERPRETERS[version], "parse", stdin=json.dumps(lists))
    for args, real, ours in zip(lists, reals, expected):
        real = _theirs(real)
        if "error" in real:
            # regrtest refused them: so do we, or we pass on an option it does not know
            # ("unrecognized arguments") or a value it checks itself (resource names, -R's
            # form), which regrtest then refuses.
            unknown = "unrecognized arguments" in real["error"] and any(
                arg.startswith("-") for arg in ours.get("args", []))
            if "error" not in ours and not unknown and not any(text in real["error"] for text in LEFT_TO_REGRTEST):
                mismatches.append((args, real["error"].strip().splitlines()[0], ours))
            continue
        if "error" in ours:
            mismatches.append((args, "accepted", ours["error"]))
            continue
        if real["use_mp"] is not None and ours["use_mp"] is not None and ours["use_mp"] <= 0 and era_table(version) is OLD_311:
            real["use_mp"] = ours["use_mp"]       # 3.11.0-3.11.6 turn -j0 into the CPU count at once
        if era_table(version) is OLD_311:     # -m and -i are two lists there
            ours["match"] = [m for m in ours["match"] if m[1]] + [m for m in ours["match"] if not m[1]]
        if real != ours:
            mismatches.append((args, real, ours))
    return mismatches


@pytest.mark.parametrize("version", sorted(INTERPRETERS))
def test_tricky_lists_read_as_regrtest_reads_them(version):
    assert _compare(version, TRICKY) == []


@pytest.mark.parametrize("version", sorted(INTERPRETERS))
def test_generated_lists_read_as_regrtest_reads_them(version):
    rng = random.Random(f"regrtest-args-{version}")
    lists = [[rng.choice(WORDS) for _ in range(rng.randint(1, 6))] for _ in range(1000)]
    assert _compare(version, lists) == []


@pytest.mark.parametrize("version", sorted(INTERPRETERS))
def test_option_tables_are_the_real_parsers(version):
    real = {tuple(strings): takes_value for strings, takes_value in _probe(INTERPRETERS[version], "options")}
    ours = {option.strings: option.kind in TAKES_VALUE for option in era_table(version)}
    assert ours == real


def test_the_case_of_the_issue_is_refused_however_written():
    for args in (["-vq"], ["-qv"], ["--qui"], ["-v", "--quiet"]):
        assert read_args(args, "3.13.15").quiet
    # a value is never a flag, a flag inside a value is not a flag
    assert not read_args(["-m", "q", "--tempdir", "/tmp/-q", "test_quiet"], "3.13.15").quiet


@pytest.mark.parametrize("args, dests, version, expected", [
    (["-v", "-uall", "--rerun", "--single-process", "-W"], {"rerun"}, "3.14.2",
     (["-v", "-uall", "--single-process", "-W"], ["--rerun"], 2)),
    (["-vwW", "test_os"], {"rerun"}, "3.13.0", (["-vW", "test_os"], ["-w"], 0)),
    (["-vWuall"], {"verbose3"}, "3.13.0", (["-vu", "all"], ["-W"], 0)),
    (["--rer", "-m", "--rerun"], {"rerun"}, "3.13.0", None),        # -m takes no option: refused
    (["-m", "-1", "--verbose", "test_w"], {"rerun"}, "3.12.1", (["-m", "-1", "--verbose", "test_w"], [], None)),
    (["-v", "--use", "cpu", "-x", "--us=all"], {"use"}, "3.13.0", (["-v", "-x"], ["--use cpu", "--use all"], 1)),
    (["-w", "--verbose2"], {"rerun"}, "3.11.4", ([], ["-w", "--verbose2"], 0)),
])
def test_without_takes_out_exactly_the_options(args, dests, version, expected):
    if expected is None:
        with pytest.raises(TestRunError, match="expects a value"):
            without(args, dests, version)
    else:
        assert without(args, dests, version) == expected


def _source(test_args: list[str], version: str = "3.13.15"):
    from types import SimpleNamespace
    return SimpleNamespace(version=version, tree_config=SimpleNamespace(test_args=tuple(test_args)))


def test_the_pipeline_edits_the_tree_arguments_as_regrtest_reads_them(tmp_path):
    from emscripten_python.pipeline import Options, dropped_tree_args, regrtest_arguments

    source = _source(["-vW", "--use=all", "--rer", "--single-process"])
    options = Options(source="x", out=tmp_path, rerun=False, resources="cpu", regrtest_args=["--timeout=60"])
    assert dropped_tree_args(source, options) == ["-W"]
    assert regrtest_arguments(source, options) == ["-v", "-u", "cpu", "--single-process", "--timeout=60"]
    with pytest.raises(TestRunError, match="--fast-ci"):
        regrtest_arguments(_source(["--fast-ci", "--single-process"]), options)
    with pytest.raises(TestRunError, match="ambiguous"):
        regrtest_arguments(_source(["-v", "--ver"]), options)


@pytest.mark.parametrize("args, refused", [(["-vq"], "-q"), (["-qv"], "-q"), (["-v", "--qui"], "-q"),
                                           (["-v", "-x"], "-x"), (["-vs"], "-s"), (["--list-t"], "--list-tests")])
def test_the_runner_refuses_before_anything_runs(tmp_path, args, refused):
    from emscripten_python.building.host import HostPython
    from emscripten_python.testing.runner import TestOptions, run_regrtest

    host = HostPython(argv=[str(tmp_path / "never-started")], cwd=tmp_path, env={})
    with pytest.raises(TestRunError, match=refused):
        run_regrtest(host, TestOptions(selection=["test_a"], regrtest_args=args), tmp_path, log=lambda m: None)
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize("version", sorted(INTERPRETERS))
def test_without_changes_nothing_else_as_regrtest_reads_it(version):
    """Taking re-runs and -W out of generated lists (-vwW -> -v, --rer gone ...): the real
    regrtest reads the rest exactly as the whole list, less those two."""
    rng = random.Random(f"regrtest-without-{version}")
    lists = [[rng.choice(WORDS) for _ in range(rng.randint(1, 6))] for _ in range(1000)]
    expected, stripped = [], []
    for args in lists:
        ours = _ours(args, version)
        if "error" in ours or {"--fast-ci", "--slow-ci", "--fa"} & set(args):     # they imply both
            continue
        expected.append({**ours, "rerun": False, "verbose3": False})
        stripped.append(without(args, {"rerun", "verbose3"}, version)[0])
    assert len(stripped) > 300
    assert _compare(version, stripped, expected) == []
