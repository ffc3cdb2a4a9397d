"""PR builds start only from the maintainers' label, never from opening or pushing to a PR."""

from __future__ import annotations

from twisted.internet import defer
from twisted.trial import unittest

from emscripten_python.steps import LabelGatedGitHubEventHandler


def payload(action: str, label: str | None = None) -> dict:
    data = {
        "action": action, "number": 42, "sender": {"login": "maintainer"},
        "repository": {"full_name": "python/cpython", "html_url": "https://github.com/python/cpython"},
        "pull_request": {
            "base": {"ref": "main", "repo": {"full_name": "python/cpython"}}, "commits": 1, "title": "gh-1: fix",
            "body": "", "created_at": "2026-01-01T00:00:00Z", "head": {"sha": "abc123"},
            "_links": {"html": {"href": "https://github.com/python/cpython/pull/42"}},
        },
    }
    if label is not None:
        data["label"] = {"name": label}
    return data


class TestLabelGate(unittest.TestCase):
    def handler(self, **kwargs):
        handler = LabelGatedGitHubEventHandler(None, False, pullrequest_ref="merge", **kwargs)
        handler.api_calls = []
        # The stock handler asks GitHub for the head commit message and the changed files.
        handler._get_commit_msg = lambda repo, sha: handler.api_calls.append(sha) or defer.succeed("gh-1: fix")
        handler._get_pr_files = lambda repo, number: defer.succeed(["Lib/os.py"])
        return handler

    @defer.inlineCallbacks
    def check(self, handler, data):
        changes, vcs = yield defer.maybeDeferred(handler.handle_pull_request, data, "pull_request")
        self.assertEqual(vcs, "git")
        return changes

    @defer.inlineCallbacks
    def test_push_to_a_pr_does_not_build(self):
        for action in ("opened", "synchronize", "reopened", "edited"):
            handler = self.handler()
            self.assertEqual((yield self.check(handler, payload(action))), [])
            self.assertEqual(handler.api_calls, [])

    @defer.inlineCallbacks
    def test_other_labels_do_not_build(self):
        for label in ("needs backport", "test-with-buildbots-please", "DO-NOT-MERGE"):
            self.assertEqual((yield self.check(self.handler(), payload("labeled", label))), [])

    @defer.inlineCallbacks
    def test_the_label_builds_the_head(self):
        for label in ("test-with-buildbots", ":hammer: test-with-buildbots"):
            changes = yield self.check(self.handler(), payload("labeled", label))
            self.assertEqual(len(changes), 1)
            change = changes[0]
            self.assertEqual((change["branch"], change["revision"], change["category"]),
                             ("refs/pull/42/merge", "abc123", "pull"))
            self.assertEqual(change["properties"]["basename"], "main")

    @defer.inlineCallbacks
    def test_label_is_configurable(self):
        handler = self.handler(label="ci:emscripten")
        self.assertEqual(len((yield self.check(handler, payload("labeled", "ci:emscripten")))), 1)
        self.assertEqual((yield self.check(handler, payload("labeled", "test-with-buildbots"))), [])

    @defer.inlineCallbacks
    def test_skip_ci_in_the_head_commit_is_honoured(self):
        handler = self.handler()
        handler._get_commit_msg = lambda repo, sha: defer.succeed("wip [skip ci]")
        self.assertEqual((yield self.check(handler, payload("labeled", "test-with-buildbots"))), [])


class Response:
    def __init__(self, code):
        self.code = code


class FakeGitHubSession:
    """Records the calls the gate makes (GitHub REST: DELETE …/issues/N/labels/NAME answers 200,
    POST …/issues/N/comments answers 201)."""

    def __init__(self, delete_code=200, comment_code=201):
        self.calls, self.delete_code, self.comment_code = [], delete_code, comment_code

    def delete(self, path, **kwargs):
        self.calls.append(("DELETE", path, kwargs))
        return defer.succeed(Response(self.delete_code))

    def post(self, path, **kwargs):
        self.calls.append(("POST", path, kwargs))
        return defer.succeed(Response(self.comment_code))


class TestLabelIsRemovedAfterABuildIsScheduled(TestLabelGate):
    def handler(self, session=None, token="gh-token", **kwargs):
        handler = super().handler(token=token, **kwargs)
        handler.session = session or FakeGitHubSession()
        handler.http_session = lambda repo: defer.succeed(handler.session)
        return handler

    @defer.inlineCallbacks
    def test_label_removed_and_comment_posted(self):
        handler = self.handler()
        data = payload("labeled", ":hammer: test-with-buildbots")
        data["pull_request"]["head"]["sha"] = "abc1234def"
        changes = yield self.check(handler, data)
        self.assertEqual(len(changes), 1)
        [(verb1, path1, _), (verb2, path2, kwargs)] = handler.session.calls
        self.assertEqual((verb1, path1), ("DELETE", "/repos/python/cpython/issues/42/labels/%3Ahammer%3A%20test-with-buildbots"))
        self.assertEqual((verb2, path2), ("POST", "/repos/python/cpython/issues/42/comments"))
        body = kwargs["json"]["body"]
        self.assertIn("@maintainer", body)
        self.assertIn("abc1234def", body)
        self.assertIn("`test-with-buildbots` label was removed", body)

    @defer.inlineCallbacks
    def test_nothing_is_called_without_a_build(self):
        handler = self.handler()
        yield self.check(handler, payload("labeled", "needs backport"))
        yield self.check(handler, payload("synchronize"))
        self.assertEqual(handler.session.calls, [])

    @defer.inlineCallbacks
    def test_no_token_leaves_the_label(self):
        handler = self.handler(token=None)
        data = payload("labeled", "test-with-buildbots")
        data["pull_request"]["head"]["sha"] = "abc1234def"
        self.assertEqual(len((yield self.check(handler, data))), 1)
        self.assertEqual(handler.session.calls, [])

    @defer.inlineCallbacks
    def test_github_refusing_does_not_stop_the_build(self):
        handler = self.handler(session=FakeGitHubSession(delete_code=403, comment_code=403))
        data = payload("labeled", "test-with-buildbots")
        data["pull_request"]["head"]["sha"] = "abc1234def"
        self.assertEqual(len((yield self.check(handler, data))), 1)
        self.assertEqual(len(handler.session.calls), 2)

    @defer.inlineCallbacks
    def test_untrusted_login_never_reaches_the_comment(self):
        handler = self.handler()
        data = payload("labeled", "test-with-buildbots")
        data["pull_request"]["head"]["sha"] = "abc1234def"
        data["sender"]["login"] = "x](https://evil.example) <img src=x>"
        yield self.check(handler, data)
        body = handler.session.calls[1][2]["json"]["body"]
        self.assertNotIn("evil", body)
        self.assertIn("a maintainer", body)
