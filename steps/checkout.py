"""The factory's own checkout: Buildbot's GitHub step, with a Stop that ends it CANCELLED."""

from __future__ import annotations

from twisted.internet import defer

from buildbot.process.results import CANCELLED
from buildbot.steps.source.github import GitHub


class EmscriptenCheckout(GitHub):
    """A Stop while git runs ends the step CANCELLED, like a Stop in every other step.

    Buildbot's Git step raises (or fails) when its interrupted command ends, and a stopped step
    whose result is not CANCELLED becomes EXCEPTION (BuildStep.startStep, buildbot 4.3): the
    build then looked broken rather than stopped, and was recorded nowhere.
    """

    @defer.inlineCallbacks
    def run_vc(self, branch, revision, patch):
        try:
            result = yield super().run_vc(branch, revision, patch)
        except Exception:
            if self.stopped:
                return CANCELLED
            raise
        return CANCELLED if self.stopped else result
