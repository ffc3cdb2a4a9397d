"""The PR report on a Buildbot master: the sticky comment for each finished PR build.

``configure(config, builder_names)`` (called by master/master.cfg through
emscripten_python.steps.hooks) adds ``PullRequestReporter`` when ``$EP_GITHUB_TOKEN`` is set,
and nothing otherwise. For every finished build of ``builder_names`` that built a pull
request, it posts the build's uploaded ``results.json`` with the GitHub face's ``Reporter``:
one sticky comment per builder on the PR, updated in place by later builds, linking to the
build.

A build is a PR build when its ``branch`` is ``refs/pull/N/...`` (what the GitHub change hook,
and so the label gate in steps/prgate.py, gives PR changes), else when it has a
``github.number`` property or a ``pullrequesturl`` ending in ``/pull/N``.

Settings (environment): ``EP_GITHUB_TOKEN``; ``EP_GITHUB_REPO`` (``python/cpython``);
``EP_GITHUB_API_URL`` (GitHub Enterprise: ``https://HOST/api/v3``); ``EP_GITHUB_REPORT_PARTS``
(``comment``; ``check`` needs a GitHub App's token, and the master's ``GitHubStatusPush``
already sets commit statuses); ``EP_GITHUB_BOT_LOGIN`` (``APP-SLUG[bot]`` for an App's
installation token; a user token's login is asked from GitHub). Reports are ordered by build
number (docs/github-action.rst). The blocking PyGithub calls run in a thread; a report that
fails is logged, never raised into the master.
"""

from __future__ import annotations

import os
from typing import Callable

from twisted.internet import defer
from twisted.python import log

from buildbot import config as buildbot_config

from ..github.client import Credentials, Redactor, connect
from ..github.reporter import PARTS, ReportResult, Reporter, ReportTarget
from ..github.retry import RetryPolicy
from ..results.validation import load_validated
from .hooks import FinishedBuildReporter, build_properties, builder_name, finished_builds, pr_number
from .upload import uploaded_path

TOKEN_ENV = "EP_GITHUB_TOKEN"
REPO_ENV = "EP_GITHUB_REPO"
API_ENV = "EP_GITHUB_API_URL"
PARTS_ENV = "EP_GITHUB_REPORT_PARTS"
BOT_ENV = "EP_GITHUB_BOT_LOGIN"      # the login the token comments as, when GET /user is refused to it
DEFAULT_REPO = "python/cpython"
DEFAULT_PARTS = ("comment",)
def parse_parts(text: str | None) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in (text or "").split(",") if p.strip()) or DEFAULT_PARTS
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"${PARTS_ENV}: unknown {', '.join(sorted(unknown))} (choose from {', '.join(PARTS)})")
    return parts


def report_build(build: dict, *, token: str, repo: str = DEFAULT_REPO, base_url: str | None = None,
                 parts: tuple[str, ...] = DEFAULT_PARTS, basedir: str | os.PathLike | None = None,
                 policy: RetryPolicy | None = None, github=None, bot_login: str | None = None,
                 say: Callable[[str], None] = log.msg) -> ReportResult | None:
    """Post `build`'s results.json to its PR; None when it is not a PR build or uploaded no
    results. Blocking (run it in a thread). `github` is a ready client (tests)."""
    properties = build_properties(build)
    builder = builder_name(build, properties) or "emscripten-python"
    number = build.get("number", properties.get("buildnumber"))
    pr = pr_number(properties)
    if pr is None:
        return None
    path = uploaded_path(properties, "results", basedir)
    if path is None or not path.is_file():
        say(f"github: {builder} build {number} (PR #{pr}): no results.json on the master "
            f"({path or 'no results_path property'}); nothing to report")
        return None
    # The worker ran the PR's code, so results.json is untrusted: validated before anything is
    # posted; only the master's own build URL is linked; the build number orders the reports.
    run = load_validated(path)
    target = ReportTarget(repo=repo, name=builder, pr=pr, sha=properties.get("revision") or run.source.get("commit"),
                          details_url=build.get("url"), parts=parts,
                          order=number if isinstance(number, int) and not isinstance(number, bool) else 0)
    credentials = Credentials(token=token)
    redact = credentials.redactor()
    if github is None:
        github = connect(credentials, base_url=base_url)
    result = Reporter(github, policy=policy, redact=redact, log=lambda text: say(f"{builder} build {number}: {text}"),
                      bot_login=bot_login).report(run, target)
    if not result.ok:
        failed = "; ".join(f"{p.part}: {p.message}" for p in result.parts if p.action == "failed")
        say(redact(f"github: {builder} build {number}: the report to PR #{pr} was not delivered ({failed})"))
    return result


def generators(builder_names: list[str]) -> list:
    return finished_builds(builder_names)


class PullRequestReporter(FinishedBuildReporter):
    """Posts the sticky PR report for each finished PR build."""

    name = "emscripten_pr_report"

    def checkConfig(self, generators, token=None, repo=DEFAULT_REPO, base_url=None, parts=DEFAULT_PARTS):
        super().checkConfig(generators)

    @defer.inlineCallbacks
    def reconfigService(self, generators, token=None, repo=DEFAULT_REPO, base_url=None, parts=DEFAULT_PARTS):
        self.token, self.repo, self.base_url, self.parts = token, repo, base_url, tuple(parts)
        self.redact = Redactor([token])
        yield super().reconfigService(generators)

    def handle_build(self, build: dict) -> None:
        report_build(build, token=self.token, repo=self.repo, base_url=self.base_url, parts=self.parts,
                     basedir=self.master.basedir, bot_login=os.environ.get(BOT_ENV) or None)

    def log_failure(self, build: dict, exc: Exception) -> None:
        # log.msg of redacted text, not log.err: a traceback could carry the token.
        log.msg(self.redact(f"github: could not report build {build.get('number')} of "
                            f"{(build.get('builder') or {}).get('name')}: {type(exc).__name__}: {exc}"))


def configure(config: dict, builder_names: list[str]) -> None:
    token = os.environ.get(TOKEN_ENV)
    if not token:
        return
    try:
        parts = parse_parts(os.environ.get(PARTS_ENV))
    except ValueError as exc:
        buildbot_config.error(str(exc))     # a configuration error: checkconfig reports it
        return
    config.setdefault("services", []).append(PullRequestReporter(
        generators(builder_names), token=token, repo=os.environ.get(REPO_ENV) or DEFAULT_REPO,
        base_url=os.environ.get(API_ENV) or None, parts=parts))


__all__ = ["PullRequestReporter", "configure", "pr_number", "report_build"]
