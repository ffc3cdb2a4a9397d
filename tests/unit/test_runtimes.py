"""Per-runtime results (tests = primary runtime, runtimes = the others), node flags per major,
the browser stage's page choice and build steps, and how each face shows several runtimes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from emscripten_python.testing import browser
from emscripten_python.cli.main import _options, build_parser
from emscripten_python.report.markdown import render_markdown
from emscripten_python.building.recipes import BuildContext
from emscripten_python.results.model import Run, Stage
from emscripten_python.results.model import TestCase as Case, TestFile as File  # not Test*: pytest collects those
from emscripten_python.testing.runtimes import host_for_node, node_runtime, runtime_label, runtime_slug
from emscripten_python.building.source import CPythonSource, EmscriptenPin, Era
from emscripten_python.testing.junit import write_junit
from emscripten_python.building.host import HostPython
from emscripten_python.building.toolchain import Toolchain
from emscripten_python.results.validation import load_validated

NODE20 = node_runtime("node", "20.19.2", ["--stack-size=30000"])
NODE24 = node_runtime("/opt/node24/bin/node", "24.11.1", ["--stack-size=30000"])
CHROMIUM = {"kind": "browser", "name": "chromium", "version": "142.0.7444.59", "path": "/usr/bin/chromium"}


def matrix_run(node24_math: str = "passed") -> Run:
    run = Run(source={"cpython_version": "3.13.15", "era": "configure"}, node={"version": "20.19.2"})
    run.set_stage(Stage("test", "succeeded", 60.0))
    run.tests.update(runtime=NODE20, selection=["test_math", "test_zlib"], files=[
        File("test_math", "passed", 2.0, tests_run=86), File("test_zlib", "passed", 1.0, tests_run=76)])
    node24_files = [File("test_math", node24_math, 2.5, tests_run=86, failures=int(node24_math != "passed"),
                         crash="RuntimeError: memory access out of bounds" if node24_math == "crashed" else None),
                    File("test_zlib", "passed", 1.1, tests_run=76)]
    run.runtimes = [{"runtime": NODE24, "selection": ["test_math", "test_zlib"], "files": node24_files},
                    {"runtime": CHROMIUM, "selection": ["browser-smoke"], "files": [
                        File("browser-smoke", "passed", 9.0, tests_run=1)]}]
    return run


def test_every_runtime_decides_the_outcome():
    assert matrix_run().decide_outcome() == "success"
    # node 20 all green, node 24 crashed in test_math: the run failed.
    assert matrix_run("crashed").decide_outcome() == "failure"
    assert matrix_run("flaky").decide_outcome() == "warnings"


def test_a_runtime_that_could_not_run_is_an_error():
    run = matrix_run()
    run.runtimes[0] = {"runtime": NODE24, "selection": ["test_math"], "files": [],
                       "error": "the interpreter died 3 times before running a test file"}
    assert run.decide_outcome() == "error"


def test_counts_total_and_per_runtime():
    counts = matrix_run("crashed").counts()
    assert counts["files"]["total"] == 5 and counts["files"]["crashed"] == 1
    assert counts["tests"]["run"] == 86 + 76 + 86 + 76 + 1
    by = counts["by_runtime"]
    assert [runtime_label(part["runtime"]) for part in by] == [
        "node 20.19.2", "node 24.11.1", "chromium 142.0.7444.59"]
    assert by[0]["files"]["passed"] == 2 and by[1]["files"]["crashed"] == 1 and by[2]["files"]["passed"] == 1


def test_single_runtime_counts_keep_their_shape():
    run = Run()
    run.tests["files"] = [File("test_os", "failed", failures=2, tests_run=10)]
    counts = run.counts()
    assert counts["files"]["failed"] == 1 and counts["tests"]["failures"] == 2
    assert len(counts["by_runtime"]) == 1


def test_runtimes_round_trip_through_json(tmp_path):
    run = matrix_run("crashed")
    run.decide_outcome()
    run.save(tmp_path / "results.json")
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["tests"]["runtime"]["version"] == "20.19.2"
    assert [s["runtime"]["name"] for s in data["runtimes"]] == ["node", "chromium"]
    loaded = load_validated(tmp_path / "results.json")
    assert loaded == run
    assert isinstance(loaded.runtimes[0]["files"][0], File)
    assert loaded.runtimes[0]["files"][0].crash.startswith("RuntimeError")


def test_unknown_outcome_in_a_further_runtime_is_rejected():
    data = matrix_run().to_dict()
    data["runtimes"][0]["files"][0]["outcome"] = "exploded"
    from emscripten_python.errors import ResultsError
    with pytest.raises(ResultsError, match="exploded"):
        Run.from_dict(data)


def test_markdown_side_by_side():
    run = matrix_run("crashed")
    run.decide_outcome()
    text = render_markdown(run)
    rows = [line.replace("`", "") for line in text.splitlines()
            if line.startswith(("| node", "| `node", "| chromium", "| `chromium"))]
    assert rows == ["| node 20.19.2 | 2 | 2 | 0 | 0 | 0 | 0 | 0 | 0 |",
                    "| node 24.11.1 | 2 | 1 | 0 | 1 | 0 | 0 | 0 | 0 |",
                    "| chromium 142.0.7444.59 | 1 | 1 | 0 | 0 | 0 | 0 | 0 | 0 |"]
    crash_lines = [line.replace("`", "").replace("*", "") for line in text.splitlines() if "under" in line]
    assert "- test_math crashed under node 24.11.1" in crash_lines
    assert "RuntimeError: memory access out of bounds" in text


def test_markdown_single_runtime_unchanged():
    run = matrix_run()
    run.runtimes = []
    text = render_markdown(run)
    assert "| runtime |" not in text and "| 2 | 2 | 0 | 0 | 0 | 0 | 0 | 0 |" in text


def test_runtime_label_from_an_untrusted_file_is_plain():
    hostile = {"name": "node<script>|**", "version": "24 | [x](http://evil)"}
    label = runtime_label(hostile)
    assert "|" not in label and "<" not in label and "(" not in label and " " in label


def test_junit_one_suite_per_runtime_and_file(tmp_path):
    run = matrix_run("crashed")
    write_junit(run, tmp_path / "junit.xml")
    root = ET.parse(tmp_path / "junit.xml").getroot()
    names = [s.get("name") for s in root.iter("testsuite")]
    assert names == ["node-20/test_math", "node-20/test_zlib", "node-24/test_math", "node-24/test_zlib",
                     "chromium/browser-smoke"]
    crashed = root.findall("testsuite")[2]
    assert crashed.find("properties/property").get("value") == "node 24.11.1"
    assert crashed.get("errors") == "1"
    assert crashed.find("testcase").get("classname").startswith("node-24.")
    assert root.get("errors") == "1"


def test_slugs_are_per_major():
    assert runtime_slug(NODE24) == "node-24" and runtime_slug(CHROMIUM) == "chromium"


def test_node_flags_per_major_configure_era(tmp_path):
    host = HostPython(argv=["node", "--stack-size=30000", "python.js"], cwd=tmp_path, env={"A": "1"},
                      entry=tmp_path / "python.js")
    other = host_for_node(host, "/opt/node24/bin/node", "24.11.1", ["--stack-size=30000"])
    # 3.11-3.13 run python.js: no JSPI flag, the same stack flags, another binary.
    assert other.argv == ["/opt/node24/bin/node", "--stack-size=30000", "python.js"]
    assert other.cwd == tmp_path and other.env == {"A": "1"}


@pytest.mark.parametrize("version, jspi", [("22.12.0", False), ("24.11.1", True), ("26.0.0", False)])
def test_node_flags_per_major_driver_era(tmp_path, version, jspi):
    python_sh = tmp_path / "python.sh"
    host = HostPython(argv=[str(python_sh)], cwd=tmp_path, env={"NODEFLAGS": "--stack-size=30000"},
                      entry=python_sh)
    other = host_for_node(host, "/opt/node/bin/node", version, ["--stack-size=30000"])
    # python.sh would start the node it was configured with, so node_entry.mjs is started
    # directly, with the flag python.sh adds only for node 24.
    expected = ["/opt/node/bin/node", "--stack-size=30000", *(["--experimental-wasm-jspi"] if jspi else []),
                str(tmp_path / "node_entry.mjs"), f"--this-program={python_sh}"]
    assert other.argv == expected
    assert other.env["NODEFLAGS"] == ""


def test_cli_node_repeatable_first_is_primary():
    args = build_parser().parse_args(["test", "--source", "x", "--node", "node", "--node", "/opt/n24/node",
                                      "--node", "node", "--browser", "--web-assets", "/srv/assets"])
    options = _options(args)
    assert options.node == "node" and options.more_nodes == ["/opt/n24/node"]
    assert options.browser is True and options.web_assets == Path("/srv/assets")
    default = _options(build_parser().parse_args(["test", "--source", "x"]))
    assert default.node == "node" and default.more_nodes == [] and default.browser is False


def _source(tmp_path: Path, era: Era) -> CPythonSource:
    return CPythonSource(path=tmp_path, version="3.13.15" if era is Era.CONFIGURE else "3.14.4", era=era,
                         pin=EmscriptenPin(version="3.1.69", minimum=None, origin="test"))


def test_browser_page_by_era(tmp_path):
    page = browser.web_page(tmp_path, Era.CONFIGURE)
    assert page.directory == tmp_path / "builddir" / "emscripten-browser" and page.path == "/python.html"
    assert page.kind == "worker-repl"
    page = browser.web_page(tmp_path, Era.PLATFORMS)
    assert page.directory == tmp_path / "cross-build/wasm32-emscripten/build/python/web_example_pyrepl_jspi"
    assert page.kind == "pyrepl"


def test_browser_build_steps_configure_era(tmp_path):
    toolchain = Toolchain(kind="system", emcc=Path("/usr/bin/emcc"), version="3.1.69")
    ctx = BuildContext(source=_source(tmp_path, Era.CONFIGURE), toolchain=toolchain, jobs=2,
                       build_triplet=lambda tree: "x86_64-pc-linux-gnu")
    configure, make = browser.browser_build_steps(ctx)
    assert configure.name == "configure-browser" and make.name == "make-browser"
    assert configure.cwd == tmp_path / "builddir" / "emscripten-browser"
    assert "--with-emscripten-target=browser" in configure.argv
    assert f"--with-build-python={tmp_path}/builddir/build/python" in configure.argv
    assert "--enable-wasm-dynamic-linking" not in configure.argv
    assert configure.env["CONFIG_SITE"] == "../../Tools/wasm/config.site-wasm32-emscripten"
    assert configure.reusable_when == configure.cwd / "config.status"
    assert make.argv[1:] == ["make", "-j2"]


def test_browser_build_steps_driver_era_none(tmp_path):
    toolchain = Toolchain(kind="system", emcc=Path("/usr/bin/emcc"), version="4.0.12")
    ctx = BuildContext(source=_source(tmp_path, Era.PLATFORMS), toolchain=toolchain, jobs=2)
    assert browser.browser_build_steps(ctx) == []     # make-host builds web_example_pyrepl_jspi


def test_smoke_section_failure_keeps_console_text(tmp_path):
    result = browser.SmokeResult(passed=False, problem="worker error: the worker script could not be loaded",
                                 errors=["HTTP 404 for http://127.0.0.1:1234/python.worker.js"],
                                 browser_version="142.0", console_log=tmp_path / "browser" / "console.log",
                                 screenshot=tmp_path / "browser" / "smoke.png", duration=3.2)
    section = browser.smoke_section(result, browser.WebPage(tmp_path, "worker-repl", "/python.html"),
                                    tmp_path, "/usr/bin/chromium")
    smoke = section["files"][0]
    assert smoke.outcome == "crashed" and "python.worker.js" in smoke.crash
    assert section["artifacts"] == {"console": "browser/console.log", "screenshot": "browser/smoke.png"}
    assert section["runtime"]["kind"] == "browser"
    run = Run()
    run.runtimes = [section]
    assert run.decide_outcome() == "failure"


def test_smoke_expected_output_is_what_the_program_computes():
    """The expected lines are what CPython itself prints for the program (checked natively here)."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(browser.SMOKE_PROGRAM, "smoke", "exec"), {})
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "platform: " + __import__("sys").platform
    assert lines[1:] == browser.EXPECTED[1:]


def test_browser_build_python_needs_zlib(tmp_path, monkeypatch):
    build_python = tmp_path / "python"
    assert browser.browser_build_python(build_python, (3, 13)) == build_python     # not built yet: as is
    build_python.write_text("")
    with_zlib = {str(build_python): False, "/usr/bin/python3.13": True}
    monkeypatch.setattr(browser, "_has_zlib", lambda python: with_zlib[str(python)])
    monkeypatch.setattr(browser.shutil, "which", lambda name: "/usr/bin/python3.13" if name == "python3.13" else None)
    assert browser.browser_build_python(build_python, (3, 13)) == Path("/usr/bin/python3.13")
    with_zlib["/usr/bin/python3.13"] = False        # nothing better: make fails with wasm_assets.py's message
    assert browser.browser_build_python(build_python, (3, 13)) == build_python
    with_zlib[str(build_python)] = True
    assert browser.browser_build_python(build_python, (3, 13)) == build_python


def test_browser_config_cache_seeded_from_the_node_flavour(tmp_path):
    node = tmp_path / "builddir" / "emscripten-node"
    node.mkdir(parents=True)
    (node / "config.cache").write_text(
        "# a comment\n"
        "ac_cv_func_getpid=${ac_cv_func_getpid=yes}\n"
        "py_cv_module__testcapi=${py_cv_module__testcapi=yes}\n"
        "ac_cv_prog_PYTHON_FOR_REGEN=${ac_cv_prog_PYTHON_FOR_REGEN=/build/python}\n"
        "ac_cv_path_ac_pt_NODE=${ac_cv_path_ac_pt_NODE=/usr/bin/node}\n"
        "ac_cv_tool_node_wasm_bigint=${ac_cv_tool_node_wasm_bigint=no}\n")
    assert browser.seed_config_cache(tmp_path) is True
    seeded = (tmp_path / "builddir" / "emscripten-browser" / "config.cache").read_text()
    assert seeded == "# a comment\nac_cv_func_getpid=${ac_cv_func_getpid=yes}\n"
    # A browser cache of its own is never replaced.
    assert browser.seed_config_cache(tmp_path) is False
    (tmp_path / "builddir" / "emscripten-browser" / "config.cache").write_text("mine\n")
    assert browser.seed_config_cache(tmp_path) is False
    assert (tmp_path / "builddir" / "emscripten-browser" / "config.cache").read_text() == "mine\n"
