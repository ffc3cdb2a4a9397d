"""A second GitHub-shaped REST server, written from GitHub's REST documentation only (not from
fake_github.py and not from the reporter), for checking `emscripten-python report --github`
end to end with real PyGithub in separate processes.

What it serves (docs.github.com/rest, "Issue comments", "Check runs", "Commit statuses",
"Users", "Apps", "Pagination", "Rate limits"):

- ``GET /user``, ``GET /app`` and ``POST /app/installations/N/access_tokens`` (with the App's
  RS256 JWT, which is good for nothing else); ``GET /repos/O/R``, ``/issues/N``, ``/pulls/N``, ``/commits/REF``
- issue comments: list (``per_page`` up to 100, ``page``, ``Link`` header with ``next``/``last``),
  create (201), get, edit (PATCH), delete (204); each has ``user.login``/``user.type``
- check runs: create (201), get, update (PATCH; ``output.annotations`` at most 50 a request,
  appended, counted in ``output.annotations_count``), list for a ref (``check_name``,
  ``filter=latest|all``, ``{"total_count", "check_runs"}``)
- commit statuses: create (201; description at most 140 characters), list for a ref newest
  first, the combined status (the newest per context)
- ``x-ratelimit-*`` headers on every answer; 401 without a known token; 422 for what GitHub
  refuses (a body over 65536 characters, a completed check run without a conclusion...)

Faults, chosen per request by ``faults(method, path) -> str | None``:
``5xx`` (502/503/500), ``secondary`` (403 "You have exceeded a secondary rate limit" with
``retry-after``), ``429``, ``reset`` (the connection is reset before the request is applied),
``lost`` (applied, then the connection is reset: the answer is lost), ``hang`` (applied, then
no answer for ``hang`` seconds, longer than the client's timeout), ``hang-late`` (no answer for
``hang`` seconds, then applied), ``slow`` (applied and answered after 0.2-0.8 s). Lists lag: an object shows in list answers only ``lag`` seconds
after it was created (random per object, up to ``max_lag``), and a deleted one lingers as long.
``echo``: error answers quote the caller's credentials, plain, URL-encoded and base64, as a
careless proxy would.
"""

from __future__ import annotations

import base64
import json
import random
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Account:
    login: str
    type: str = "User"          # "User" or "Bot"
    id: int = 0

    def json(self) -> dict:
        return {"login": self.login, "id": self.id, "type": self.type, "node_id": f"U_{self.id}",
                "site_admin": False}


@dataclass
class Item:
    data: dict
    visible_at: float              # lists show it from then on
    deleted_at: float | None = None
    history: list = field(default_factory=list)     # (replaced at, older body)


@dataclass
class Journal:
    """Every write applied, in order: (method, path, account login, object id, body)."""

    entries: list = field(default_factory=list)


class IndependentGitHub:
    def __init__(self, *, tokens: dict[str, Account], repo: str = "python/cpython", pr_head: str = "",
                 seed: int = 0, max_lag: float = 0.0, hang: float = 2.0, app_slug: str = "ep-app",
                 app_id: str = "", app_public_key=None) -> None:
        self.tokens, self.repo, self.pr_head = tokens, repo, pr_head
        self.app_id, self.app_public_key = app_id, app_public_key
        self.minted: list[str] = []       # installation tokens handed out
        self.stale_bodies = 0.0           # list answers may miss edits this many seconds old
        self.rng = random.Random(seed)
        self.max_lag, self.hang, self.app_slug = max_lag, hang, app_slug
        self.lock = threading.RLock()
        self.next_id = 1000
        self.comments: dict[int, Item] = {}      # id -> comment JSON (with "_issue")
        self.checks: dict[int, Item] = {}
        self.statuses: dict[str, list[dict]] = {}   # sha -> oldest first
        self.workflow_runs: dict[int, dict] = {}     # run id -> {"created_at", "run_number", ...}
        self.journal = Journal()
        self.faults = lambda method, path: None
        self.echo = False
        self.requests = 0
        self.in_flight = 0               # requests being handled now (a hanging write among them)
        self.fault_counts: dict[str, int] = {}
        self.server: ThreadingHTTPServer | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> "IndependentGitHub":
        handler = type("Handler", (_Handler,), {"github": self})
        self.server = _Server(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Until no request is being handled: every hanging or slow write has landed (or been
        dropped). A condition, not a fixed wait, so a loaded machine only makes it longer."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if self.in_flight == 0:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.in_flight} requests still in flight after {timeout} s")
            time.sleep(0.02)

    def _id(self) -> int:
        with self.lock:
            self.next_id += self.rng.randint(1, 7)
            return self.next_id

    def _lag(self) -> float:
        return self.rng.uniform(0, self.max_lag) if self.max_lag else 0.0

    # -- state helpers for tests ---------------------------------------------------------------
    def add_comment(self, issue: int, account: Account, body: str, *, visible: bool = True) -> dict:
        with self.lock:
            cid = self._id()
            data = {"id": cid, "node_id": f"IC_{cid}", "body": body, "user": account.json(),
                    "created_at": _now(), "updated_at": _now(), "author_association": "CONTRIBUTOR",
                    "url": f"{self.repo_url}/issues/comments/{cid}",
                    "html_url": f"https://github.example/{self.repo}/pull/{issue}#issuecomment-{cid}",
                    "issue_url": f"{self.repo_url}/issues/{issue}", "_issue": issue}
            self.comments[cid] = Item(data, time.monotonic() + (0 if visible else self._lag()))
            return data

    def live_comments(self, issue: int) -> list[dict]:
        """The truth, without lag: comments on ``issue`` not deleted, oldest first."""
        with self.lock:
            return [dict(i.data) for cid, i in sorted(self.comments.items())
                    if i.data["_issue"] == issue and i.deleted_at is None]

    def live_checks(self, sha: str, name: str) -> list[dict]:
        with self.lock:
            return [dict(i.data) for cid, i in sorted(self.checks.items())
                    if i.data["head_sha"] == sha and i.data["name"] == name]

    def newest_status(self, sha: str, context: str) -> dict | None:
        with self.lock:
            return next((s for s in reversed(self.statuses.get(sha, [])) if s["context"] == context), None)

    @property
    def repo_url(self) -> str:
        return f"{self.base_url}/repos/{self.repo}"


def _is_visible(item: Item, now: float) -> bool:
    """In list answers: created long enough ago, and not deleted long enough ago."""
    if now < item.visible_at:
        return False
    return item.deleted_at is None or now < item.deleted_at


class _Handler(BaseHTTPRequestHandler):
    github: IndependentGitHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:      # quiet
        pass

    # -- plumbing ------------------------------------------------------------------------------
    def _auth(self) -> Account | None:
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("token", "bearer"):
            value = value.strip()
            if value.count(".") == 2 and self.github.app_public_key:
                return self._app_jwt(value)
            return self.github.tokens.get(value)
        return None

    def _app_jwt(self, value: str) -> Account | None:
        """A GitHub App's JWT (RS256, iss = the App id): only for /app endpoints."""
        import jwt

        try:
            claims = jwt.decode(value, self.github.app_public_key, algorithms=["RS256"],
                                options={"verify_aud": False})
        except jwt.PyJWTError:
            return None
        return Account("app-jwt", "App") if str(claims.get("iss")) == self.github.app_id else None

    def _send(self, status: int, payload=None, headers: dict | None = None) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        reset = int(time.time()) + 3600
        for key, value in {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4321",
                           "x-ratelimit-used": "679", "x-ratelimit-reset": str(reset),
                           "x-ratelimit-resource": "core", "x-github-api-version-selected": "2022-11-28",
                           **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _error(self, status: int, message: str, headers: dict | None = None) -> None:
        if self.github.echo:
            message += " (request was " + self._echo() + ")"
            headers = {**(headers or {}), "x-request-echo": self._echo()}
        self._send(status, {"message": message,
                            "documentation_url": "https://docs.github.com/rest"}, headers)

    def _echo(self) -> str:
        auth = self.headers.get("Authorization", "")
        secret = auth.partition(" ")[2]
        basic = base64.b64encode(f"x-access-token:{secret}".encode()).decode()
        return " ".join([auth, quote(secret, safe=""), basic, base64.urlsafe_b64encode(secret.encode()).decode(),
                         base64.b64encode(f":{secret}".encode()).decode()])

    def _reset(self) -> None:
        """Close the connection with a TCP reset (SO_LINGER 0), no answer sent."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        gh = self.github
        with gh.lock:
            gh.requests += 1
            gh.in_flight += 1
        try:
            self._answer(method)
        finally:
            with gh.lock:
                gh.in_flight -= 1

    def _answer(self, method: str) -> None:
        gh = self.github
        split = urlsplit(self.path)
        path, query = split.path.rstrip("/"), {k: v[-1] for k, v in parse_qs(split.query).items()}
        body = self._body() if method in ("POST", "PATCH") else {}
        account = self._auth()
        if account is None:
            self._error(401, "Bad credentials")
            return
        fault = gh.faults(method, path)
        if fault:
            with gh.lock:
                gh.fault_counts[fault] = gh.fault_counts.get(fault, 0) + 1
        if fault in ("500", "502", "503"):
            self._error(int(fault), "Server Error")
            return
        if fault == "secondary":
            self._error(403, "You have exceeded a secondary rate limit. Please wait a few minutes before "
                             "you try again.", {"retry-after": "1"})
            return
        if fault == "429":
            self._error(429, "Too Many Requests", {"retry-after": "1"})
            return
        if fault == "reset":
            self._reset()
            return
        if fault == "hang-late":
            time.sleep(gh.hang)
        if fault == "slow":      # slow, but within the client's timeout: the answer arrives
            time.sleep(gh.rng.uniform(0.2, 0.8))
        if body is None:
            self._error(400, "Problems parsing JSON")
            return
        try:
            status, payload, headers = self._route(method, path, query, body, account)
        except _Refused as refused:
            status, payload, headers = refused.status, {"message": refused.message}, {}
        if fault == "lost":
            self._reset()
            return
        if fault == "hang":
            time.sleep(gh.hang)
        if status >= 400:
            self._error(status, payload["message"])
        else:
            self._send(status, payload, headers)

    # -- routes --------------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict, body: dict, account: Account):
        gh = self.github
        base = f"/repos/{gh.repo}"
        if (account.type == "App") != path.startswith("/app"):
            raise _Refused(401, "A JSON web token could not be decoded" if account.type != "App" else "Bad credentials")
        if method == "POST" and re.fullmatch(r"/app/installations/\d+/access_tokens", path):
            token = "ghs_" + "".join(gh.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                                     for _ in range(36))
            with gh.lock:
                gh.tokens[token] = Account(f"{gh.app_slug}[bot]", "Bot", 77)
                gh.minted.append(token)
            return 201, {"token": token, "expires_at": "2099-01-01T00:00:00Z", "permissions": {}}, {}
        if path == "/user" and method == "GET":
            if account.type == "Bot":
                raise _Refused(403, "Resource not accessible by integration")
            return 200, account.json(), {}
        if path == "/app" and method == "GET":
            return 200, {"id": 1, "slug": gh.app_slug, "name": gh.app_slug}, {}
        if path == base and method == "GET":
            return 200, self._repo_json(), {}
        if not path.startswith(base + "/"):
            raise _Refused(404, "Not Found")
        rest = path[len(base) + 1:].split("/")
        with gh.lock:
            return self._repo_route(method, rest, query, body, account)

    def _repo_json(self) -> dict:
        gh = self.github
        owner, name = gh.repo.split("/")
        return {"id": 1, "name": name, "full_name": gh.repo, "owner": {"login": owner, "type": "Organization"},
                "url": gh.repo_url, "html_url": f"https://github.example/{gh.repo}", "private": False}

    def _repo_route(self, method: str, rest: list[str], query: dict, body: dict, account: Account):
        gh = self.github
        match rest:
            case ["issues", number] if method == "GET" and number.isdigit():
                return 200, {"number": int(number), "url": f"{gh.repo_url}/issues/{number}", "state": "open",
                             "html_url": f"https://github.example/{gh.repo}/pull/{number}",
                             "pull_request": {"url": f"{gh.repo_url}/pulls/{number}"}}, {}
            case ["actions", "runs", run_id] if method == "GET" and run_id.isdigit():
                # GET /repos/{owner}/{repo}/actions/runs/{run_id}: "created_at" is when GitHub
                # created the run; the docs' example shape, trimmed to what a reporter reads.
                run = gh.workflow_runs.get(int(run_id))
                if run is None:
                    raise _Refused(404, "Not Found")
                return 200, {"id": int(run_id), "url": f"{gh.repo_url}/actions/runs/{run_id}",
                             "html_url": f"https://github.example/{gh.repo}/actions/runs/{run_id}", **run}, {}
            case ["pulls", number] if method == "GET" and number.isdigit():
                return 200, {"number": int(number), "url": f"{gh.repo_url}/pulls/{number}", "state": "open",
                             "head": {"sha": gh.pr_head, "ref": "feature"}, "base": {"ref": "main"}}, {}
            case ["issues", number, "comments"] if number.isdigit():
                if method == "GET":
                    now = time.monotonic()
                    items = [self._stale(i, now) for cid, i in sorted(gh.comments.items())
                             if i.data["_issue"] == int(number) and _is_visible(i, now)]
                    return self._page(items, query)
                if method == "POST":
                    text = body.get("body")
                    if not isinstance(text, str) or not text:
                        raise _Refused(422, "Validation Failed: body is missing")
                    if len(text) > 65536:
                        raise _Refused(422, "Validation Failed: body is too long (maximum is 65536 characters)")
                    data = gh.add_comment(int(number), account, text, visible=False)
                    gh.journal.entries.append(("POST", "comment", account.login, data["id"], text))
                    return 201, self._public(data), {}
            case ["issues", "comments", cid] if cid.isdigit():
                item = gh.comments.get(int(cid))
                if item is None or item.deleted_at is not None:
                    raise _Refused(404, "Not Found")
                if method == "GET":
                    return 200, self._public(item.data), {}
                if item.data["user"]["login"] != account.login:
                    gh.journal.entries.append(("FORBIDDEN " + method, "comment", account.login, int(cid), None))
                    raise _Refused(403, "You do not have permission to edit this comment")
                if method == "PATCH":
                    text = body.get("body")
                    if not isinstance(text, str) or not text or len(text) > 65536:
                        raise _Refused(422, "Validation Failed: body")
                    item.history.append((time.monotonic(), item.data["body"]))
                    item.data["body"], item.data["updated_at"] = text, _now()
                    gh.journal.entries.append(("PATCH", "comment", account.login, int(cid), text))
                    return 200, self._public(item.data), {}
                if method == "DELETE":
                    item.deleted_at = time.monotonic() + gh._lag()
                    gh.journal.entries.append(("DELETE", "comment", account.login, int(cid), None))
                    return 204, None, {}
            case ["check-runs"] if method == "POST":
                return self._create_check(body, account)
            case ["check-runs", cid] if cid.isdigit():
                item = gh.checks.get(int(cid))
                if item is None:
                    raise _Refused(404, "Not Found")
                if method == "GET":
                    return 200, self._check_json(item.data), {}
                if method == "PATCH":
                    self._update_check(item.data, body)
                    gh.journal.entries.append(("PATCH", "check", account.login, int(cid), json.dumps(body)))
                    return 200, self._check_json(item.data), {}
            case ["commits", ref] if method == "GET":
                return 200, {"sha": ref, "url": f"{gh.repo_url}/commits/{ref}",
                             "html_url": f"https://github.example/{gh.repo}/commit/{ref}",
                             "commit": {"message": "x"}}, {}
            case ["commits", ref, "check-runs"] if method == "GET":
                now = time.monotonic()
                runs = [i.data for cid, i in sorted(gh.checks.items(), reverse=True)
                        if i.data["head_sha"] == ref and _is_visible(i, now)
                        and ("check_name" not in query or i.data["name"] == query["check_name"])]
                if query.get("filter", "latest") == "latest":
                    seen, latest = set(), []
                    for run in runs:
                        if run["name"] not in seen:
                            seen.add(run["name"])
                            latest.append(run)
                    runs = latest
                status, page, headers = self._page([self._check_json(r) for r in runs], query)
                return status, {"total_count": len(runs), "check_runs": page}, headers
            case ["statuses", sha] if method == "POST":
                return self._create_status(sha, body, account)
            case ["commits", ref, "statuses"] | ["statuses", ref] if method == "GET":
                # GitHub also answers the older /statuses/REF path (PyGithub reads that one)
                return self._page(list(reversed(gh.statuses.get(ref, []))), query)
            case ["commits", ref, "status"] if method == "GET":
                newest: dict[str, dict] = {}
                for status in gh.statuses.get(ref, []):
                    newest[status["context"]] = status
                states = [s["state"] for s in newest.values()]
                state = ("failure" if any(s in ("failure", "error") for s in states)
                         else "pending" if not states or "pending" in states else "success")
                return 200, {"state": state, "sha": ref, "total_count": len(newest),
                             "statuses": list(newest.values()), "url": f"{gh.repo_url}/commits/{ref}/status"}, {}
        raise _Refused(404, "Not Found")

    def _stale(self, item: Item, now: float) -> dict:
        """A list answer from a lagging replica (``stale_bodies`` seconds at most): an edit
        made since then is not in it yet."""
        data = self._public(item.data)
        lag = self.github.rng.uniform(0, self.github.stale_bodies) if self.github.stale_bodies else 0
        for replaced_at, body in reversed(item.history):
            if replaced_at > now - lag:
                data["body"] = body
        return data

    def _public(self, data: dict) -> dict:
        return {k: v for k, v in data.items() if not k.startswith("_")}

    def _page(self, items: list, query: dict):
        try:
            per_page = max(1, min(100, int(query.get("per_page", 30))))
            page = max(1, int(query.get("page", 1)))
        except ValueError:
            raise _Refused(422, "Invalid pagination") from None
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        links = []
        here = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(here.query).items()}

        def url(number: int) -> str:
            query_text = "&".join(f"{k}={quote(v)}" for k, v in {**params, "per_page": str(per_page),
                                                                 "page": str(number)}.items())
            return f"{self.github.base_url}{here.path}?{query_text}"
        if page < last:
            links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        if page > 1:
            links += [f'<{url(1)}>; rel="first"', f'<{url(page - 1)}>; rel="prev"']
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})

    # -- check runs ----------------------------------------------------------------------------
    def _create_check(self, body: dict, account: Account):
        gh = self.github
        if not isinstance(body.get("name"), str) or not isinstance(body.get("head_sha"), str):
            raise _Refused(422, "Validation Failed: name and head_sha are required")
        cid = gh._id()
        data = {"id": cid, "name": body["name"], "head_sha": body["head_sha"], "status": "queued",
                "conclusion": None, "external_id": body.get("external_id", ""), "details_url": None,
                "started_at": _now(), "completed_at": None, "url": f"{gh.repo_url}/check-runs/{cid}",
                "html_url": f"https://github.example/{gh.repo}/runs/{cid}",
                "output": {"title": None, "summary": None, "text": None, "annotations_count": 0,
                           "annotations_url": f"{gh.repo_url}/check-runs/{cid}/annotations"},
                "app": {"slug": account.login}, "_annotations": []}
        self._update_check(data, body)
        gh.checks[cid] = Item(data, time.monotonic() + gh._lag())
        gh.journal.entries.append(("POST", "check", account.login, cid, json.dumps(body)))
        return 201, self._check_json(data), {}

    def _update_check(self, data: dict, body: dict) -> None:
        status = body.get("status", data["status"])
        if status not in ("queued", "in_progress", "completed"):
            raise _Refused(422, f"Validation Failed: status {status!r}")
        conclusion = body.get("conclusion", data["conclusion"])
        if conclusion is not None and conclusion not in ("action_required", "cancelled", "failure", "neutral",
                                                         "success", "skipped", "stale", "timed_out"):
            raise _Refused(422, f"Validation Failed: conclusion {conclusion!r}")
        if conclusion is not None:
            status = "completed"      # GitHub: a conclusion sets the status to completed
        if status == "completed" and conclusion is None:
            raise _Refused(422, "Validation Failed: conclusion is required when status is completed")
        output = body.get("output")
        if output is not None:
            if not isinstance(output, dict) or not isinstance(output.get("title"), str) \
                    or not isinstance(output.get("summary"), str):
                raise _Refused(422, "Validation Failed: output needs title and summary")
            if len(output["summary"]) > 65535 or len(output.get("text") or "") > 65535:
                raise _Refused(422, "Validation Failed: output.summary is too long (65535 characters)")
            notes = output.get("annotations") or []
            if len(notes) > 50:
                raise _Refused(422, "Validation Failed: at most 50 annotations per request")
            for note in notes:
                if note.get("annotation_level") not in ("notice", "warning", "failure") or not note.get("path"):
                    raise _Refused(422, "Validation Failed: annotation")
            data["_annotations"] += notes
            data["output"].update({"title": output["title"], "summary": output["summary"],
                                   "text": output.get("text"), "annotations_count": len(data["_annotations"])})
        for key in ("details_url", "external_id", "name"):
            if key in body:
                data[key] = body[key]
        data["status"], data["conclusion"] = status, conclusion
        if status == "completed" and not data["completed_at"]:
            data["completed_at"] = _now()

    def _check_json(self, data: dict) -> dict:
        return json.loads(json.dumps(self._public(data)))

    # -- statuses ------------------------------------------------------------------------------
    def _create_status(self, sha: str, body: dict, account: Account):
        gh = self.github
        state = body.get("state")
        if state not in ("error", "failure", "pending", "success"):
            raise _Refused(422, "Validation Failed: state")
        description = body.get("description")
        if description is not None and len(description) > 140:
            raise _Refused(422, "Validation Failed: description is too long (maximum is 140 characters)")
        sid = gh._id()
        status = {"id": sid, "url": f"{gh.repo_url}/statuses/{sha}", "state": state, "description": description,
                  "target_url": body.get("target_url"), "context": body.get("context") or "default",
                  "created_at": _now(), "updated_at": _now(), "creator": account.json()}
        gh.statuses.setdefault(sha, []).append(status)
        gh.journal.entries.append(("POST", "status", account.login, sid, json.dumps(body)))
        return 201, status, {}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass      # clients that timed out and left (hangs) break the pipe; that is expected


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message
