"""The exit-code table of docs/cli.rst, the README's list and errors.py say the same (issue 21)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from emscripten_python import errors

ROOT = Path(__file__).resolve().parents[2]


def _documented() -> dict[int, str]:
    """{code: class name or '--'} from the list-table under docs/cli.rst's "Exit codes"."""
    text = (ROOT / "docs" / "cli.rst").read_text()
    section = text.split("\nExit codes\n----------\n", 1)[1].split("\n----", 1)[0]
    rows = re.findall(r"^   \* - (\d+)\n     - (?:``(\w+)``|(--))$", section, re.M)
    assert rows, "no exit-code rows found in docs/cli.rst"
    table = {}
    for code, name, dash in rows:
        assert int(code) not in table, f"exit code {code} documented twice"
        table[int(code)] = name or dash
    return table


def _classes() -> dict[str, int]:
    return {name: cls.exit_code for name, cls in inspect.getmembers(errors, inspect.isclass)
            if issubclass(cls, errors.EmscriptenPythonError) and cls.__module__ == errors.__name__}


def test_every_documented_code_is_the_code_of_its_class():
    classes = _classes()
    for code, name in _documented().items():
        if name != "--":
            assert classes.get(name) == code, f"docs/cli.rst: {code} is {name}, errors.py says {classes.get(name)}"


def test_every_error_class_is_documented_with_its_code():
    documented = {name: code for code, name in _documented().items()}
    for name, code in _classes().items():
        assert documented.get(name) == code, f"{name} (exit {code}) is not in docs/cli.rst's exit-code table"


def test_codes_are_unique_per_class():
    codes = list(_classes().values())
    assert len(codes) == len(set(codes))


def test_the_readme_lists_exactly_the_documented_codes():
    readme = (ROOT / "README.md").read_text()
    line = readme.split("Exit codes:", 1)[1].split("\n\n", 1)[0]
    listed = {int(code) for code in re.findall(r"(?<![\w.-])(\d+) [a-zA-Z(`]", line)}
    assert listed == set(_documented()), (sorted(listed), sorted(_documented()))
