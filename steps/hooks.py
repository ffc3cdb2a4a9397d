"""Where the other faces plug into a master: the PR report (issue 5) and the status dashboard (issue 6).

Each is a module with ``configure(config: dict, builder_names: list[str]) -> None`` that adds
its reporters, services or www plugins to the BuildmasterConfig dict. master/master.cfg calls
apply_master_hooks(); a face whose module or extra is not installed adds nothing.
"""

from __future__ import annotations

import importlib

MASTER_HOOKS = {
    "pr_report": "emscripten_python.github.buildbot",
    "status_dashboard": "emscripten_python.status.buildbot",
}


def apply_master_hooks(config: dict, builder_names: list[str], hooks: dict[str, str] = MASTER_HOOKS) -> list[str]:
    """Returns the hooks that were applied."""
    applied = []
    for purpose, name in hooks.items():
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            # Not installed (the module, or its extra) is fine; a broken import of ours is a bug.
            if exc.name and not name.startswith(exc.name) and exc.name.split(".")[0] == "emscripten_python":
                raise
            continue
        module.configure(config, builder_names)
        applied.append(purpose)
    return applied
