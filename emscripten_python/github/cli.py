"""`emscripten-python report --github …`: post a results.json to GitHub.

Registered through the core CLI's extension hook: it adds GitHub options to the existing
``report`` subcommand. Without ``--github`` the subcommand prints Markdown or JSON exactly as
before.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..durable import atomic_write
from ..errors import ReportDeliveryError
from ..markdown import render_markdown
from ..results import Run
from ..untrusted import clean, neutralise_commands
from ..validation import load_validated
from .client import Credentials, connect
from .reporter import PARTS, Reporter, ReportTarget
from .retry import GiveUp, RetryPolicy, run_with_retry

# The workflow's GITHUB_TOKEN acts as this account; GET /user is refused to it.
ACTIONS_BOT = "github-actions[bot]"

REPORT_FILE = "github-report.json"


def register(subparsers) -> None:
    report = subparsers.choices["report"]
    group = report.add_argument_group("GitHub", "post the results to GitHub instead of printing them")
    group.add_argument("--github", action="store_true",
                       help="post a sticky PR comment, a check run and a commit status")
    group.add_argument("--repo", default=os.environ.get("GITHUB_REPOSITORY"),
                       help="OWNER/NAME (default: $GITHUB_REPOSITORY)")
    group.add_argument("--pr", type=int, help="pull request number for the sticky comment")
    group.add_argument("--pr-from", type=Path, metavar="FILE",
                       help="read the PR number from FILE (JSON with \"pr\"), written by an untrusted "
                            "job; implies --verify-pr-head")
    group.add_argument("--sha", help="commit for the check run and status (default: the results' "
                                     "source commit, else $GITHUB_SHA)")
    group.add_argument("--name", help="check-run name, status context and sticky-comment key "
                                      "(default: the results' builder, else emscripten-python)")
    group.add_argument("--details-url", help="link to the full results and artifacts (trusted: the "
                                             "results' own build URL is never linked)")
    group.add_argument("--order", type=int, metavar="N",
                       help="trusted ordering number compared before the results' creation time, e.g. "
                            "the Buildbot build number (default: in Actions the run number GitHub gives "
                            "the workflow run, of the triggering run for a workflow_run event; else 0)")
    group.add_argument("--bot-login", metavar="LOGIN",
                       help="the login the bot comments as (APP-SLUG[bot], github-actions[bot]); "
                            "default: asked from GitHub once")
    group.add_argument("--parts", default=",".join(PARTS),
                       help=f"what to post, comma-separated from {','.join(PARTS)} (default: all)")
    group.add_argument("--verify-pr-head", action="store_true",
                       help="comment only if the PR's head commit is --sha")
    group.add_argument("--token-env", default="GITHUB_TOKEN", metavar="NAME",
                       help="environment variable holding the token (default: GITHUB_TOKEN)")
    group.add_argument("--app-id", help="authenticate as this GitHub App instead of with a token")
    group.add_argument("--app-key-env", default="GITHUB_APP_PRIVATE_KEY", metavar="NAME",
                       help="environment variable holding the App's PEM private key")
    group.add_argument("--installation-id", type=int, help="the App's installation on --repo")
    group.add_argument("--base-url", default=os.environ.get("GITHUB_API_URL"),
                       help="API root, e.g. https://HOST/api/v3 for GitHub Enterprise "
                            "(default: $GITHUB_API_URL, else github.com)")
    group.add_argument("--timeout", type=int, default=15, help="seconds per HTTP request")
    group.add_argument("--attempts", type=int, default=6, help="tries per operation")
    group.add_argument("--max-wait", type=float, default=600.0,
                       help="longest rate-limit wait (s) before giving up on a part")
    group.add_argument("--backoff", type=float, default=1.0,
                       help="first wait (s) after a 5xx or timeout, doubled per retry")
    group.add_argument("--throttle", type=float, default=1.0,
                       help="pause (s) between writes, a quarter of it between reads: GitHub's "
                            "advice against secondary rate limits")
    group.add_argument("--settle", type=float,
                       help="seconds to wait before re-reading what GitHub shows, so that a concurrent "
                            "older run's write lands first (default: --timeout plus twice --throttle "
                            "plus 3)")
    report.set_defaults(func=lambda args: run_report(args, report))


def _pr_from(path: Path) -> int:
    try:
        value = json.loads(path.read_text()).get("pr")
    except (OSError, ValueError, AttributeError) as exc:
        raise ReportDeliveryError(f"--pr-from {path}: not a JSON object with \"pr\": {exc}") from None
    # The file comes from an untrusted job: accept nothing but a positive integer.
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ReportDeliveryError(f"--pr-from {path}: \"pr\" is not a pull request number")
    return value


def actions_run_number() -> int:
    """The run number GitHub gave this workflow run, or, in a workflow_run-triggered report
    (docs/fork-safe.rst), the triggering PR run's: set by GitHub, not by the PR's code, and
    increasing with each run. 0 outside Actions."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return 0
    if os.environ.get("GITHUB_EVENT_NAME") == "workflow_run":
        try:
            event = json.loads(Path(os.environ["GITHUB_EVENT_PATH"]).read_text())
            number = event["workflow_run"]["run_number"]
        except (KeyError, OSError, ValueError, TypeError):
            return 0
        return number if isinstance(number, int) and not isinstance(number, bool) and number > 0 else 0
    number = os.environ.get("GITHUB_RUN_NUMBER", "")
    return int(number) if number.isdigit() else 0


def target_from_args(args: argparse.Namespace, run: Run) -> ReportTarget:
    parts = tuple(p.strip() for p in args.parts.split(",") if p.strip())
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ReportDeliveryError(f"--parts: unknown {', '.join(sorted(unknown))} (choose from {', '.join(PARTS)})")
    pr = _pr_from(args.pr_from) if args.pr_from else args.pr
    # The name from results.json (untrusted) is kept to one short plain line.
    name = args.name or " ".join(clean(run.origin.get("builder") or "").split())[:100] or "emscripten-python"
    return ReportTarget(
        repo=args.repo,
        name=name,
        pr=pr,
        sha=args.sha or run.source.get("commit") or os.environ.get("GITHUB_SHA"),
        details_url=args.details_url,
        parts=parts,
        verify_pr_head=args.verify_pr_head or bool(args.pr_from),
        order=args.order if args.order is not None else actions_run_number(),
    )


def _app_login(credentials: Credentials, args, policy: RetryPolicy, redact) -> str:
    try:
        return run_with_retry(lambda: credentials.app_bot_login(args.base_url, args.timeout), policy,
                              "GitHub App lookup", redact, lambda text: print(redact(text), file=sys.stderr))
    except GiveUp as exc:
        raise ReportDeliveryError(f"{exc}; pass --bot-login APP-SLUG[bot]") from None


def run_report(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if not args.github:
        run = Run.load(args.out / "results.json")
        text = render_markdown(run) if args.format == "markdown" else json.dumps(run.to_dict(), indent=2)
        print(neutralise_commands(text))
        return 0
    # Validated before anything is posted: the file may come from a fork (exit 40 if not).
    run = load_validated(args.out / "results.json")
    if not args.repo:
        parser.error("--github needs --repo OWNER/NAME (or $GITHUB_REPOSITORY)")
    target = target_from_args(args, run)
    credentials = Credentials.from_env(args.token_env, args.app_id, args.app_key_env, args.installation_id)
    redact = credentials.redactor()
    redact.install()
    try:
        github = connect(credentials, base_url=args.base_url, timeout=args.timeout,
                         seconds_between_requests=args.throttle / 4, seconds_between_writes=args.throttle)
        settle = args.settle if args.settle is not None else args.timeout + 2 * args.throttle + 3
        policy = RetryPolicy(attempts=args.attempts, max_wait=args.max_wait, backoff=args.backoff, settle=settle)
        bot_login, fallback = args.bot_login, None
        if credentials.app_id:
            # The installation token GitHub mints is a secret too, in every encoding.
            redact.add(github.requester.auth.token)
            bot_login = bot_login or _app_login(credentials, args, policy, redact)
        elif os.environ.get("GITHUB_ACTIONS") == "true":
            fallback = ACTIONS_BOT
        result = Reporter(github, policy=policy, redact=redact, bot_login=bot_login,
                          fallback_login=fallback).report(run, target)
    finally:
        redact.uninstall()
    record = {"repo": target.repo, "name": target.name, "pr": target.pr, "sha": target.sha,
              "run_id": run.run_id, **result.to_dict()}
    atomic_write(args.out / REPORT_FILE, redact(json.dumps(record, indent=2)) + "\n")
    if result.ok:
        return 0
    failed = "; ".join(f"{p.part}: {p.message}" for p in result.parts if p.action == "failed")
    print(f"error: the GitHub report was not delivered ({failed}). The results are still in "
          f"{args.out}; send them again with the same `emscripten-python report --github` command.",
          file=sys.stderr)
    return ReportDeliveryError.exit_code
