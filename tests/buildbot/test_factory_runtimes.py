"""EmscriptenFactory's runtime options: several nodes and the browser smoke test (docs/runtimes.rst)."""

from __future__ import annotations

from emscripten_python.steps import EmscriptenFactory


def built(factory) -> list:
    return [step_factory.buildStep() for step_factory in factory.steps]


def test_nodes_and_browser_reach_the_test_command():
    steps = built(EmscriptenFactory(branch="3.13", nodes=["node", "/opt/node24/bin/node"], browser=True))
    test = next(step for step in steps if step.name == "test")
    command = test.command
    assert command[command.index("--node") + 1] == "node"
    assert command[len(command) - 1 - command[::-1].index("--node") + 1] == "/opt/node24/bin/node"
    assert "--browser" in command


def test_browser_build_steps_only_where_the_tree_needs_them():
    names = [step.name for step in built(EmscriptenFactory(branch="3.13", browser=True))]
    assert names.index("make-host") < names.index("configure-browser") < names.index("make-browser") \
        < names.index("test")
    configure = next(step for step in built(EmscriptenFactory(branch="3.13", browser=True))
                     if step.name == "configure-browser")
    assert configure.command[configure.command.index("--only") + 1] == "configure-browser"
    assert "--browser" in configure.command
    # 3.14+: make-host builds the web example; no extra build steps.
    names = [step.name for step in built(EmscriptenFactory(branch="3.14", browser=True))]
    assert "configure-browser" not in names and "make-browser" not in names


def test_default_factory_unchanged():
    test = next(step for step in built(EmscriptenFactory(branch="3.13")) if step.name == "test")
    assert "--node" not in test.command and "--browser" not in test.command


def test_step_summary_side_by_side():
    from emscripten_python.results.model import Run, TestFile
    from emscripten_python.steps.summary import describe, test_properties

    run = Run()
    run.tests.update(runtime={"kind": "node", "name": "node", "version": "20.19.2"},
                     files=[TestFile("test_math", "passed"), TestFile("test_os", "failed")])
    run.runtimes = [{"runtime": {"kind": "node", "name": "node", "version": "24.22.3"},
                     "files": [TestFile("test_math", "crashed"), TestFile("test_os", "failed")]},
                    {"runtime": {"kind": "browser", "name": "chromium", "version": "142.0"},
                     "files": [TestFile("browser-smoke", "passed")]}]
    run.decide_outcome()
    assert describe(run) == ("node 20.19.2: 1 passed, 1 failed; node 24.22.3: 0 passed, 1 failed, 1 crashed; "
                             "chromium 142.0: 1 passed")
    properties = test_properties(run)
    assert [entry["runtime"] for entry in properties["runtimes"]] == ["node 20.19.2", "node 24.22.3", "chromium 142.0"]
    assert properties["runtimes"][1]["crashed"] == 1
    single = Run()
    single.tests["files"] = [TestFile("test_math", "passed")]
    assert describe(single) == "1 passed" and "runtimes" not in test_properties(single)
