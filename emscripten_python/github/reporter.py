"""Report a run to GitHub: a sticky PR comment, a check run and a commit status.

Each part is an idempotent "look, then write only what differs" operation, retried as a
whole (retry.py); a part that fails for good is reported as failed without stopping the
others, and nothing here ever touches results.json.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import quote

from github import Github, UnknownObjectException

from ..markdown import render_markdown
from ..results import Run, TestCase, TestFile
from .client import Redactor
from .retry import Conflict, GiveUp, RetryPolicy, run_with_retry
from .text import truncate_markdown

# GitHub's limits: check-run output summary and issue comment body (characters), status
# description, annotations per request, annotation message (bytes, kept well under).
MAX_SUMMARY = 65535
MAX_COMMENT = 65536
MAX_DESCRIPTION = 140
ANNOTATIONS_PER_REQUEST = 50
MAX_ANNOTATION_MESSAGE = 60000
MAX_ANNOTATIONS = 1000

MARKER = re.compile(r"\A<!-- emscripten-python report: key=(?P<key>\S+) created=(?P<created>\S+) "
                    r"run=(?P<run>\S+) -->")

CONCLUSIONS = {"success": "success", "warnings": "neutral", "failure": "failure", "error": "failure"}
STATES = {"success": "success", "warnings": "success", "failure": "failure", "error": "error",
          "pending": "pending"}
PARTS = ("comment", "check", "status")


@dataclass
class ReportTarget:
    repo: str                          # owner/name
    name: str = "emscripten-python"    # check-run name, status context, sticky-comment key
    pr: int | None = None
    sha: str | None = None
    details_url: str | None = None
    parts: tuple[str, ...] = PARTS
    # Refuse to comment unless the PR's head is `sha`: set when the PR number came from an
    # artifact uploaded by untrusted PR code (the workflow_run pattern, docs/fork-safe.rst).
    verify_pr_head: bool = False


@dataclass
class PartResult:
    part: str
    action: str          # created / updated / unchanged / skipped / failed
    url: str | None = None
    message: str | None = None


@dataclass
class ReportResult:
    parts: list[PartResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(p.action != "failed" for p in self.parts)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "parts": [asdict(p) for p in self.parts]}


# -- what is posted ------------------------------------------------------------------------

def sticky_key(name: str) -> str:
    """The name made safe inside an HTML comment (no spaces, no "--", no ">")."""
    return quote(name, safe="").replace("-", "%2D")


def comment_body(run: Run, target: ReportTarget) -> str:
    marker = f"<!-- emscripten-python report: key={sticky_key(target.name)} created={run.created} run={run.run_id} -->"
    link = f" · [details]({target.details_url})" if target.details_url else ""
    footer = f"<sub>{target.name} · run `{run.run_id[:12]}`{link}</sub>"
    room = MAX_COMMENT - len(marker) - len(footer) - 4
    return f"{marker}\n{truncate_markdown(render_markdown(run), room, target.details_url)}\n\n{footer}"


def check_title(run: Run) -> str:
    files = run.counts()["files"]
    if not files["total"]:
        return f"{run.outcome}: no test results" + (f" ({run.errors[0][:80]})" if run.errors else "")
    bad = ", ".join(f"{files[k]} {k.replace('-', ' ')}" for k in ("failed", "crashed", "timed-out", "flaky")
                    if files[k])
    return f"{run.outcome}: {files['total']} test files" + (f", {bad}" if bad else ", all passed")


def _test_path(test_file: TestFile) -> str:
    """Lib/test/... path of a regrtest name: test_os, test.test_asyncio.test_tasks."""
    name = test_file.name.removeprefix("test.")
    return "Lib/test/" + name.replace(".", "/") + ".py"


def _line(path: str, text: str | None) -> int:
    """Line of the innermost traceback frame in `path`, else 1."""
    lines = re.findall(rf'File "[^"]*{re.escape(path)}", line (\d+)', text or "")
    return int(lines[-1]) if lines else 1


def _annotation(path: str, level: str, title: str, message: str, line: int) -> dict:
    return {"path": path, "start_line": line, "end_line": line, "annotation_level": level,
            "title": title[:255], "message": message[-MAX_ANNOTATION_MESSAGE:] or title}


def annotations(run: Run) -> list[dict]:
    """One annotation per failing test case (per file when the runtime died in it)."""
    result = []
    for test_file in run.test_files:
        path = _test_path(test_file)
        if test_file.outcome in ("crashed", "timed-out"):
            text = test_file.crash or test_file.log_excerpt or test_file.outcome
            result.append(_annotation(path, "failure", f"{test_file.name} {test_file.outcome}", text, 1))
            continue
        if test_file.outcome not in ("failed", "env-changed", "flaky"):
            continue
        level = "warning" if test_file.outcome == "flaky" else "failure"
        bad: list[TestCase] = [c for c in test_file.cases
                               if c.outcome in ("failed", "error", "unexpected-success")]
        for case in bad:
            text = case.traceback or case.message or case.outcome
            result.append(_annotation(path, level, case.name, text, _line(path, case.traceback)))
        if not bad:
            result.append(_annotation(path, level, f"{test_file.name} {test_file.outcome}",
                                      test_file.log_excerpt or test_file.outcome, 1))
    return result[:MAX_ANNOTATIONS]


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


# -- the reporter ----------------------------------------------------------------------------

class Reporter:
    def __init__(self, github: Github, *, policy: RetryPolicy | None = None,
                 redact: Redactor | None = None, log: Callable[[str], None] = print) -> None:
        self.github = github
        self.policy = policy or RetryPolicy()
        self.redact = redact or Redactor()
        self.log = lambda text: log(self.redact(text))

    def report(self, run: Run, target: ReportTarget) -> ReportResult:
        repo = self.github.get_repo(target.repo)
        result = ReportResult()
        steps = {"comment": (target.pr, "no pull request given", self._comment),
                 "check": (target.sha, "no commit SHA given", self._check_run),
                 "status": (target.sha, "no commit SHA given", self._status)}
        for part in PARTS:
            if part not in target.parts:
                continue
            needed, missing, step = steps[part]
            if not needed:
                result.parts.append(PartResult(part, "skipped", message=missing))
                continue
            try:
                part_result = step(repo, run, target)
            except GiveUp as exc:
                part_result = PartResult(part, "failed", message=self.redact(str(exc)))
            self.log(f"github {part}: {part_result.action}"
                     + (f" {part_result.url}" if part_result.url else "")
                     + (f" ({part_result.message})" if part_result.message else ""))
            result.parts.append(part_result)
        return result

    def _retry(self, operation, what: str):
        return run_with_retry(operation, self.policy, what, self.redact, self.log)

    # -- sticky comment ---------------------------------------------------------------------
    def _comment(self, repo, run: Run, target: ReportTarget) -> PartResult:
        if target.verify_pr_head:
            head = self._retry(lambda: repo.get_pull(target.pr).head.sha, f"PR #{target.pr} lookup")
            if head != target.sha:
                return PartResult("comment", "skipped", message=f"PR #{target.pr} head is {head}, not "
                                  f"{target.sha}: not commenting results of another commit")
        body = comment_body(run, target)
        key = sticky_key(target.name)
        issue = repo.get_issue(target.pr)

        def ours() -> list:
            found = []
            for comment in issue.get_comments():
                match = MARKER.match(comment.body or "")
                if match and match["key"] == key:
                    found.append((comment, match))
            return sorted(found, key=lambda item: item[0].id)

        def settle(found: list, created: bool) -> PartResult:
            # The oldest comment survives; newer copies (from a race or a crashed earlier
            # report) are deleted by whichever reporter sees them, so exactly one is left.
            (survivor, match), extra = found[0], found[1:]
            for duplicate, _ in extra:
                try:
                    duplicate.delete()
                except UnknownObjectException:
                    pass   # the other reporter deleted it first
            if _parse_time(match["created"]) > _parse_time(run.created):
                return PartResult("comment", "unchanged", survivor.html_url,
                                  "a newer run's report is already there")
            if survivor.body == body:
                return PartResult("comment", "created" if created else "unchanged", survivor.html_url)
            try:
                survivor.edit(body)
            except UnknownObjectException:
                raise Conflict("the comment was deleted while being updated") from None
            return PartResult("comment", "updated", survivor.html_url)

        def operation() -> PartResult:
            found = ours()
            if found:
                return settle(found, created=False)
            issue.create_comment(body)
            # Look again: a reporter racing us may have created its copy in between.
            return settle(ours(), created=True)

        return self._retry(operation, f"comment on PR #{target.pr}")

    # -- check run --------------------------------------------------------------------------
    def _check_run(self, repo, run: Run, target: ReportTarget) -> PartResult:
        commit = repo.get_commit(target.sha)
        title = check_title(run)
        summary = truncate_markdown(render_markdown(run), MAX_SUMMARY, target.details_url)
        wanted = annotations(run)
        conclusion = CONCLUSIONS.get(run.outcome)
        output = {"title": title, "summary": summary}
        created = False

        def find() -> list:
            runs = commit.get_check_runs(check_name=target.name, filter="all")
            return sorted((r for r in runs if r.external_id == run.run_id), key=lambda r: r.id)

        def ensure():
            nonlocal created
            found = find()
            if not found:
                extra = {"details_url": target.details_url} if target.details_url else {}
                repo.create_check_run(target.name, target.sha, external_id=run.run_id,
                                      status="in_progress", output=output, **extra)
                created = True
                found = find()
            for duplicate in found[1:]:
                if duplicate.status != "completed":
                    duplicate.edit(status="completed", conclusion="neutral",
                                   output={"title": "superseded", "summary": f"Duplicate of {found[0].html_url}"})
            return found[0]

        check = self._retry(ensure, f"check run for {target.sha[:12]}")

        def add_annotations():
            # annotations_count says how many batches already landed, so a batch whose
            # response was lost is not sent twice.
            current = repo.get_check_run(check.id)
            sent = current.output.annotations_count or 0
            while sent < len(wanted):
                batch = wanted[sent:sent + ANNOTATIONS_PER_REQUEST]
                current.edit(output={**output, "annotations": batch})
                sent = current.output.annotations_count
            return current

        current = self._retry(add_annotations, f"annotations on check run {check.id}")
        status = "completed" if conclusion else "in_progress"
        if (current.status == status and current.conclusion == conclusion
                and current.output.title == title and current.output.summary == summary
                and (not target.details_url or current.details_url == target.details_url)):
            return PartResult("check", "unchanged", current.html_url)

        def finish():
            extra = {"details_url": target.details_url} if target.details_url else {}
            if conclusion:
                extra.update(conclusion=conclusion, completed_at=datetime.now(timezone.utc))
            current.edit(status=status, output=output, **extra)

        self._retry(finish, f"check run {check.id}")
        return PartResult("check", "created" if created else "updated", current.html_url)

    # -- commit status ----------------------------------------------------------------------
    def _status(self, repo, run: Run, target: ReportTarget) -> PartResult:
        commit = repo.get_commit(target.sha)
        state = STATES.get(run.outcome, "error")
        description = check_title(run)[:MAX_DESCRIPTION]
        url = target.details_url or run.origin.get("url")

        def operation() -> PartResult:
            for status in commit.get_statuses():   # newest first: the first is the current one
                if status.context == target.name:
                    if (status.state, status.description, status.target_url or None) == (state, description, url):
                        return PartResult("status", "unchanged", url)
                    break
            extra = {"target_url": url} if url else {}
            commit.create_status(state, description=description, context=target.name, **extra)
            return PartResult("status", "created", url)

        return self._retry(operation, f"status for {target.sha[:12]}")
