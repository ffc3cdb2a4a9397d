"""Web UI login from an htpasswd file whose entries are bcrypt hashes (``htpasswd -B``).

Buildbot's own HTPasswdAuth hands the file to Twisted's FilePasswordDB without a hash
function, which compares the typed password with the stored text as it is (buildbot 4.3,
master/buildbot/www/auth.py): a user who types the password is refused, and whoever reads
the file logs in by typing the hash. Here the entry is verified as a bcrypt hash, with the
maintained `bcrypt` library. Apache's other formats are refused when the master loads its
configuration (one line naming the users): `htpasswd -c` writes apr1 MD5 by default, and
apr1, SHA-1, crypt and plain text are either weak or need an unmaintained library.
"""

from __future__ import annotations

import re
from pathlib import Path

import bcrypt
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import threads
from twisted.python.failure import Failure

from buildbot.www.auth import CustomAuth

# $2y$ is what `htpasswd -B` writes; $2a$/$2b$ are the same scheme from other tools.
BCRYPT = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")
OTHER_FORMATS = {"$apr1$": "apr1 MD5, htpasswd's default", "{SHA}": "SHA-1"}


class HTPasswdError(ValueError):
    """The file cannot be used: unreadable, or an entry that is not a bcrypt hash."""


def read_htpasswd(path: str | Path) -> dict[str, bytes]:
    """user -> bcrypt hash; HTPasswdError (one line) for a file that cannot be used as it is."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HTPasswdError(f"htpasswd file {path}: cannot be read ({exc})") from None
    users, unusable = {}, []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        user, _, stored = line.partition(":")
        if BCRYPT.match(stored):
            users[user] = stored.encode("ascii")
        else:
            kind = next((name for prefix, name in OTHER_FORMATS.items() if stored.startswith(prefix)),
                        "crypt or plain text")
            unusable.append(f"{user!r} ({kind})")
    if unusable:
        raise HTPasswdError(f"htpasswd file {path}: only bcrypt entries are accepted; recreate "
                            f"{', '.join(unusable)} with `htpasswd -B {path} USER`")
    if not users:
        raise HTPasswdError(f"htpasswd file {path}: no users (add one with `htpasswd -B -c {path} USER`)")
    return users


def verify(users: dict[str, bytes], username: str, password: bytes) -> bool:
    stored = users.get(username)
    if stored is None or not password:
        return False
    try:
        return bcrypt.checkpw(password, stored)
    except ValueError:      # bcrypt refuses passwords over 72 bytes: no such password was stored
        return False


class BcryptHTPasswdAuth(CustomAuth):
    """Basic-auth login checked against the file's bcrypt entries.

    The file is checked when the master loads its configuration and read again at each login,
    so a user added with `htpasswd -B` can log in without a restart (and a removed one cannot);
    an entry that becomes unusable meanwhile refuses every login until it is fixed.
    """

    def __init__(self, path: str | Path, **kwargs):
        self.path = Path(path)
        self.usernames = sorted(read_htpasswd(self.path))
        super().__init__(**kwargs)

    def requestAvatarId(self, cred):
        # bcrypt is slow on purpose: off the reactor thread.
        d = threads.deferToThread(self.check_credentials, cred.username, cred.password)
        d.addCallback(lambda ok: cred.username if ok else Failure(UnauthorizedLogin()))
        return d

    def check_credentials(self, username: bytes, password: bytes) -> bool:
        try:
            users = read_htpasswd(self.path)
        except HTPasswdError:
            return False
        return verify(users, username.decode("utf-8", "replace"), password)
