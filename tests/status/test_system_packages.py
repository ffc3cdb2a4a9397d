"""A missing system package (postgresql, chromium) fails under CI=true and skips elsewhere."""

import pytest

from status_support import require_system


def test_missing_package_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        require_system("/nonexistent/chromium", "chromium")


def test_missing_package_skips_elsewhere(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="install Debian's postgresql"):
        require_system("/nonexistent/initdb", "postgresql")
    require_system("/bin/sh", "dash")   # present: nothing happens
