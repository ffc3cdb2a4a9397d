"""Pull-request builds only when a maintainer asks, the way CPython gates its buildbots.

A PR's code runs on the fleet's hardware, so opening or pushing to a PR never starts a
build; adding the label (which only triage/write members can do) does, for the PR's
current head. To test a later push, the label is removed and added again.
"""

from __future__ import annotations

from twisted.python import log

from buildbot.www.hooks.github import GitHubEventHandler

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

    def handle_pull_request(self, payload, event):
        number = payload.get("number")
        added = (payload.get("label") or {}).get("name", "")
        if payload.get("action") != "labeled" or not self._is_gate(added):
            log.msg(f"GitHub PR #{number} {payload.get('action')}: not the {self.label!r} label, no build")
            return [], "git"
        log.msg(f"GitHub PR #{number}: {payload.get('sender', {}).get('login')} added {added!r}; building")
        # The stock handler builds the change for these actions only; a label means "test the head now".
        return super().handle_pull_request({**payload, "action": "synchronize"}, event)

    def _is_gate(self, name: str) -> bool:
        return name == self.label or name.split()[-1:] == [self.label]
