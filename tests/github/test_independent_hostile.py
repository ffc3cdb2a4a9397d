"""A hostile results.json corpus, field by field: each value either ends up inside code in what
the bot posts (PR comment, check-run summary, job summary, the comparison's delta), where GitHub
links nothing, or the file is refused with exit 40 before anything is posted.

Checked by parsing the Markdown GitHub-like (markdown-it-py) AND by scanning the text outside
code for GitHub's own autolink patterns (github_autolinks.py: #N, GH-N, owner/repo#N, SHAs,
www., emails, @user, @org/team, :emoji:), which markdown-it-py does not know about.
"""

from __future__ import annotations

import copy
import json
import re

import pytest
from gh_helpers import EXAMPLE, SHA, dump, target
from github_autolinks import scan
from independent_checks import leaks, start_report
from independent_github import Account, IndependentGitHub

from emscripten_python.errors import ResultsError
from emscripten_python.github.reporter import annotations, check_title, comment_body
from emscripten_python.github.text import truncate_markdown
from emscripten_python.report.markdown import render_markdown
from emscripten_python.results.model import Run
from emscripten_python.untrusted import actions_safe
from emscripten_python.results.validation import validate_results

LONG = "L" * 5000
HOSTILE = [
    "#31337", "GH-31337", "gh-31337", "python/cpython#31337", "evilbot#31337", "see #1 and #2",
    "deadbeefcafe", "4b1c0a7d9e2f36a8c5d7e9f0a1b2c3d4e5f60718", "evilbot@deadbeefcafe1",
    "python/cpython@deadbeefcafe1", "www.evil.example", "www.evil.example/path?q=1",
    "http://evil.example/x", "evil@evil.example", "@evilbot", "@python/core", "x @evilbot y",
    ":smile: :+1:", "&lt;img src=x&gt; &#64;evilbot &#35;31337", "<img src=https://evil.example/p.png>",
    "![p](https://evil.example/p.png)", "[click](javascript:alert(1))", "<a href=https://evil.example>x</a>",
    "\u202eevil\u202c \u2066@evilbot\u2069 ze\u200brow\u200d\ufeff", "</details><details><summary>@evilbot",
    "</code>@evilbot<code>", "</summary>#31337", "` `` ``` ```` ````` ``````", "```\n@evilbot\n```",
    "~~~\n#31337\n~~~", "a\rb\r::add-mask::x\r#31337", "nul\x00#31337", "::set-output name=r::x",
    "::stop-commands::tok\n::error::EVIL", "##[error]EVIL", "| @evilbot | #31337 |\n|---|---|",
    "# GH-31337 heading", "> @evilbot quote", "- #31337 item", "*@evilbot* _#31337_ **GH-1**",
    "\\#31337 \\@evilbot", "@\u2060evilbot", LONG + " #31337", "x" * 600, "<!-- #31337 -->", "-->@evilbot",
    "javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "https://evil.example",
    " ".join("`" * n for n in range(1, 13)) + " #31337", "`" * 40 + "\n@evilbot\n" + "`" * 41, "~" * 20 + "\n#31337",
]
# Identifiers that must match a strict pattern, where GitHub-shaped references still fit.
PATTERNED = ["GH-31337", "deadbeefcafe1", "www.evil.example", "test_deadbeefcafe1", "gh-1"]


def _base() -> dict:
    return json.loads(EXAMPLE.read_text())


def _comparison(value: str) -> dict:
    change = {"kind": "new-failure", "test": value, "file": value, "level": "case", "base": value,
              "head": value, "detail": value, "reason": value, "issue": value}
    return {"base": {"run_id": "b" * 32, "branch": value}, "head": {"run_id": "h" * 32}, "verdict": value,
            "baseline_missing": None, "counts": {}, "renamed": [{"from": value, "to": value}],
            "changes": [dict(change, kind=kind) for kind in ("new-crash", "new-failure", "fixed", "still-failing",
                                                             "expected-failure", "newly-flaky")],
            "durations": [{"file": value, "base": 1.0, "head": 2.0, "change": 1.0}],
            "expectations": {"source": value, "entries": 1, "not_seen": [value]}, "policy": "new", "fails": True,
            "runtimes": [{"base": None, "head": {}, "verdict": value, "runtime": value, "changes": [
                dict(change, kind="new-failure")]}]}


def _case_file(data: dict) -> dict:
    return next(f for f in data["tests"]["files"] if f["name"] == "test_os")


# Where an untrusted string can go: (name, setter).
PLACES = {
    "case.name": lambda d, v: _case_file(d)["cases"][0].update(name=v),
    "case.message": lambda d, v: _case_file(d)["cases"][0].update(message=v, traceback=None),
    "case.traceback": lambda d, v: _case_file(d)["cases"][0].update(traceback=v),
    "file.crash": lambda d, v: next(f for f in d["tests"]["files"] if f["outcome"] == "crashed").update(crash=v),
    "file.log_excerpt": lambda d, v: _case_file(d).update(log_excerpt=v, cases=[]),
    "file.name": lambda d, v: _case_file(d).update(name=v),
    "errors": lambda d, v: d.update(errors=[v]),
    "source.versions": lambda d, v: d["source"].update(cpython_version=v, era=v, branch=v),
    "source.commit": lambda d, v: d["source"].update(commit=v),
    "toolchain": lambda d, v: d["toolchain"].update(emcc_version=v, kind=v, pinned_version=v, matches_pin=False),
    "node.version": lambda d, v: d["node"].update(version=v),
    "origin.builder": lambda d, v: d["origin"].update(builder=v),
    "origin.url": lambda d, v: d["origin"].update(url=v),
    "stage": lambda d, v: d["stages"][0].update(name=v, status=v),
    "runtime": lambda d, v: d.update(runtimes=[{"runtime": {"name": v, "version": v}, "error": v, "files": []}]),
    "pythoninfo": lambda d, v: d.update(pythoninfo={"host": {"status": v, "info": {"sys.version": v}}}),
    "comparison": lambda d, v: d.update(comparison=_comparison(v)),
}


def corpus():
    for place in PLACES:
        for value in HOSTILE + PATTERNED:
            yield place, value


def _render_all(run: Run) -> dict[str, str]:
    chosen = target(details_url="https://ci.example.org/builds/17")
    return {"comment": comment_body(run, chosen),
            "summary": truncate_markdown(render_markdown(run), 65535, chosen.details_url),
            "cut": truncate_markdown(render_markdown(run), 3000, chosen.details_url)}


def test_hostile_corpus_is_inert_or_refused():
    base = _base()
    refused, rendered, problems = 0, 0, []
    for place, value in corpus():
        data = copy.deepcopy(base)
        data["schema_version"] = 2
        PLACES[place](data, value)
        try:
            validate_results(data)
        except ResultsError:
            refused += 1
            continue
        run = Run.from_dict(data)
        rendered += 1
        for kind, markdown in _render_all(run).items():
            found = scan(markdown, frozenset({"https://ci.example.org/builds/17"}))
            if found:
                problems.append(f"{place} = {value[:60]!r} -> {kind}: {found[:4]}")
        plain = check_title(run) + "".join(a["title"] + a["message"] for a in annotations(run))
        if re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", plain):
            problems.append(f"{place} = {value[:60]!r} -> control characters in check title/annotations")
        for line in re.split(r"\r\n|\r|\n", actions_safe(render_markdown(run))):
            if line.strip().startswith(("::", "##[")):
                problems.append(f"{place} = {value[:60]!r} -> workflow command on stdout: {line[:60]!r}")
    print(f"hostile corpus: {refused + rendered} files, {refused} refused, {rendered} rendered")
    assert rendered > 300 and refused > 0
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems[:40])


def test_the_report_command_on_stdout_prints_no_workflow_command(tmp_path):
    """`report` without --github prints the Markdown: no line may be a workflow command, with
    any of the line ends the runner splits on."""
    problems = []
    for i, place in enumerate(PLACES):
        for value in ("x\r::add-mask::EVIL", "x\n::set-output name=a::b", "x\u2028::error::EVIL",
                      "x\r\n##[error]EVIL"):
            data = _base()
            data["schema_version"] = 2
            PLACES[place](data, value)
            try:
                validate_results(data)
            except ResultsError:
                continue
            text = actions_safe(render_markdown(Run.from_dict(data)))
            for line in re.split(r"\r\n|\r|\n", text):     # how the runner splits (.NET ReadLine)
                if line.strip().startswith(("::", "##[")):
                    problems.append((place, value, line[:60]))
    assert problems == []


BAD_FILES = {
    "nan": '{"schema_version": 2, "run_id": "a", "created": "2026-01-01T00:00:00", "outcome": "success", '
           '"tests": {"files": [{"name": "test_os", "outcome": "passed", "duration": NaN}]}}',
    "infinity": '{"schema_version": 2, "run_id": "a", "created": "2026-01-01T00:00:00", "outcome": "success", '
                '"stages": [{"name": "x", "status": "ok", "duration": Infinity}]}',
    "deep": '{"schema_version": 2, "run_id": "a", "created": "2026-01-01T00:00:00", "outcome": "success", '
            '"toolchain": ' + "[" * 100000 + "]" * 100000 + "}",
    "numbers as strings": '{"schema_version": "2", "run_id": "a", "created": "2026-01-01T00:00:00", '
                          '"outcome": "success"}',
    "count as string": '{"schema_version": 2, "run_id": "a", "created": "2026-01-01T00:00:00", "outcome": '
                       '"success", "tests": {"files": [{"name": "test_os", "outcome": "passed", "tests_run": "3"}]}}',
    "unknown outcome": '{"schema_version": 2, "run_id": "a", "created": "2026-01-01T00:00:00", '
                       '"outcome": "::set-output name=result::pwned"}',
    "outcome as list": '{"schema_version": 2, "run_id": "a", "created": "2026-01-01T00:00:00", "outcome": ["success"]}',
    "files as object": '{"schema_version": 2, "run_id": "a", "created": "2026-01-01T00:00:00", "outcome": "success", '
                       '"tests": {"files": {"name": "test_os"}}}',
    "case name NUL": '{"schema_version": 2, "run_id": "a", "created": "2026-01-01T00:00:00", "outcome": "failure", '
                     '"tests": {"files": [{"name": "test_os", "outcome": "failed", "cases": '
                     '[{"name": "a\\u0000::add-mask::x", "outcome": "failed"}]}]}}',
    "run id path": '{"schema_version": 2, "run_id": "../../x", "created": "2026-01-01T00:00:00", "outcome": "success"}',
    "huge": '{"schema_version": 2, "run_id": "a", "created": "2026-01-01T00:00:00", "outcome": "success", '
            '"errors": ["' + "x" * 300000 + '"]}',
    "not an object": '[1, 2, 3]',
    "nested 20": '{"schema_version": 2, "run_id": "a", "created": "2026-01-01T00:00:00", "outcome": "success", '
                 '"node": ' + '{"a": ' * 20 + '1' + '}' * 20 + '}',
    "command in a key": '{"schema_version": 2, "run_id": "a", "created": "2026-01-01T00:00:00", "outcome": "success", '
                        '"\n::add-mask::x\r::error::y": 1, "tests": {"files": [{"name": "\r::error::z"}]}}',
    "bool as count": '{"schema_version": 2, "run_id": "a", "created": "2026-01-01T00:00:00", "outcome": "success", '
                     '"tests": {"files": [{"name": "test_os", "outcome": "passed", "failures": true}]}}',
    "huge number": '{"schema_version": 2, "run_id": "a", "created": "2026-01-01T00:00:00", "outcome": "success", '
                   '"tests": {"files": [{"name": "test_os", "outcome": "passed", "duration": 1e400}]}}',
    "comparison as list": '{"schema_version": 2, "run_id": "a", "created": "2026-01-01T00:00:00", "outcome": "success", '
                          '"comparison": [1]}',
}
TOKEN = "ghp_HostileCorpusToken0123456789abcdefXYZ"


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_are_refused_with_exit_40_before_any_request(tmp_path, name):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(BAD_FILES[name])
    with IndependentGitHub(tokens={TOKEN: Account("ep-bot")}, pr_head=SHA) as gh:
        proc = start_report(out, gh.base_url, TOKEN, "--pr", "7", "--sha", SHA, "--timeout", "1", "--settle", "0")
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 40, stderr[-2000:]
        assert gh.requests == 0
    assert "results.json" in stderr
    for line in re.split(r"\r\n|\r|\n", stdout + stderr):
        assert not line.strip().startswith(("::", "##[")), line
    assert leaks(stdout + stderr, TOKEN) == []


def test_a_hostile_file_posted_end_to_end_is_inert(tmp_path):
    """Through the CLI and real PyGithub: what the server received is inert."""
    data = _base()
    data["schema_version"] = 2
    for place in ("case.name", "case.traceback", "errors", "source.versions", "comparison", "runtime"):
        PLACES[place](data, " ".join(HOSTILE[:20]))
    validate_results(data)
    out = dump(tmp_path / "out", Run.from_dict(data))
    with IndependentGitHub(tokens={TOKEN: Account("ep-bot")}, pr_head=SHA) as gh:
        gh.echo = True
        proc = start_report(out, gh.base_url, TOKEN, "--pr", "7", "--sha", SHA, "--timeout", "1", "--settle", "0.1",
                            "--throttle", "0", "--details-url", "https://ci.example.org/builds/17")
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr[-2000:]
        [comment] = gh.live_comments(7)
        [check] = gh.live_checks(SHA, "wasm32-emscripten node 3.13")
    trusted = frozenset({"https://ci.example.org/builds/17"})
    assert scan(comment["body"], trusted) == []
    assert scan(check["output"]["summary"], trusted) == []
    assert check["status"] == "completed"


def test_the_comparison_shows_untrusted_text_only_in_code():
    """verdict, base/head states, reasons and issue URLs of a comparison read from results.json:
    a backslash escape does not stop GitHub's references (#N, GH-N, SHAs, www., :emoji:)."""
    from emscripten_python.results.compare import Comparison
    from emscripten_python.report.compare_markdown import render_comparison

    for value in ("see #31337", "GH-31337", "deadbeefcafe1", "www.evil.example", ":smile:", "evil@evil.example"):
        markdown = render_comparison(Comparison.from_dict(_comparison(value)))
        assert scan(markdown) == [], value
    # an issue link is kept only when it is an issue or pull request of the repository the
    # trusted caller reports to, and then rebuilt from that repository and the number
    fine = _comparison("x")
    fine["changes"][0]["issue"] = "https://github.com/Python/CPython/pull/31337"
    repo = "https://github.com/python/cpython"
    assert "([issue](https://github.com/python/cpython/issues/31337))" in render_comparison(
        Comparison.from_dict(fine), repo_url=repo)
    assert scan(render_comparison(Comparison.from_dict(fine))) == [], "no repository given: no link"
    for url in ("https://evil.example/phish", "javascript:alert(1)", "data:text/html,x", "http://github.com.evil/x",
                "https://github.com/someone/else/issues/1", "https://github.com/python/cpython.evil/issues/1",
                "https://github.com/python/cpython/issues/1#x", "https://evil.example/python/cpython/issues/1"):
        hostile = _comparison("x")
        hostile["changes"][0]["issue"] = url
        markdown = render_comparison(Comparison.from_dict(hostile), repo_url=repo)
        assert scan(markdown) == [], url


def test_workflow_commands_after_a_carriage_return_are_broken():
    """The runner splits stdout on \\r as well as \\n (.NET ReadLine)."""
    for text in ("x\r::add-mask::EVIL", "x\r\r::set-output name=a::b", "x\r  ##[error]EVIL"):
        for line in re.split(r"\r\n|\r|\n", actions_safe(text)):
            assert not line.strip().startswith(("::", "##[")), (text, line)


def test_a_comparison_made_by_report_from_hostile_base_and_expectations_is_inert(tmp_path):
    """`report --github --baseline B --expected E`: the base's branch and the expectations'
    reasons and issue URLs (a PR can change that file) reach the delta, the check run and the title."""
    base, head = _base(), _base()
    base["source"]["branch"] = "3.13 #31337 @evilbot www.evil.example deadbeefcafe1"
    base["source"]["commit"] = "deadbeefcafe1234"
    base["run_id"] = "b" * 32
    for test_file in base["tests"]["files"]:
        test_file.update(outcome="passed", cases=[]) if test_file["name"] == "test_os" else None
    head["run_id"] = "c" * 32
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "results.json").write_text(json.dumps(base))
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(json.dumps(head))
    expected = tmp_path / "expected.toml"
    expected.write_text('[[expected]]\ntests = ["test_compile"]\nreason = "GH-31337 @evilbot :smile: #1 see '
                        'www.evil.example"\nissue = "https://evil.example/#31337"\n'
                        '[[expected]]\ntests = ["test_nothing_*"]\nreason = "python/cpython#31337"\n'
                        'issue = "javascript:alert(1)"\n')
    with IndependentGitHub(tokens={TOKEN: Account("ep-bot")}, pr_head=SHA) as gh:
        proc = start_report(out, gh.base_url, TOKEN, "--pr", "7", "--sha", SHA, "--timeout", "1", "--settle", "0.1",
                            "--throttle", "0", "--details-url", "https://ci.example.org/builds/17",
                            "--baseline", str(tmp_path / "base"), "--expected", str(expected))
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode in (0, 50), stderr[-2000:]
        [comment] = gh.live_comments(7)
        [check] = gh.live_checks(SHA, "wasm32-emscripten node 3.13")
    assert "Δ" in comment["body"] and "31337" in comment["body"]     # the delta is there
    trusted = frozenset({"https://ci.example.org/builds/17"})
    assert scan(comment["body"], trusted) == []
    assert scan(check["output"]["summary"], trusted) == []


@pytest.mark.parametrize("created", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                     "0999-06-01T00:00:00+00:00", "2026-01-01"])
def test_extreme_creation_times_are_refused_or_reported_once(tmp_path, created):
    """A valid ISO time at the ends of the calendar: refused (exit 40) or reported, and a second
    report of the same run finds its own comment (the marker must stay readable)."""
    data = _base()
    data["created"] = created
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(json.dumps(data))
    with IndependentGitHub(tokens={TOKEN: Account("ep-bot")}, pr_head=SHA) as gh:
        codes = []
        for _ in range(2):
            proc = start_report(out, gh.base_url, TOKEN, "--pr", "7", "--sha", SHA, "--timeout", "1",
                                "--settle", "0.1", "--throttle", "0")
            stdout, stderr = proc.communicate(timeout=120)
            codes.append(proc.returncode)
            assert proc.returncode in (0, 40), stderr[-2000:]
        if codes[0] == 40:
            assert codes == [40, 40] and gh.requests == 0
            return
        assert codes == [0, 0]
        assert len(gh.live_comments(7)) == 1 and len(gh.live_checks(SHA, "wasm32-emscripten node 3.13")) == 1
        assert len(gh.statuses[SHA]) == 1
