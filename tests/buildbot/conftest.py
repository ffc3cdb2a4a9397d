"""Warning filters and shared fixtures for the Buildbot plugin tests."""

import pytest


def pytest_configure(config):
    # Deprecations that releases of alembic and Twisted newer than Buildbot 4.3 raise inside
    # Buildbot's own code: theirs to fix, noise here.
    for line in ("ignore:No path_separator found:DeprecationWarning",
                 "ignore:twisted.internet.ssl.ProtocolNegotiationSupport:DeprecationWarning"):
        config.addinivalue_line("filterwarnings", line)


@pytest.fixture
def synchronous_threads(monkeypatch):
    """The hook reporters run their work with deferToThread; here it runs inline, without a reactor."""
    from twisted.internet import defer

    from emscripten_python.steps import hooks
    monkeypatch.setattr(hooks.threads, "deferToThread",
                        lambda f, *args, **kwargs: defer.maybeDeferred(f, *args, **kwargs))

