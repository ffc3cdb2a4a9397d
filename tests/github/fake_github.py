"""A GitHub-shaped REST server on 127.0.0.1 for driving real PyGithub in tests.

It serves the endpoints the reporter uses with JSON shaped like GitHub's (every URL in it on
this server's own host and port, under /api/v3 like GitHub Enterprise, so PyGithub follows
and edits them), keeps state in memory, enforces the limits GitHub enforces (50 annotations
per request, 65,535-character summaries, 65,536-character comments), checks credentials, and
injects faults on request: 5xx, timeouts (before or after the write took effect), a
connection dropped right after a write took effect (a lost create answer), 403 secondary
and primary rate limits, and 429. Lists can lag: with ``lag = N`` a comment or check run
just created is missing from the next N list answers (GitHub's lists are eventually
consistent; fetching the object by id always finds it).

Identities follow GitHub: a token in ``tokens`` acts as the user ``BOT`` (``GET /user``
answers); a token minted for a GitHub App installation acts as ``<app-slug>[bot]``
(type Bot) and ``GET /user`` refuses it with 403, as GitHub does; ``users`` maps further
tokens to other accounts. Comments are written as the token's identity.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

import jwt

PREFIX = "/api/v3"
FAULTS = ("500", "502", "503", "timeout", "timeout-after", "drop-after", "secondary", "secondary-bare",
          "primary", "429")
BOT = {"login": "emscripten-python-bot", "id": 41898282, "type": "User"}
APP_SLUG = "emscripten-python"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Reply(Exception):
    def __init__(self, status: int, body: object, headers: dict | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


@dataclass
class Logged:
    method: str
    path: str
    status: int
    fault: str | None = None
    authorization: str | None = field(default=None, repr=False)


class FakeGitHub:
    """``faults(method, path) -> kind | None`` decides per request (a kind from FAULTS); ``hold``
    is how long a "timeout" keeps the client waiting (longer than the client's timeout)."""

    def __init__(self, owner: str = "python", repo: str = "cpython", *, tokens: tuple[str, ...] = (),
                 app_public_key: str | None = None, app_id: str | None = None,
                 hold: float = 2.0, users: dict[str, dict] | None = None, app_slug: str = APP_SLUG) -> None:
        self.owner, self.repo = owner, repo
        self.tokens = set(tokens)
        self.identities: dict[str, dict] = {token: BOT for token in tokens}
        self.identities.update(users or {})
        self.tokens.update(users or {})
        self.app_slug = app_slug
        self.app_bot = {"login": f"{app_slug}[bot]", "id": 99000001, "type": "Bot"}
        self.lag = 0
        self.app_public_key, self.app_id = app_public_key, app_id
        self.hold = hold
        self.faults: Callable[[str, str], str | None] = lambda method, path: None
        # Called before each request is handled, outside the lock, with the parsed JSON body:
        # tests use it to hold reporters at a barrier and so force a race.
        self.before: Callable[[str, str, object], None] = lambda method, path, body: None
        self.lock = threading.RLock()
        self.ids = itertools.count(1000)
        self.comments: dict[int, dict] = {}
        self.check_runs: dict[int, dict] = {}
        self.statuses: dict[str, list[dict]] = {}
        self.pulls: dict[int, str] = {}          # number -> head sha
        self.workflow_runs: dict[int, dict] = {}   # run id -> {"created_at": ..., "run_number": ...}
        self.log: list[Logged] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        # A client that gave up (a timeout, a dropped answer) leaves a broken pipe: not news.
        self.server.handle_error = lambda request, client_address: None
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.base_url = self.origin + PREFIX
        self.repo_url = f"{self.base_url}/repos/{owner}/{repo}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> "FakeGitHub":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- views for assertions -----------------------------------------------------------------
    def comments_on(self, number: int) -> list[dict]:
        with self.lock:
            return sorted((c for c in self.comments.values() if c["_issue"] == number), key=lambda c: c["id"])

    def writes(self) -> list[Logged]:
        return [entry for entry in self.log if entry.method != "GET" and entry.status < 300]

    # -- JSON shapes --------------------------------------------------------------------------
    def _comment_json(self, comment: dict) -> dict:
        return {k: v for k, v in comment.items() if not k.startswith("_")}

    def _check_json(self, check: dict) -> dict:
        data = {k: v for k, v in check.items() if not k.startswith("_")}
        data["output"] = {**check["output"], "annotations_count": len(check["_annotations"]),
                          "annotations_url": f"{check['url']}/annotations"}
        return data

    def _commit_json(self, sha: str) -> dict:
        return {"sha": sha, "node_id": f"C_{sha[:8]}", "url": f"{self.repo_url}/commits/{sha}",
                "html_url": f"{self.origin}/{self.owner}/{self.repo}/commit/{sha}",
                "commit": {"message": "commit", "url": f"{self.repo_url}/git/commits/{sha}"},
                "parents": [], "files": []}

    # -- routing ------------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict, body: dict | None, auth: str | None) -> tuple[int, object, dict]:
        if method == "POST" and (m := re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)):
            return self._access_token(auth, int(m[1]))
        if method == "GET" and path == "/app":
            self._app_claims(auth)
            return 200, {"id": int(self.app_id or 1), "slug": self.app_slug, "name": self.app_slug}, {}
        self._authorize(auth)
        if method == "GET" and path == "/user":
            user = self._identity(auth)
            if user["type"] == "Bot":
                raise _Reply(403, {"message": "Resource not accessible by integration"})
            return 200, {**user, "url": f"{self.base_url}/users/{user['login']}"}, {}
        repo = f"/repos/{self.owner}/{self.repo}"
        if not path.startswith(repo):
            raise _Reply(404, {"message": "Not Found"})
        rest = path[len(repo):]
        routes = [
            ("GET", r"", lambda: (200, {"id": 1, "name": self.repo, "full_name": f"{self.owner}/{self.repo}",
                                        "url": self.repo_url, "html_url": f"{self.origin}/{self.owner}/{self.repo}"})),
            ("GET", r"/issues/(\d+)", lambda n: (200, self._issue_json(int(n)))),
            ("GET", r"/pulls/(\d+)", lambda n: (200, self._pull_json(int(n)))),
            ("GET", r"/issues/(\d+)/comments", lambda n: self._page(query, self._list_comments(int(n)))),
            ("POST", r"/issues/(\d+)/comments", lambda n: self._create_comment(int(n), body, self._identity(auth))),
            ("GET", r"/issues/comments/(\d+)", lambda i: (200, self._comment_json(self._get_comment(int(i))))),
            ("PATCH", r"/issues/comments/(\d+)", lambda i: self._edit_comment(int(i), body)),
            ("DELETE", r"/issues/comments/(\d+)", lambda i: self._delete_comment(int(i))),
            ("GET", r"/commits/([0-9a-f]+)", lambda sha: (200, self._commit_json(sha))),
            ("GET", r"/commits/([0-9a-f]+)/check-runs", lambda sha: self._list_check_runs(sha, query)),
            ("POST", r"/check-runs", lambda: self._create_check_run(body)),
            ("GET", r"/actions/runs/(\d+)", lambda i: (200, self._workflow_run_json(int(i)))),
            ("GET", r"/check-runs/(\d+)", lambda i: (200, self._check_json(self._get_check(int(i))))),
            ("PATCH", r"/check-runs/(\d+)", lambda i: self._edit_check_run(int(i), body)),
            ("POST", r"/statuses/([0-9a-f]+)", lambda sha: self._create_status(sha, body)),
            ("GET", r"/(?:commits/)?([0-9a-f]+)/statuses|/statuses/([0-9a-f]+)",
             lambda *sha: self._page(query, self.statuses.get(sha[0] or sha[1], [])[::-1])),
        ]
        for verb, pattern, handler in routes:
            if verb == method and (m := re.fullmatch(pattern, rest)):
                with self.lock:
                    status, data = handler(*m.groups())
                return status, data, getattr(self, "_link", {})
        raise _Reply(404, {"message": "Not Found"})

    def _authorize(self, auth: str | None) -> None:
        scheme, _, token = (auth or "").partition(" ")
        if scheme.lower() not in ("token", "bearer") or token not in self.tokens:
            raise _Reply(401, {"message": "Bad credentials"})

    def _identity(self, auth: str | None) -> dict:
        return self.identities.get((auth or "").partition(" ")[2], BOT)

    def _app_claims(self, auth: str | None) -> dict:
        scheme, _, token = (auth or "").partition(" ")
        try:
            claims = jwt.decode(token, self.app_public_key, algorithms=["RS256"])
        except jwt.PyJWTError as exc:
            raise _Reply(401, {"message": f"A JSON web token could not be decoded: {exc}"}) from None
        if scheme.lower() != "bearer" or str(claims.get("iss")) != str(self.app_id):
            raise _Reply(401, {"message": "'Issuer' claim ('iss') must be an Integer"})
        return claims

    def _access_token(self, auth: str | None, installation: int) -> tuple[int, object, dict]:
        self._app_claims(auth)
        minted = f"ghs_{installation}{next(self.ids)}InstallationTokenForTests"
        self.tokens.add(minted)
        self.identities[minted] = self.app_bot
        return 201, {"token": minted, "expires_at": "2099-01-01T00:00:00Z",
                     "permissions": {"checks": "write", "issues": "write", "statuses": "write"}}, {}

    # -- issues and comments --------------------------------------------------------------------
    def _issue_json(self, number: int) -> dict:
        return {"id": number, "number": number, "state": "open", "title": f"PR {number}",
                "url": f"{self.repo_url}/issues/{number}", "comments_url": f"{self.repo_url}/issues/{number}/comments",
                "html_url": f"{self.origin}/{self.owner}/{self.repo}/pull/{number}",
                "pull_request": {"url": f"{self.repo_url}/pulls/{number}"}}

    def _pull_json(self, number: int) -> dict:
        sha = self.pulls.get(number)
        if sha is None:
            raise _Reply(404, {"message": "Not Found"})
        return {"id": number, "number": number, "state": "open", "url": f"{self.repo_url}/pulls/{number}",
                "html_url": f"{self.origin}/{self.owner}/{self.repo}/pull/{number}",
                "issue_url": f"{self.repo_url}/issues/{number}",
                "head": {"sha": sha, "ref": "feature", "label": "someone:feature"},
                "base": {"sha": "0" * 40, "ref": "main", "label": f"{self.owner}:main"}}

    def _visible(self, items: list[dict]) -> list[dict]:
        """Lagging lists: an item created moments ago is left out of the next `lag` answers."""
        shown = []
        for item in items:
            if item.get("_hidden", 0) > 0:
                item["_hidden"] -= 1
            else:
                shown.append(item)
        return shown

    def _list_comments(self, number: int) -> list[dict]:
        return [self._comment_json(c) for c in self._visible(self.comments_on(number))]

    def add_comment(self, number: int, body: str, user: dict | None = None, *, hidden: int = 0) -> dict:
        with self.lock:
            cid = next(self.ids)
            comment = {"id": cid, "node_id": f"IC_{cid}", "url": f"{self.repo_url}/issues/comments/{cid}",
                       "html_url": f"{self.origin}/{self.owner}/{self.repo}/pull/{number}#issuecomment-{cid}",
                       "issue_url": f"{self.repo_url}/issues/{number}", "body": body,
                       "user": user or BOT, "created_at": _now(), "updated_at": _now(),
                       "author_association": "NONE", "_issue": number, "_hidden": hidden}
            self.comments[cid] = comment
            return comment

    def _create_comment(self, number: int, body: dict | None, user: dict) -> tuple[int, dict]:
        text = (body or {}).get("body", "")
        if len(text) > 65536:
            raise _Reply(422, {"message": "Validation Failed", "errors": [{"field": "body", "code": "custom",
                                                                              "message": "body is too long (maximum is 65536 characters)"}]})
        return 201, self._comment_json(self.add_comment(number, text, user, hidden=self.lag))

    def _get_comment(self, cid: int) -> dict:
        if cid not in self.comments:
            raise _Reply(404, {"message": "Not Found"})
        return self.comments[cid]

    def _edit_comment(self, cid: int, body: dict | None) -> tuple[int, dict]:
        comment = self._get_comment(cid)
        comment.update(body=(body or {}).get("body", ""), updated_at=_now())
        return 200, self._comment_json(comment)

    def _delete_comment(self, cid: int) -> tuple[int, None]:
        self._get_comment(cid)
        del self.comments[cid]
        return 204, None

    # -- workflow runs --------------------------------------------------------------------------
    def _workflow_run_json(self, run_id: int) -> dict:
        if run_id not in self.workflow_runs:
            raise _Reply(404, {"message": "Not Found"})
        return {"id": run_id, "node_id": f"WFR_{run_id}", "name": "Emscripten", "status": "completed",
                "url": f"{self.repo_url}/actions/runs/{run_id}",
                "html_url": f"{self.origin}/{self.owner}/{self.repo}/actions/runs/{run_id}",
                **self.workflow_runs[run_id]}

    # -- check runs -----------------------------------------------------------------------------
    def _get_check(self, cid: int) -> dict:
        if cid not in self.check_runs:
            raise _Reply(404, {"message": "Not Found"})
        return self.check_runs[cid]

    def _validate_output(self, output: dict | None) -> None:
        if not output:
            return
        if len(output.get("summary", "")) > 65535:
            raise _Reply(422, {"message": "Invalid request.\n\nOnly 65535 characters are allowed; "
                                          f"{len(output['summary'])} were supplied."})
        if len(output.get("annotations", [])) > 50:
            raise _Reply(422, {"message": "Invalid request.\n\nOnly 50 annotations are allowed per request."})

    def _list_check_runs(self, sha: str, query: dict) -> tuple[int, dict]:
        name = query.get("check_name")
        matching = [c for c in sorted(self.check_runs.values(), key=lambda c: -c["id"])
                    if c["head_sha"] == sha and (name is None or c["name"] == name)]
        runs = [self._check_json(c) for c in self._visible(matching)]
        return 200, {"total_count": len(runs), "check_runs": runs}

    def _create_check_run(self, body: dict | None) -> tuple[int, dict]:
        body = body or {}
        self._validate_output(body.get("output"))
        cid = next(self.ids)
        output = dict(body.get("output") or {"title": None, "summary": None})
        check = {"id": cid, "node_id": f"CR_{cid}", "name": body["name"], "head_sha": body["head_sha"],
                 "external_id": body.get("external_id", ""), "url": f"{self.repo_url}/check-runs/{cid}",
                 "html_url": f"{self.origin}/{self.owner}/{self.repo}/runs/{cid}",
                 "details_url": body.get("details_url"), "status": body.get("status", "queued"),
                 "conclusion": body.get("conclusion"), "started_at": _now(), "completed_at": None,
                 "output": {"title": output.get("title"), "summary": output.get("summary"), "text": output.get("text")},
                 "check_suite": {"id": 1}, "app": {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"},
                 "pull_requests": [], "_annotations": list(output.get("annotations", [])), "_hidden": self.lag}
        self.check_runs[cid] = check
        return 201, self._check_json(check)

    def _edit_check_run(self, cid: int, body: dict | None) -> tuple[int, dict]:
        body = body or {}
        check = self._get_check(cid)
        self._validate_output(body.get("output"))
        for key in ("status", "conclusion", "details_url", "completed_at", "external_id"):
            if key in body:
                check[key] = body[key]
        if "conclusion" in body:
            check["status"] = "completed"
        if "output" in body:
            output = body["output"]
            check["output"].update({k: output[k] for k in ("title", "summary", "text") if k in output})
            check["_annotations"].extend(output.get("annotations", []))   # appended, as on GitHub
        return 200, self._check_json(check)

    # -- statuses -------------------------------------------------------------------------------
    def _create_status(self, sha: str, body: dict | None) -> tuple[int, dict]:
        body = body or {}
        if body.get("state") not in ("error", "failure", "pending", "success"):
            raise _Reply(422, {"message": "Validation Failed"})
        sid = next(self.ids)
        status = {"id": sid, "node_id": f"SC_{sid}", "url": f"{self.repo_url}/statuses/{sha}",
                  "state": body["state"], "description": body.get("description"),
                  "target_url": body.get("target_url"), "context": body.get("context", "default"),
                  "created_at": _now(), "updated_at": _now(), "creator": BOT}
        self.statuses.setdefault(sha, []).append(status)
        return 201, status

    # -- pagination -----------------------------------------------------------------------------
    def _page(self, query: dict, items: list) -> tuple[int, list]:
        per_page = min(100, int(query.get("per_page", 30)))
        page = int(query.get("page", 1))
        pages = max(1, -(-len(items) // per_page))
        links = []
        if page < pages:
            links.append(f'<{self._current_url}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{self._current_url}?per_page={per_page}&page={pages}>; rel="last"')
        self._link = {"Link": ", ".join(links)} if links else {}
        return 200, items[(page - 1) * per_page:page * per_page]

    # -- faults ---------------------------------------------------------------------------------
    def _fault_reply(self, kind: str, auth: str | None) -> tuple[int, dict, dict]:
        if kind in ("500", "502", "503"):
            # Echo the Authorization header, as a misbehaving proxy might: the reporter must
            # never pass it on into a log or an error message.
            return int(kind), {"message": f"Server Error (upstream saw Authorization: {auth})"}, {}
        if kind == "secondary":
            return 403, {"message": "You have exceeded a secondary rate limit. Please wait a few minutes "
                                    "before you try again."}, {"Retry-After": "1"}
        if kind == "secondary-bare":
            return 403, {"message": "You have exceeded a secondary rate limit."}, {}
        if kind == "primary":
            return 403, {"message": "API rate limit exceeded for installation ID 1."}, {
                "X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time()) + 2)}
        if kind == "429":
            return 429, {"message": "Too Many Requests"}, {"Retry-After": "1"}
        raise ValueError(kind)

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True   # headers and body go out at once: no 40 ms stalls

            def log_message(self, *args) -> None:   # quiet: the test log is fake.log
                pass

            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                auth = self.headers.get("Authorization")
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                if not url.path.startswith(PREFIX):
                    return self._send(404, {"message": "Not Found"}, {}, url.path, None, auth)
                path = url.path[len(PREFIX):]
                try:
                    parsed = json.loads(raw) if raw else None
                except ValueError:
                    parsed = None
                fake.before(self.command, path, parsed)
                kind = fake.faults(self.command, path)
                if kind == "timeout":
                    time.sleep(fake.hold)
                    return self._drop(url.path, kind, auth)
                if kind and kind not in ("timeout-after", "drop-after"):
                    status, body, headers = fake._fault_reply(kind, auth)
                    return self._send(status, body, headers, url.path, kind, auth)
                with fake.lock:
                    fake._current_url = fake.origin + url.path
                    fake._link = {}
                    try:
                        body = json.loads(raw) if raw else None
                        status, data, headers = fake._route(self.command, path, query, body, auth)
                    except _Reply as reply:
                        status, data, headers = reply.status, reply.body, reply.headers
                if kind in ("timeout-after", "drop-after"):
                    # The write happened; only the response is lost (after a hang, or at once).
                    if kind == "timeout-after":
                        time.sleep(fake.hold)
                    return self._drop(url.path, kind, auth, status)
                return self._send(status, data, headers, url.path, None, auth)

            def _drop(self, path: str, kind: str, auth: str | None, status: int = 0) -> None:
                fake.log.append(Logged(self.command, path, status if status < 300 else 599, kind, auth))
                self.close_connection = True

            def _send(self, status, data, headers, path, kind, auth) -> None:
                fake.log.append(Logged(self.command, path, status, kind, auth))
                payload = b"" if data is None else json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

        return Handler
