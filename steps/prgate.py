"""Pull-request builds only when a maintainer asks, the way CPython gates its buildbots.

A PR's code runs on the fleet's hardware, so opening or pushing to a PR never starts a
build; adding the label (which only triage/write members can do) does, for the PR's
current head. Like CPython's gate, the handler then removes the label and says so in a
comment (with a token), so a later push is tested only when someone adds the label again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import quote

from twisted.internet import defer
from twisted.python import log

from buildbot.process.properties import Properties
from buildbot.util import httpclientservice
from buildbot.www.hooks.github import GitHubEventHandler

_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_SHA = re.compile(r"^[0-9a-f]{7,64}$")
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")

DEFAULT_LABEL = "test-with-buildbots"


class LabelGatedGitHubEventHandler(GitHubEventHandler):
    """GitHub change hook handler: pushes as usual; pull requests only on the label.

    Use as the `class` of the github change hook dialect, with the label bound by
    functools.partial: ``partial(LabelGatedGitHubEventHandler, label="test-with-buildbots")``.
    A label such as ":hammer: test-with-buildbots" (CPython's) matches "test-with-buildbots".
    """

    def __init__(self, *args, label: str = DEFAULT_LABEL, **kwargs):
        super().__init__(*args, **kwargs)
        self.label = label

    @defer.inlineCallbacks
    def _get_payload(self, request):
        """GitHub's X-Hub-Signature-256 (HMAC-SHA256 of the body), which the stock handler ignores:
        when present it must match, and it is enough on its own; without it the stock check of
        X-Hub-Signature (SHA-1) applies, as for an older GitHub Enterprise."""
        signature = request.getHeader(b"X-Hub-Signature-256")
        if not (self._secret and signature):
            return (yield super()._get_payload(request))
        body = request.content.read()
        request.content.seek(0)
        kind, _, digest = signature.decode("ascii", "replace").partition("=")
        properties = Properties()
        properties.master = self.master
        secret = yield properties.render(self._secret)
        expected = hmac.new(str(secret).encode(), body, hashlib.sha256).hexdigest()
        if kind != "sha256" or not hmac.compare_digest(expected, digest):
            raise ValueError("X-Hub-Signature-256 does not match the body and the webhook secret")
        # Verified: the stock parser reads the body; its SHA-1 check is moot (and not required).
        strict, self._strict = self._strict, False
        secret_value, self._secret = self._secret, None
        try:
            return (yield super()._get_payload(request))
        finally:
            self._strict, self._secret = strict, secret_value

    @defer.inlineCallbacks
    def handle_pull_request(self, payload, event):
        number = payload.get("number")
        added = (payload.get("label") or {}).get("name", "")
        if payload.get("action") != "labeled" or not self._is_gate(added):
            log.msg(f"GitHub PR #{number} {payload.get('action')}: not the {self.label!r} label, no build")
            return [], "git"
        log.msg(f"GitHub PR #{number}: {payload.get('sender', {}).get('login')} added {added!r}; building")
        # The stock handler builds the change for these actions only; a label means "test the head now".
        changes, vcs = yield super().handle_pull_request({**payload, "action": "synchronize"}, event)
        if changes:
            yield self.acknowledge(payload, added)
        return changes, vcs

    @defer.inlineCallbacks
    def _get_commit_msg(self, repo, sha):
        """The stock look-up ([skip ci] in the head commit); GitHub's API out of reach must not
        drop a maintainer's label (the delivery would answer 500 and nothing be built)."""
        try:
            return (yield super()._get_commit_msg(repo, sha))
        except Exception as exc:   # noqa: BLE001 - a network error, whatever its class
            log.msg(f"GitHub: could not read the head commit of {repo} ({exc}); building without it")
            return ""

    @defer.inlineCallbacks
    def _get_pr_files(self, repo, number):
        """The stock look-up of the PR's files; unreachable: no files (every change is important)."""
        try:
            return (yield super()._get_pr_files(repo, number))
        except Exception as exc:   # noqa: BLE001
            log.msg(f"GitHub PR #{number}: could not list its files ({exc}); building without them")
            return []

    @defer.inlineCallbacks
    def acknowledge(self, payload: dict, label: str):
        """Remove the label and comment on the PR, as CPython's gate does. Best effort: a
        failure is logged and the build still runs."""
        repo = str((payload.get("repository") or {}).get("full_name") or "")
        number = payload.get("number")
        sha = str(((payload.get("pull_request") or {}).get("head") or {}).get("sha") or "")
        login = str((payload.get("sender") or {}).get("login") or "")
        if not self._token:
            log.msg(f"GitHub PR #{number}: no token, so the {label!r} label stays on the PR")
            return
        if not (_REPO.match(repo) and isinstance(number, int) and _SHA.match(sha)):
            log.msg(f"GitHub PR #{number}: unexpected repository, number or head in the payload; label left")
            return
        # Only checked, fixed-form values reach the comment (a login, a hex sha, the configured label).
        who = f"@{login}" if _LOGIN.match(login) else "a maintainer"
        body = (f":robot: New build scheduled with the Emscripten buildbot fleet by {who} for commit "
                f"{sha[:10]}.\n\nThe `{self.label}` label was removed: add it again to test a later push.")
        try:
            http = yield self.http_session(repo)
            response = yield http.delete(f"/repos/{repo}/issues/{number}/labels/{quote(label, safe='')}")
            if response.code not in (200, 204, 404):
                log.msg(f"GitHub PR #{number}: removing the label answered HTTP {response.code}")
            response = yield http.post(f"/repos/{repo}/issues/{number}/comments", json={"body": body})
            if response.code != 201:
                log.msg(f"GitHub PR #{number}: the comment answered HTTP {response.code}")
        except Exception as exc:   # noqa: BLE001 - the build is scheduled whatever GitHub says
            log.err(exc, f"GitHub PR #{number}: could not remove the label or comment")

    @defer.inlineCallbacks
    def http_session(self, repo: str):
        """An API session with the hook's token, as the stock handler makes for its own calls."""
        properties = Properties()
        properties.master = self.master
        properties.setProperty("full_name", repo, "change_hook")
        token = yield properties.render(self._token)
        session = yield httpclientservice.HTTPSession(
            self.master.httpservice, self.github_api_endpoint,
            headers={"User-Agent": "Buildbot", "Authorization": f"token {token}",
                     "Accept": "application/vnd.github+json"},
            debug=self.debug, verify=self.verify)
        return session

    def _is_gate(self, name: str) -> bool:
        return name == self.label or name.split()[-1:] == [self.label]
