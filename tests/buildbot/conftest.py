"""Warning filters for the Buildbot plugin tests."""


def pytest_configure(config):
    # Deprecations that releases of alembic and Twisted newer than Buildbot 4.3 raise inside
    # Buildbot's own code: theirs to fix, noise here.
    for line in ("ignore:No path_separator found:DeprecationWarning",
                 "ignore:twisted.internet.ssl.ProtocolNegotiationSupport:DeprecationWarning"):
        config.addinivalue_line("filterwarnings", line)
