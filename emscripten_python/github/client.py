"""Connecting to GitHub (token or GitHub App, github.com or Enterprise) without leaking secrets."""

from __future__ import annotations

import base64
import logging
import os
import re
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from github import Auth, Github, GithubIntegration

from ..errors import ReportDeliveryError

# GitHub's token formats (personal, OAuth, user-to-server, server-to-server, refresh,
# fine-grained) plus PEM private keys: redacted even when they are not the configured secret,
# e.g. an installation token GitHub minted for an App during this run.
_SECRET_PATTERNS = re.compile(
    r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----"
    r"|(?i:(?<=authorization: )(?:token|bearer) \S+)",
    re.S,
)
REDACTED = "***"
_LOGGERS = ("github", "github.Requester", "urllib3", "urllib3.connectionpool", "emscripten_python.github")


class CredentialsError(ReportDeliveryError):
    """No usable GitHub credentials were given (nothing is sent then)."""


def encodings(secret: str) -> set[str]:
    """Every form in which a server or proxy could echo ``secret`` back: as it is, URL-encoded,
    and base64 (standard and URL-safe, with or without padding) of the secret inside any
    longer string, such as Basic auth's ``x-access-token:SECRET`` or ``:SECRET``. Base64 of
    a string depends on where the secret starts modulo 3, so the stable middle of each of the
    three alignments is taken: it occurs whatever surrounds the secret."""
    raw = secret.encode()
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        start = 4 if shift else 0                      # the first group mixes in the prefix
        end = 4 * ((shift + len(raw)) // 3)            # the last full group of the secret
        core = encoded[start:end]
        if len(core) >= 8:
            forms.update({core, core.replace("+", "-").replace("/", "_"), quote(core, safe="")})
    return {form for form in forms if len(form) >= 8}


class Redactor(logging.Filter):
    """Removes secrets, in every encoding ``encodings`` lists, from text; also installed as a
    filter on the loggers that see requests."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        # Very short values would redact ordinary words; real tokens are long.
        if secret and len(secret) >= 8:
            for part in {secret, *(line.strip() for line in secret.splitlines() if len(line.strip()) >= 8)}:
                self._secrets.update(encodings(part))

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return _SECRET_PATTERNS.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self(record.getMessage()), ()
        return True

    def install(self) -> None:
        for name in _LOGGERS:
            logger = logging.getLogger(name)
            if self not in logger.filters:
                logger.addFilter(self)

    def uninstall(self) -> None:
        for name in _LOGGERS:
            logging.getLogger(name).removeFilter(self)


@dataclass
class Credentials:
    token: str | None = None
    app_id: str | None = None
    app_private_key: str | None = None
    installation_id: int | None = None

    @classmethod
    def from_env(cls, token_env: str = "GITHUB_TOKEN", app_id: str | None = None,
                 app_key_env: str = "GITHUB_APP_PRIVATE_KEY",
                 installation_id: int | None = None) -> "Credentials":
        """Secrets come only from the environment: a command-line flag would show in `ps`
        and in the CI log that echoes the command."""
        if app_id:
            key = os.environ.get(app_key_env)
            if not key or not installation_id:
                raise CredentialsError(f"GitHub App {app_id}: set ${app_key_env} to the App's private "
                                       f"key and pass --installation-id")
            return cls(app_id=app_id, app_private_key=key, installation_id=installation_id)
        token = os.environ.get(token_env)
        if not token:
            raise CredentialsError(f"no GitHub token: ${token_env} is empty or unset")
        return cls(token=token)

    def auth(self) -> Auth.Auth:
        if self.app_id:
            return Auth.AppAuth(self.app_id, self.app_private_key).get_installation_auth(self.installation_id)
        return Auth.Token(self.token)

    def app_bot_login(self, base_url: str | None = None, timeout: int = 15) -> str | None:
        """``<app-slug>[bot]``, the login a GitHub App's comments are written as (GET /app)."""
        if not self.app_id:
            return None
        kwargs = {"base_url": base_url.rstrip("/")} if base_url else {}
        integration = GithubIntegration(auth=Auth.AppAuth(self.app_id, self.app_private_key), timeout=timeout,
                                        retry=None, **kwargs)
        return f"{integration.get_app().slug}[bot]"

    def redactor(self) -> Redactor:
        return Redactor([self.token, self.app_private_key])


def connect(credentials: Credentials, *, base_url: str | None = None, timeout: int = 15,
            seconds_between_requests: float = 0.25, seconds_between_writes: float = 1.0,
            per_page: int = 100) -> Github:
    """A PyGithub client with its per-request retry off: retries are per operation (retry.py).

    ``base_url`` is ``https://HOST/api/v3`` for GitHub Enterprise Server; the pauses between
    requests follow GitHub's advice for avoiding secondary rate limits.
    """
    kwargs = {"base_url": base_url.rstrip("/")} if base_url else {}
    # per_page=100 (GitHub's maximum): finding the sticky comment costs the fewest requests.
    return Github(auth=credentials.auth(), timeout=timeout, retry=None, lazy=True, per_page=per_page,
                  seconds_between_requests=seconds_between_requests,
                  seconds_between_writes=seconds_between_writes, **kwargs)
