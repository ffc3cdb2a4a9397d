"""Only the bot's own comments count; lagging lists and lost create answers never duplicate."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fake_github import BOT, FakeGitHub
from gh_helpers import CLIENT_TIMEOUT, SHA, TOKEN, make_run, policy, reporter, target

from emscripten_python.github.client import Credentials, Redactor, connect
from emscripten_python.github.reporter import MARKER, Reporter, comment_body

T0 = "2026-01-01T00:00:00+00:00"
MALLORY = {"login": "mallory", "id": 666, "type": "User"}
FUTURE = "<!-- emscripten-python report: key=wasm32%2Demscripten%20node%203.13 order=999 created=20990101T000000Z run=evil -->"


def _bots(fake, pr=7):
    return [c for c in fake.comments_on(pr) if MARKER.match(c["body"]) and c["user"]["login"] == BOT["login"]]


def test_spoofed_marker_comments_are_left_alone_and_the_bot_posts_its_own(fake, example_run):
    before = fake.add_comment(7, FUTURE + "\nall green, nothing to see", user=MALLORY)
    run = make_run(example_run, run_id="a" * 32, created=T0)

    result = reporter(fake).report(run, target(parts=("comment",)))

    assert result.ok and result.parts[0].action == "created"
    [ours] = _bots(fake)
    assert ours["body"] == comment_body(run, target())
    spoof = fake.comments[before["id"]]
    assert spoof["body"] == before["body"] and spoof["user"] == MALLORY, "never edited"
    # A spoof posted after the bot's comment is neither deleted as a duplicate nor obeyed.
    later = fake.add_comment(7, FUTURE, user=MALLORY)
    newer = make_run(example_run, run_id="b" * 32, created="2026-01-02T00:00:00+00:00")
    result = reporter(fake).report(newer, target(parts=("comment",)))
    assert result.parts[0].action == "updated"
    assert later["id"] in fake.comments and before["id"] in fake.comments
    assert [c["body"] for c in _bots(fake)] == [comment_body(newer, target())]
    assert not [e for e in fake.log if e.method in ("PATCH", "DELETE") and str(before["id"]) in e.path]


def test_the_bot_login_comes_from_get_user_once(fake, example_run):
    chosen = reporter(fake)
    for run_id in ("a", "b"):
        chosen.report(make_run(example_run, run_id=run_id * 32, created=T0), target(parts=("comment",)))
    assert [e.path for e in fake.log].count("/api/v3/user") == 1
    assert chosen.bot_login == BOT["login"]


def test_an_installation_token_needs_the_bot_login(example_run):
    # GitHub refuses GET /user to an App installation token: the App's login must be given
    # (or found with GET /app, which the CLI does), else nothing is edited.
    installation = "ghs_InstallationTokenOfSomeApp0123456789"
    app_bot = {"login": "emscripten-python[bot]", "id": 99000001, "type": "Bot"}
    with FakeGitHub(users={installation: app_bot}, hold=CLIENT_TIMEOUT + 1.0) as fake:
        fake.add_comment(7, FUTURE, user=MALLORY)
        run = make_run(example_run, run_id="a" * 32, created=T0)
        result = reporter(fake, token=installation).report(run, target(parts=("comment",)))
        assert result.parts[0].action == "failed" and "pass --bot-login" in result.parts[0].message
        assert fake.writes() == []
        result = reporter(fake, token=installation, bot_login="emscripten-python[bot]").report(
            run, target(parts=("comment",)))
        assert result.parts[0].action == "created"
        assert [c["user"]["type"] for c in fake.comments_on(7)] == ["User", "Bot"]


def test_app_credentials_find_the_bot_login_with_get_app(example_run):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with FakeGitHub(app_public_key=public, app_id="4242", app_slug="cpython-wasm") as fake:
        credentials = Credentials(app_id="4242", app_private_key=pem, installation_id=9)
        assert credentials.app_bot_login(fake.base_url) == "cpython-wasm[bot]"


def test_lagging_list_after_a_lost_create_answer_makes_no_duplicate(fake, example_run):
    # The create lands but its answer is lost; the comment is then missing from the next three
    # list answers. The reporter reads on (waiting) instead of creating a second comment, and
    # nothing crashes on the empty answers.
    fake.lag = 3
    posts = []

    def lose_the_first_create(method, path):
        if method == "POST" and path.endswith("/comments"):
            posts.append(path)
            return "drop-after" if len(posts) == 1 else None
        return None

    fake.faults = lose_the_first_create
    run = make_run(example_run, run_id="a" * 32, created=T0)
    result = reporter(fake).report(run, target(parts=("comment",)))

    assert result.ok, result.to_dict()
    assert len(posts) == 1, "created once"
    assert [c["body"] for c in _bots(fake)] == [comment_body(run, target())]


@pytest.mark.parametrize("lag", [0, 1, 2, 3])
def test_a_comment_missing_from_the_list_right_after_its_creation_is_found_by_id(fake, example_run, lag):
    fake.lag = lag
    run = make_run(example_run, run_id="a" * 32, created=T0)
    result = reporter(fake).report(run, target())
    assert result.ok and [p.action for p in result.parts] == ["created"] * 3, result.to_dict()
    assert len(_bots(fake)) == 1 and len(fake.check_runs) == 1 and len(fake.statuses[SHA]) == 1


def test_an_older_runs_comment_written_after_ours_is_repaired(fake, example_run):
    # The interleaving that made an older run win: the newer reporter writes and verifies,
    # then the older run's edit lands (from a read made before). The settle re-read sees it.
    newer = make_run(example_run, run_id="b" * 32, created="2026-01-02T00:00:00+00:00")
    older = make_run(example_run, run_id="a" * 32, created=T0)
    sneaked = []

    def late_older_write(seconds):
        if not sneaked:
            [comment] = _bots(fake)
            fake.comments[comment["id"]]["body"] = comment_body(older, target())
            sneaked.append(comment["id"])

    chosen = reporter(fake, settle_sleep=late_older_write)
    result = chosen.report(newer, target(parts=("comment",)))
    assert result.ok and "repaired" in (result.parts[0].message or ""), result.to_dict()
    assert [c["body"] for c in _bots(fake)] == [comment_body(newer, target())]


def test_an_older_run_shown_for_good_is_a_failure_not_a_success(fake, example_run):
    newer = make_run(example_run, run_id="b" * 32, created="2026-01-02T00:00:00+00:00")
    older = make_run(example_run, run_id="a" * 32, created=T0)

    def older_always_wins(seconds):
        for comment in _bots(fake):
            fake.comments[comment["id"]]["body"] = comment_body(older, target())

    result = reporter(fake, settle_sleep=older_always_wins, repairs=2).report(newer, target(parts=("comment",)))
    [part] = result.parts
    assert part.action == "failed" and not result.ok
    assert "does not show this run's comment after 2 repairs" in part.message


@pytest.mark.parametrize("fallback", ["github-actions[bot]", "wrong-guess[bot]"])
def test_the_workflow_token_comments_as_github_actions_bot(example_run, fallback):
    installation = "ghs_AnotherInstallationToken0123456789"
    with FakeGitHub(users={installation: {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}}) as fake:
        github = connect(Credentials(token=installation), base_url=fake.base_url, timeout=CLIENT_TIMEOUT,
                         seconds_between_requests=0, seconds_between_writes=0)
        result = Reporter(github, policy=policy(), redact=Redactor([installation]), log=lambda _: None,
                          fallback_login=fallback).report(
            make_run(example_run, run_id="a" * 32, created=T0), target(parts=("comment",)))
        # In Actions the workflow token comments as github-actions[bot] (the CLI's fallback when
        # GET /user is refused); a wrong guess is corrected by the author of the comment created.
        assert result.parts[0].action == "created", result.to_dict()
        assert len(fake.comments_on(7)) == 1
        assert TOKEN not in repr(result.to_dict())
