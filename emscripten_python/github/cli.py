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
from datetime import datetime, timezone
from pathlib import Path

from github import Github

from ..durable import atomic_write
from ..errors import ReportDeliveryError, ResultsError
from ..options import MAX_ATTEMPTS, attempts, wait_seconds, whole_seconds
from ..report.markdown import render_markdown
from ..results.model import Run
from ..results.validation import Limits, load_json, load_validated
from ..untrusted import actions_safe, clean
from .client import Credentials, connect
from .reporter import MAX_PR, PARTS, Reporter, ReportTarget
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
                       help="outside GitHub Actions: trusted ordering number compared before the results' "
                            "creation time, e.g. the Buildbot build number (default 0). Inside Actions the "
                            "order is always the workflow run's creation time, for every workflow")
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
    # Checked while parsing (options.py): nan, inf, negative or absurd values are one line and
    # exit 2 before any request (a nan --timeout never timed a request out).
    group.add_argument("--timeout", type=whole_seconds, default=15,
                       help="seconds per HTTP request (a whole number: PyGithub takes an int)")
    group.add_argument("--attempts", type=attempts, default=6, help=f"tries per operation (1 to {MAX_ATTEMPTS})")
    group.add_argument("--max-wait", type=wait_seconds, default=600.0,
                       help="longest rate-limit wait (s) before giving up on a part")
    group.add_argument("--backoff", type=wait_seconds, default=1.0,
                       help="first wait (s) after a 5xx or timeout, doubled per retry")
    group.add_argument("--throttle", type=wait_seconds, default=1.0,
                       help="pause (s) between writes, a quarter of it between reads: GitHub's "
                            "advice against secondary rate limits")
    group.add_argument("--settle", type=wait_seconds,
                       help="seconds to wait before re-reading what GitHub shows, so that a concurrent "
                            "older run's write lands first (default: --timeout plus twice --throttle "
                            "plus 3)")
    report.set_defaults(func=lambda args: run_report(args, report))


# A context file holds {"pr": N, "sha": ..., "name": ...}: a few hundred bytes, flat.
PR_FROM_LIMITS = Limits(max_file_bytes=64 * 1024, max_nesting=2)


def _pr_from(path: Path) -> int:
    """The PR number in the --pr-from file, which an untrusted job wrote: read through the
    shared checks of untrusted JSON (emscripten_python/results/validation.py), small and flat, and
    nothing but a number from 1 to MAX_PR taken."""
    try:
        data = load_json(path, PR_FROM_LIMITS)
    except ResultsError as exc:
        raise ReportDeliveryError(f"--pr-from {exc}") from None
    if not isinstance(data, dict):
        raise ReportDeliveryError(f"--pr-from {path} is not a JSON object with \"pr\"")
    value = data.get("pr")
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_PR:
        raise ReportDeliveryError(f"--pr-from {path}: \"pr\" is not a pull request number (1 to {MAX_PR})")
    return value


def _parse_created(value: object) -> int | None:
    try:
        created = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(created.timestamp()) if created.tzinfo else None


def actions_run_order(github: Github, repo: str) -> int:
    """Inside Actions, the one ordering scheme for every workflow: the Unix time GitHub
    recorded for the creation of the workflow run the results belong to. For a report
    triggered by ``workflow_run`` (docs/fork-safe.rst) the triggering run's ``created_at``
    from the event payload; otherwise this run's, read with ``GET
    /repos/{repo}/actions/runs/{GITHUB_RUN_ID}`` (needs ``actions: read``). Set by GitHub,
    not by a PR's code, on one clock across workflows, and kept by a re-run: a re-run of an
    older run stays older. (Run numbers count per workflow, so two workflows' numbers say
    nothing about which run is newer.)"""
    if os.environ.get("GITHUB_EVENT_NAME") == "workflow_run":
        try:
            event = json.loads(Path(os.environ["GITHUB_EVENT_PATH"]).read_text())
            created = _parse_created(event["workflow_run"]["created_at"])
        except (KeyError, OSError, ValueError, TypeError):
            created = None
        if created is None:
            raise ReportDeliveryError("the workflow_run event names no creation time for the triggering run")
        return created
    run_id = os.environ.get("GITHUB_RUN_ID", "")
    if not run_id.isdigit():
        raise ReportDeliveryError("$GITHUB_RUN_ID is not a workflow run id")
    created = github.get_repo(repo).get_workflow_run(int(run_id)).created_at
    return int(created.replace(tzinfo=created.tzinfo or timezone.utc).timestamp())


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
        server_url=os.environ.get("GITHUB_SERVER_URL") or "https://github.com",
        parts=parts,
        verify_pr_head=args.verify_pr_head or bool(args.pr_from),
        order=args.order or 0,
    )


def _app_login(credentials: Credentials, args, policy: RetryPolicy, redact) -> str:
    try:
        return run_with_retry(lambda: credentials.app_bot_login(args.base_url, args.timeout), policy,
                              "GitHub App lookup", redact,
                              lambda text: print(actions_safe(redact(text)), file=sys.stderr))
    except GiveUp as exc:
        raise ReportDeliveryError(f"{exc}; pass --bot-login APP-SLUG[bot]") from None


def run_report(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if not args.github:
        run = load_validated(args.out / "results.json")
        text = render_markdown(run) if args.format == "markdown" else json.dumps(run.to_dict(), indent=2)
        print(actions_safe(text, multiline=True))
        return 0
    # Validated before anything is posted: the file may come from a fork (exit 40 if not).
    run = load_validated(args.out / "results.json")
    if not args.repo:
        parser.error("--github needs --repo OWNER/NAME (or $GITHUB_REPOSITORY)")
    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    if in_actions and args.order is not None:
        parser.error("--order: inside GitHub Actions every report is ordered by its workflow run's creation "
                     "time, one scheme for every workflow under a name; --order is for reporters outside Actions")
    target = target_from_args(args, run)
    credentials = Credentials.from_env(args.token_env, args.app_id, args.app_key_env, args.installation_id)
    redact = credentials.redactor()
    redact.install()
    try:
        github = connect(credentials, base_url=args.base_url, timeout=args.timeout,
                         seconds_between_requests=args.throttle / 4, seconds_between_writes=args.throttle)
        settle = args.settle if args.settle is not None else args.timeout + 2 * args.throttle + 3
        policy = RetryPolicy(attempts=args.attempts, max_wait=args.max_wait, backoff=args.backoff, settle=settle)
        if in_actions:
            try:
                target.order = run_with_retry(lambda: actions_run_order(github, target.repo), policy,
                                              "reading when the workflow run was created", redact,
                                              lambda text: print(actions_safe(redact(text)), file=sys.stderr))
            except GiveUp as exc:
                raise ReportDeliveryError(f"{exc} (the report job needs the permission actions: read)") from None
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
    print(actions_safe(f"error: the GitHub report was not delivered ({failed}). The results are still in "
                       f"{args.out}; send them again with the same `emscripten-python report --github` command."),
          file=sys.stderr)
    return ReportDeliveryError.exit_code
