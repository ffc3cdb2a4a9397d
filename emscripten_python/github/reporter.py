"""Report a run to GitHub: a sticky PR comment, a check run and a commit status.

Every part converges on the *newest* run (docs/github-action.rst, "What the report
guarantees"). A run's place in time is its ``OrderKey``: an explicit integer the caller
trusts (``--order``: a Buildbot build number, a workflow run number), then the run's
``created`` time, then its ``run_id`` as a tie-breaker. Each part carries the key of the
run it shows (the comment's hidden marker, the check run's ``external_id``, a short tag at
the end of the status description), and each part:

1. reads what GitHub shows, and writes only if it shows nothing or an older run;
2. reads again after writing (and, once all parts are written, after a settle time long
   enough for any older run's in-flight write to land), repairing while an older run shows;
3. reports ``failed`` (exit 50) when the newest content it knows of is still not shown.

GitHub has no conditional writes, so two reporters can always overwrite each other; the
re-read after the settle time is what turns last-writer-wins into newest-wins. Only the
bot's own comments count (marker *and* author); nothing here touches anyone else's comment
or results.json.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Callable, Protocol
from urllib.parse import quote

import requests
from github import Github, GithubException, UnknownObjectException

from ..report.markdown import render_markdown
from ..results.compare import policy_outcome
from ..results.model import Run, TestCase, TestFile
from ..untrusted import actions_safe, clean, code_span
from .client import Redactor
from .retry import Conflict, GiveUp, RetryPolicy, classify, run_with_retry
from .text import truncate_markdown

# GitHub's limits: check-run output summary and issue comment body (characters), status
# description, annotations per request, annotation message (bytes, kept well under).
MAX_SUMMARY = 65535
MAX_COMMENT = 65536
MAX_DESCRIPTION = 140
ANNOTATIONS_PER_REQUEST = 50
MAX_ANNOTATION_MESSAGE = 60000
MAX_ANNOTATIONS = 1000

MARKER = re.compile(r"\A<!-- emscripten-python report: key=(?P<key>\S+)(?: order=(?P<order>\d+))? "
                    r"created=(?P<created>\S+) run=(?P<run>\S+) -->")
_COMPACT = re.compile(r"(?P<order>\d+)/(?P<created>\d{8}T\d{6}Z)/(?P<run>[A-Za-z0-9._-]+)\Z")
_STATUS_TAG = re.compile(r"\[r(?P<order>\d+)\.(?P<created>\d{14})\.(?P<run>[A-Za-z0-9]{1,8})\]\Z")

CONCLUSIONS = {"success": "success", "warnings": "neutral", "failure": "failure", "error": "failure",
               "cancelled": "cancelled", "pending": "neutral"}
STATES = {"success": "success", "warnings": "success", "failure": "failure", "error": "error",
          "pending": "pending", "cancelled": "error"}
PARTS = ("comment", "check", "status")
# The largest pull request number taken from input (GitHub's ids are 32-bit signed integers).
MAX_PR = 2**31 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class ReportTarget:
    repo: str                          # owner/name
    name: str = "emscripten-python"    # check-run name, status context, sticky-comment key
    pr: int | None = None
    sha: str | None = None
    details_url: str | None = None     # trusted (from the caller, never from results.json)
    parts: tuple[str, ...] = PARTS
    # Refuse to comment unless the PR's head is `sha`: set when the PR number came from an
    # artifact uploaded by untrusted PR code (the workflow_run pattern, docs/fork-safe.rst).
    verify_pr_head: bool = False
    order: int = 0                     # trusted ordering number, compared before `created`
    server_url: str = "https://github.com"   # trusted: issue links only to `repo`'s issues there

    @property
    def repo_url(self) -> str:
        return f"{self.server_url.rstrip('/')}/{self.repo}"


@dataclass
class PartResult:
    part: str
    action: str          # created / updated / unchanged / superseded / skipped / failed
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


# -- ordering ----------------------------------------------------------------------------------

def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return _EPOCH
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc).replace(microsecond=0)
    except OverflowError:     # the ends of the calendar (validation refuses them)
        return _EPOCH


@dataclass(frozen=True, order=True)
class OrderKey:
    """Which of two runs is newer: (order, created to the second, run_id)."""

    order: int
    created: datetime
    run_id: str

    @classmethod
    def of(cls, run: Run, order: int = 0) -> "OrderKey":
        return cls(order, _parse_time(run.created), run.run_id)

    @property
    def stamp(self) -> str:
        return self.created.strftime("%Y%m%dT%H%M%SZ")

    def compact(self) -> str:
        """The key as a check run's external_id."""
        return f"{self.order}/{self.stamp}/{self.run_id}"

    @classmethod
    def from_compact(cls, text: str | None) -> "OrderKey | None":
        match = _COMPACT.match(text or "")
        return cls(int(match["order"]), _parse_time(match["created"]), match["run"]) if match else None

    def status_tag(self) -> str:
        """The key in a status description (140 characters in all): the run id shortened to 8
        letters and digits (a run id may hold . _ -, which the tag's pattern must not see)."""
        return f"[r{self.order}.{self.created.strftime('%Y%m%d%H%M%S')}.{self.short().run_id}]"

    def short(self) -> "OrderKey":
        return OrderKey(self.order, self.created, re.sub(r"[^A-Za-z0-9]", "", self.run_id)[:8] or "0")

    @classmethod
    def from_status(cls, description: str | None) -> "OrderKey | None":
        match = _STATUS_TAG.search(description or "")
        if not match:
            return None
        created = datetime.strptime(match["created"], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
        return cls(int(match["order"]), created, match["run"])

    @classmethod
    def from_marker(cls, match: re.Match) -> "OrderKey":
        return cls(int(match["order"] or 0), _parse_time(match["created"]), match["run"])


# -- what is posted ------------------------------------------------------------------------

def sticky_key(name: str) -> str:
    """The name made safe inside an HTML comment (no spaces, no "--", no ">")."""
    return quote(name, safe="").replace("-", "%2D")


def comment_body(run: Run, target: ReportTarget) -> str:
    key = OrderKey.of(run, target.order)
    marker = (f"<!-- emscripten-python report: key={sticky_key(target.name)} order={key.order} "
              f"created={key.stamp} run={quote(run.run_id, safe='')} -->")
    link = f" · [details]({target.details_url})" if target.details_url else ""
    footer = f"<sub>{code_span(target.name, 100)} · run {code_span(run.run_id[:12])}{link}</sub>"
    room = MAX_COMMENT - len(marker) - len(footer) - 4
    body = render_markdown(run, repo_url=target.repo_url)
    return f"{marker}\n{truncate_markdown(body, room, target.details_url)}\n\n{footer}"


def check_title(run: Run) -> str:
    """Plain text (titles and descriptions are not rendered as Markdown)."""
    files = run.counts()["files"]
    outcome = clean(run.outcome)[:20]
    verdict = run.comparison.get("verdict") if isinstance(run.comparison, dict) else None
    if verdict and files["total"]:      # --baseline: what changed leads (docs/compare.rst)
        return f"{outcome}: " + " ".join(clean(verdict).split())[:200]
    if not files["total"]:
        first = " ".join(clean(run.errors[0]).split())[:80] if run.errors else ""
        return f"{outcome}: no test results" + (f" ({first})" if first else "")
    bad = ", ".join(f"{files[k]} {k.replace('-', ' ')}" for k in ("failed", "crashed", "timed-out", "flaky")
                    if files[k])
    return f"{outcome}: {files['total']} test files" + (f", {bad}" if bad else ", all passed")


def _test_path(test_file: TestFile) -> str:
    """Lib/test/... path of a regrtest name: test_os, test.test_asyncio.test_tasks."""
    name = re.sub(r"[^A-Za-z0-9_.]", "_", test_file.name.removeprefix("test."))
    return "Lib/test/" + name.replace(".", "/") + ".py"


def _line(path: str, text: str | None) -> int:
    """Line of the innermost traceback frame in `path`, else 1."""
    lines = re.findall(rf'File "[^"]*{re.escape(path)}", line (\d+)', text or "")
    return int(lines[-1]) if lines else 1


def _annotation(path: str, level: str, title: str, message: str, line: int) -> dict:
    title, message = clean(title), clean(message)
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


# -- the parts -------------------------------------------------------------------------------

@dataclass
class Verdict:
    """What a re-read found: ``shown`` is mine, newer, or else (``reason`` says what)."""

    ok: bool
    newer: bool = False
    reason: str = ""


MINE = Verdict(True)
NEWER = Verdict(True, newer=True)


class Part(Protocol):
    name: str

    def converge(self) -> PartResult:
        """Read, write if GitHub shows nothing or an older run, read again. Safe to repeat."""

    def verify(self) -> Verdict:
        """Read only: does GitHub show this run (or a newer one)?"""


class _Context:
    """What every part needs: the repository, retries, pacing and the log."""

    def __init__(self, repo, policy: RetryPolicy, redact: Redactor, log: Callable[[str], None]) -> None:
        self.repo, self.policy, self.redact, self.log = repo, policy, redact, log

    def retry(self, operation, what: str):
        return run_with_retry(operation, self.policy, what, self.redact, self.log)

    def lag_pause(self) -> None:
        self.policy.sleep(self.policy.lag_wait)


def _create(part, create: Callable):
    """Create, remembering when the answer was lost (the connection dropped or timed out after
    the request was sent): the object may exist then, and the next attempt reads the list
    again, waiting out its lag, before it creates anything."""
    try:
        created = create()
    except (requests.ConnectionError, requests.Timeout):
        part.unsure = True
        raise
    part.unsure = False
    return created


def _wait_for_own(ctx: _Context, found: list, read: Callable[[], list], own: Callable[[object], bool]) -> list:
    """After a lost create answer: read the (lagging) list until this run's object shows, at
    most ``policy.lag_reads`` more times, so it is neither created twice nor left unfinished."""
    for _ in range(ctx.policy.lag_reads):
        if any(own(item) for item in found):
            break
        ctx.lag_pause()
        found = read()
    return found


def _last_of(ctx: _Context, read: Callable[[], list]) -> list:
    """The last of ``policy.verify_reads`` list answers: lists lag behind creations, and an
    object stays in them once it shows, so the last answer is the most complete."""
    for _ in range(max(1, ctx.policy.verify_reads) - 1):
        read()
    return read()


@dataclass
class _Found:
    comment: object
    key: OrderKey
    body: str


class StickyComment:
    """One comment per PR and name, edited in place; only the bot's comments with the marker count."""

    name = "comment"

    def __init__(self, ctx: _Context, run: Run, target: ReportTarget, bot_login: str) -> None:
        self.ctx, self.target = ctx, target
        self.key = OrderKey.of(run, target.order)
        self.body = comment_body(run, target)
        self.sticky = sticky_key(target.name)
        self.bot = bot_login.lower()
        self.issue = ctx.repo.get_issue(target.pr)
        self.known: set[int] = set()      # ids of comments this reporter created
        self.unsure = False               # a create whose answer was lost may have landed
        self.url: str | None = None

    def _ours(self) -> list[_Found]:
        found: dict[int, _Found] = {}
        for comment in self.issue.get_comments():
            self._keep(comment, found)
        # A comment just created can be missing from the list for a while: read it directly.
        for cid in sorted(self.known - set(found)):
            try:
                self._keep(self.issue.get_comment(cid), found)
            except UnknownObjectException:
                self.known.discard(cid)   # deleted (as a duplicate) by another reporter
        return [found[cid] for cid in sorted(found)]

    def _keep(self, comment, found: dict) -> None:
        body = comment.body or ""
        match = MARKER.match(body)
        user = comment.user
        if match and match["key"] == self.sticky and user is not None and (user.login or "").lower() == self.bot:
            found[comment.id] = _Found(comment, OrderKey.from_marker(match), body)

    def converge(self) -> PartResult:
        found = self._ours()
        action = "unchanged"
        if self.unsure:
            found = _wait_for_own(self.ctx, found, self._ours, lambda f: f.key == self.key)
        if not found:
            created = _create(self, lambda: self.issue.create_comment(self.body))
            self.known.add(created.id)
            author = (created.user.login or "") if created.user is not None else ""
            if author and author.lower() != self.bot:
                # What GitHub wrote our comment as is who we are (the login given or guessed
                # was wrong): from now on only that author's comments count.
                self.ctx.log(f"github comment: the token comments as {author}, not {self.bot}")
                self.bot = author.lower()
            action = "created"
            found = self._ours()
            if not found:
                raise Conflict("the comment just created is gone")
        survivor, extra = found[0], found[1:]
        best = max(found, key=lambda f: f.key)
        wanted = best.body if best.key > self.key else self.body
        if survivor.body != wanted:
            try:
                survivor.comment.edit(wanted)
            except UnknownObjectException:
                raise Conflict("the comment was deleted while being updated") from None
            action = "updated" if action == "unchanged" else action
        for duplicate in extra:   # the oldest comment stays where it is; copies go
            try:
                duplicate.comment.delete()
            except UnknownObjectException:
                pass              # another reporter deleted it first
            self.known.discard(duplicate.comment.id)
        self.url = survivor.comment.html_url
        if best.key > self.key:
            return PartResult(self.name, "superseded", self.url, "a newer run's report is shown")
        return PartResult(self.name, action, self.url)

    def verify(self) -> Verdict:
        found = _last_of(self.ctx, self._ours)
        if not found:
            return Verdict(False, reason="no report comment is visible")
        if len(found) > 1:
            return Verdict(False, reason=f"{len(found)} report comments instead of one")
        if found[0].key > self.key:
            return NEWER
        if found[0].body != self.body:
            return Verdict(False, reason="the comment shows an older run")
        return MINE


class CheckRun:
    """The newest-created check run of a name on a commit is the one GitHub shows: it must be
    this run's (or a newer run's). The run's key is the check run's external_id."""

    name = "check"

    def __init__(self, ctx: _Context, run: Run, target: ReportTarget) -> None:
        self.ctx, self.target = ctx, target
        self.key = OrderKey.of(run, target.order)
        self.commit = ctx.repo.get_commit(target.sha)
        self.title = check_title(run)
        self.summary = truncate_markdown(render_markdown(run, repo_url=target.repo_url), MAX_SUMMARY,
                                         target.details_url)
        self.wanted = annotations(run)
        self.conclusion = CONCLUSIONS.get(policy_outcome(run))     # --fail-on via the comparison
        if self.conclusion is None:    # validation refuses this; never leave a check in_progress
            self.conclusion = "failure"
            self.title = f"unknown outcome {clean(run.outcome)[:40]!r}: the results cannot be trusted"
        self.output = {"title": self.title, "summary": self.summary}
        self.known: set[int] = set()
        self.unsure = False
        self.newest_id = 0

    def _runs(self) -> list:
        runs = {r.id: r for r in self.commit.get_check_runs(check_name=self.target.name, filter="all")}
        for cid in sorted(self.known - set(runs)):
            try:
                runs[cid] = self.ctx.repo.get_check_run(cid)
                runs[cid].status    # noqa: B018 - fetch it now
            except UnknownObjectException:
                self.known.discard(cid)
        return [runs[cid] for cid in sorted(runs) if OrderKey.from_compact(runs[cid].external_id)]

    def _shown(self, runs: list):
        return runs[-1] if runs else None

    def _done(self, check) -> bool:
        return (check.status == "completed" and check.conclusion == self.conclusion
                and check.output.title == self.title and check.output.summary == self.summary
                and (check.output.annotations_count or 0) >= len(self.wanted)
                and (not self.target.details_url or check.details_url == self.target.details_url))

    def converge(self) -> PartResult:
        runs = self._runs()
        if self.unsure:     # the lost one has this run's key and a higher id than any seen before it
            runs = _wait_for_own(self.ctx, runs, self._runs, lambda r: r.id > self.newest_id
                                 and OrderKey.from_compact(r.external_id) == self.key)
        shown = self._shown(runs)
        mine = [r for r in runs if OrderKey.from_compact(r.external_id) == self.key]
        if shown is not None and OrderKey.from_compact(shown.external_id) > self.key:
            for check in mine:   # never leave this run's own check run in progress
                if check.status != "completed":
                    check.edit(status="completed", conclusion="neutral",
                               output={"title": "superseded by a newer run", "summary": f"See {shown.html_url}"})
            return PartResult(self.name, "superseded", shown.html_url, "a newer run's check run is shown")
        action = "updated"
        if shown is None or OrderKey.from_compact(shown.external_id) != self.key:
            extra = {"details_url": self.target.details_url} if self.target.details_url else {}
            self.newest_id = max([r.id for r in runs] + [self.newest_id])
            shown = _create(self, lambda: self.ctx.repo.create_check_run(
                self.target.name, self.target.sha, external_id=self.key.compact(), status="in_progress",
                output=self.output, **extra))
            self.known.add(shown.id)
            action = "created"
        for check in mine:       # older copies of this run (re-created after an older run's)
            if check.id != shown.id and check.status != "completed":
                check.edit(status="completed", conclusion="neutral",
                           output={"title": "superseded", "summary": f"Superseded by {shown.html_url}"})
        current = self.ctx.repo.get_check_run(shown.id)
        if self._done(current):
            return PartResult(self.name, "unchanged" if action == "updated" else action, current.html_url)
        # annotations_count says how many batches already landed, so a batch whose
        # response was lost is not sent twice.
        sent = current.output.annotations_count or 0
        while sent < len(self.wanted):
            current.edit(output={**self.output, "annotations": self.wanted[sent:sent + ANNOTATIONS_PER_REQUEST]})
            sent = current.output.annotations_count or 0
        extra = {"details_url": self.target.details_url} if self.target.details_url else {}
        current.edit(status="completed", conclusion=self.conclusion, completed_at=datetime.now(timezone.utc),
                     output=self.output, **extra)
        return PartResult(self.name, action, current.html_url)

    def abandon(self) -> None:
        """After giving up: never leave a check run this reporter created in progress."""
        for cid in sorted(self.known):
            check = self.ctx.repo.get_check_run(cid)
            if check.status != "completed":
                check.edit(status="completed", conclusion=self.conclusion,
                           output={"title": f"{self.title} (report incomplete)"[:255], "summary": self.summary})

    def verify(self) -> Verdict:
        shown = self._shown(_last_of(self.ctx, self._runs))
        if shown is None:
            return Verdict(False, reason="no check run is visible")
        key = OrderKey.from_compact(shown.external_id)
        if key > self.key:
            return NEWER
        if key != self.key:
            return Verdict(False, reason="the newest check run is an older run's")
        if not self._done(shown):
            return Verdict(False, reason="the check run is not complete")
        return MINE


class CommitStatus:
    """Statuses are history: the newest one of a context is shown. Its description ends with
    the run's key, so an older run's status posted after ours is seen and posted over."""

    name = "status"

    def __init__(self, ctx: _Context, run: Run, target: ReportTarget) -> None:
        self.ctx, self.target = ctx, target
        self.key = OrderKey.of(run, target.order).short()
        self.commit = ctx.repo.get_commit(target.sha)
        self.state = STATES.get(policy_outcome(run), "error")
        tag = self.key.status_tag()
        self.description = f"{check_title(run)[:MAX_DESCRIPTION - len(tag) - 1]} {tag}"
        self.url = target.details_url

    def _latest(self):
        for status in self.commit.get_statuses():   # newest first: the first is the one shown
            if status.context == self.target.name:
                return status
        return None

    def _same(self, status) -> bool:
        return (status.state, status.description, status.target_url or None) == (self.state, self.description, self.url)

    def converge(self) -> PartResult:
        latest = self._latest()
        key = OrderKey.from_status(latest.description) if latest is not None else None
        if key is not None and key > self.key:
            return PartResult(self.name, "superseded", self.url, "a newer run's status is shown")
        if latest is not None and self._same(latest):
            return PartResult(self.name, "unchanged", self.url)
        extra = {"target_url": self.url} if self.url else {}
        self.commit.create_status(self.state, description=self.description, context=self.target.name, **extra)
        return PartResult(self.name, "created", self.url)

    def verify(self) -> Verdict:
        latest = self._latest()
        if latest is None:
            return Verdict(False, reason="no status is visible")
        key = OrderKey.from_status(latest.description)
        if key is not None and key > self.key:
            return NEWER
        if not self._same(latest):
            return Verdict(False, reason="the newest status is an older run's")
        return MINE


# -- the reporter ----------------------------------------------------------------------------

class Reporter:
    """``bot_login``: the login the bot's comments are written as (``NAME[bot]`` for a GitHub
    App or the workflow token's ``github-actions[bot]``); without it, ``GET /user`` tells,
    once, and ``fallback_login`` is used where that is refused (an installation token)."""

    def __init__(self, github: Github, *, policy: RetryPolicy | None = None,
                 redact: Redactor | None = None, log: Callable[[str], None] = print,
                 bot_login: str | None = None, fallback_login: str | None = None) -> None:
        self.github = github
        self.policy = policy or RetryPolicy()
        self.redact = redact or Redactor()
        self.log = lambda text: log(actions_safe(self.redact(text)))
        self.bot_login, self.fallback_login = bot_login, fallback_login

    def identity(self) -> str:
        if self.bot_login:
            return self.bot_login

        def who_am_i() -> str:
            try:
                login = self.github.get_user().login
            except GithubException as exc:
                if exc.status not in (403, 404) or classify(exc, self.policy, 1)[0]:
                    raise     # rate limits and other errors: retried or reported as they are
                if self.fallback_login:
                    return self.fallback_login
                raise GiveUp("cannot tell which comments are the bot's: GET /user is refused to this "
                                 "token (a GitHub App installation token?); pass --bot-login NAME[bot]") from None
            if not isinstance(login, str) or not login:    # an answer of the wrong shape
                raise GiveUp("cannot tell which comments are the bot's: GET /user named no login; "
                             "pass --bot-login NAME[bot]")
            return login

        self.bot_login = run_with_retry(who_am_i, self.policy, "who the bot is", self.redact, self.log)
        return self.bot_login

    def report(self, run: Run, target: ReportTarget) -> ReportResult:
        ctx = _Context(self.github.get_repo(target.repo), self.policy, self.redact, self.log)
        results: dict[str, PartResult] = {}
        parts: list[Part] = []
        for name in PARTS:
            if name not in target.parts:
                continue
            needed, missing = (target.pr, "no pull request given") if name == "comment" else (
                target.sha, "no commit SHA given")
            if not needed:
                results[name] = PartResult(name, "skipped", message=missing)
                continue
            try:
                part, skipped = self._part(name, ctx, run, target)
                if part is None:
                    results[name] = PartResult(name, "skipped", message=skipped)
                    continue
                parts.append(part)
                results[name] = ctx.retry(part.converge, self._what(name, target))
            except GiveUp as exc:
                results[name] = PartResult(name, "failed", message=self.redact(str(exc)))
        self._settle(ctx, parts, results, target)
        for part in parts:
            if results[part.name].action == "failed" and hasattr(part, "abandon"):
                try:
                    ctx.retry(part.abandon, f"completing the {part.name} left behind")
                except GiveUp as exc:
                    self.log(f"github {part.name}: {exc}")
        ordered = [results[name] for name in PARTS if name in results]
        for result in ordered:
            self.log(f"github {result.part}: {result.action}" + (f" {result.url}" if result.url else "")
                     + (f" ({result.message})" if result.message else ""))
        return ReportResult(ordered)

    def _what(self, name: str, target: ReportTarget) -> str:
        return f"comment on PR #{target.pr}" if name == "comment" else (
            f"{'check run' if name == 'check' else 'status'} for {target.sha[:12]}")

    def _part(self, name: str, ctx: _Context, run: Run, target: ReportTarget) -> tuple[Part | None, str]:
        """The part, or None and why it is skipped."""
        if name == "check":
            return CheckRun(ctx, run, target), ""
        if name == "status":
            return CommitStatus(ctx, run, target), ""
        if target.verify_pr_head:
            head = ctx.retry(lambda: ctx.repo.get_pull(target.pr).head.sha, f"PR #{target.pr} lookup")
            if head != target.sha:
                return None, f"PR #{target.pr} head is {head}, not {target.sha}: not commenting results of another commit"
        return StickyComment(ctx, run, target, self.identity()), ""

    def _settle(self, ctx: _Context, parts: list[Part], results: dict[str, PartResult],
                target: ReportTarget) -> None:
        """Wait for in-flight writes of older runs, read again, repair; bounded by policy.repairs."""
        for attempt in range(self.policy.repairs + 1):
            active = [p for p in parts if results[p.name].action not in ("failed", "superseded")]
            if not active:
                return
            self.policy.settle_sleep(self.policy.settle)
            wrong = []
            for part in active:
                try:
                    verdict = ctx.retry(part.verify, f"re-reading the {part.name}")
                except GiveUp as exc:
                    results[part.name] = PartResult(part.name, "failed", message=self.redact(str(exc)))
                    continue
                if verdict.newer:
                    results[part.name] = PartResult(part.name, "superseded", results[part.name].url,
                                                    "a newer run's report is shown")
                elif not verdict.ok:
                    wrong.append((part, verdict.reason))
            if not wrong:
                return
            for part, reason in wrong:
                if attempt == self.policy.repairs:
                    results[part.name] = PartResult(
                        part.name, "failed", results[part.name].url,
                        f"GitHub does not show this run's {part.name} after {attempt} repairs: {reason}")
                    continue
                self.log(f"github {part.name}: {reason}; repairing")
                try:
                    repaired = ctx.retry(part.converge, self._what(part.name, target))
                except GiveUp as exc:
                    results[part.name] = PartResult(part.name, "failed", message=self.redact(str(exc)))
                    continue
                first = results[part.name].action
                results[part.name] = PartResult(part.name, first if repaired.action == "unchanged" else repaired.action,
                                                repaired.url, f"repaired: {reason}")
