"""The package layout is the architecture: imports point down the layers, never up or in a circle,
and docs/architecture.rst's layer list and module map say what the code holds.

The imports are read with ast (nothing is imported, so no import side effects and no optional
extra is needed), including imports inside functions: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "emscripten_python"
# The Buildbot face is the top-level steps/ folder, installed as emscripten_python.steps.
FOLDERS = {PACKAGE: ROOT / PACKAGE, f"{PACKAGE}.steps": ROOT / "steps"}

# The layers from the bottom up; the one statement of the order (docs/architecture.rst repeats
# it, and test_docs_state_the_layers checks that it does). Each layer has one room or several;
# a room is a list of packages (holding their submodules) and single modules. A module may
# import from its own room and from any room of a lower layer; the rooms of one layer (the
# GitHub face, the worker setup, bisect) do not import each other.
LAYERS = [
    ("ground", {"ground": [f"{PACKAGE}", f"{PACKAGE}.errors", f"{PACKAGE}.durable", f"{PACKAGE}.untrusted",
                           f"{PACKAGE}.cancel", f"{PACKAGE}.options", f"{PACKAGE}.extensions"]}),
    ("results", {"results": [f"{PACKAGE}.results."]}),
    ("building", {"building": [f"{PACKAGE}.building."]}),
    ("testing", {"testing": [f"{PACKAGE}.testing."]}),
    ("report", {"report": [f"{PACKAGE}.report."]}),
    ("pipeline", {"pipeline": [f"{PACKAGE}.pipeline"]}),
    ("status", {"status": [f"{PACKAGE}.status."]}),
    ("cli", {"cli": [f"{PACKAGE}.cli.", f"{PACKAGE}.__main__"]}),
    ("faces", {"github": [f"{PACKAGE}.github."], "worker": [f"{PACKAGE}.worker."],
               "bisect": [f"{PACKAGE}.bisect."]}),
    ("buildbot", {"buildbot": [f"{PACKAGE}.steps."]}),
]


def modules() -> dict[str, Path]:
    """Every module of the installed package -> its file (steps/ included, templates excluded)."""
    found = {}
    for prefix, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join([prefix, *parts])
            if prefix == PACKAGE and name.startswith(f"{PACKAGE}.steps"):
                continue
            found[name] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ours that `name` imports, anywhere in its body."""
    is_package = path.name == "__init__.py"
    package = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            # `from pkg import mod` depends on the submodule; `from mod import name` on mod.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def room_of(module: str) -> tuple[int, str]:
    """(layer index, room name) of a module. A name ending in "." is a package: it holds the
    package itself and everything under it; any other name is one module."""
    for level, (_, rooms) in enumerate(LAYERS):
        for room, members in rooms.items():
            for member in members:
                package = member.endswith(".")
                if module == member or package and (module == member[:-1] or module.startswith(member)):
                    return level, room
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and to docs/architecture.rst")


def test_every_module_is_in_a_layer():
    for name in modules():
        room_of(name)


def test_imports_point_down():
    upward = []
    for name, targets in sorted(graph().items()):
        level, room = room_of(name)
        for target in sorted(targets):
            target_level, target_room = room_of(target)
            if target_room != room and target_level >= level:
                upward.append(f"{name} ({LAYERS[level][0]}) imports {target} ({LAYERS[target_level][0]})")
    assert not upward, "imports that do not point down the layers:\n" + "\n".join(upward)


def test_no_import_cycles():
    edges = graph()
    cycles, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for target in sorted(edges[node]):
            if state.get(target) == "open":
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checker_sees_an_upward_import_and_a_cycle(tmp_path, monkeypatch):
    # The walk must resolve the relative and lazy forms the package uses, or the checks above
    # would pass on an empty graph.
    package = tmp_path / PACKAGE
    (package / "results").mkdir(parents=True)
    (package / "report").mkdir()
    (package / "__init__.py").write_text("")
    (package / "results" / "__init__.py").write_text("")
    (package / "report" / "__init__.py").write_text("")
    (package / "results" / "model.py").write_text("def f():\n    from ..report import markdown\n")
    (package / "report" / "markdown.py").write_text("from ..results.model import f\n")
    monkeypatch.setitem(FOLDERS, PACKAGE, package)
    monkeypatch.setitem(FOLDERS, f"{PACKAGE}.steps", tmp_path / "nothing")
    edges = graph()
    assert edges[f"{PACKAGE}.results.model"] == {f"{PACKAGE}.report.markdown"}
    assert edges[f"{PACKAGE}.report.markdown"] == {f"{PACKAGE}.results.model"}
    assert room_of(f"{PACKAGE}.results.model")[0] < room_of(f"{PACKAGE}.report.markdown")[0]


# -- docs/architecture.rst -----------------------------------------------------------------------

ARCHITECTURE = ROOT / "docs" / "architecture.rst"


def _section(title: str) -> str:
    text = ARCHITECTURE.read_text()
    start = text.index(f"\n{title}\n")
    following = re.search(r"\n[^\n]+\n-{3,}\n", text[start + len(title) + 2:])
    return text[start:start + len(title) + 2 + following.start()] if following else text[start:]


def test_docs_state_the_layers():
    stated = re.findall(r"^\d+\. \*\*(\w+)\*\*", _section("Layers"), re.M)
    assert stated == [name for name, _ in LAYERS]


def _mapped_paths() -> set[str]:
    """Paths named in the module map's terms (an unindented line followed by its indented
    definition), relative to the package; the Buildbot face's as steps/...."""
    lines = _section("Module map").splitlines()
    terms = [line for line, following in zip(lines, lines[1:])
             if line.startswith("``") and following.startswith("    ")]
    return {path for line in terms for path in re.findall(r"``([\w/.]+)``", line)}


def _path_of(name: str, path: Path) -> str:
    if name.startswith(f"{PACKAGE}.steps"):
        relative = "steps/" + path.relative_to(ROOT / "steps").as_posix()
    else:
        relative = path.relative_to(ROOT / PACKAGE).as_posix()
    if relative.endswith("/__init__.py"):
        return relative[:-len("__init__.py")]
    return relative


def test_module_map_names_every_module():
    mapped = _mapped_paths()
    missing = sorted(_path_of(name, path) for name, path in modules().items()
                     if _path_of(name, path) not in mapped)
    assert not missing, f"modules missing from the module map in docs/architecture.rst: {missing}"


def test_module_map_names_only_modules_that_exist():
    actual = {_path_of(name, path) for name, path in modules().items()}
    data = {p for p in _mapped_paths() if p.startswith("data/")}
    gone = sorted(p for p in _mapped_paths() - actual - data)
    assert not gone, f"the module map names what is not in the package: {gone}"
    for path in data:
        assert (ROOT / PACKAGE / path).is_file(), path
