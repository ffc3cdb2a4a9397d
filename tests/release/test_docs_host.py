""".readthedocs.yaml builds the docs the way they build here, and they build (-W: warnings fail)."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import yaml
from release_support import ROOT, VERSION



def test_the_docs_host_uses_docs_conf_and_the_docs_extra():
    config = yaml.safe_load((ROOT / ".readthedocs.yaml").read_text())
    assert config["version"] == 2
    assert config["sphinx"] == {"configuration": "docs/conf.py", "fail_on_warning": True}
    assert (ROOT / config["sphinx"]["configuration"]).is_file()
    assert config["python"]["install"] == [{"method": "pip", "path": ".", "extra_requirements": ["docs"]}]
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(requirement.startswith("sphinx") for requirement in extras["docs"])
    assert set(config["build"]) == {"os", "tools"} and config["build"]["tools"]["python"]


def test_sphinx_builds_the_docs_with_warnings_as_errors(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(ROOT / "docs"), str(tmp_path / "html")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    assert f"emscripten-python {VERSION}" in (tmp_path / "html" / "index.html").read_text()
