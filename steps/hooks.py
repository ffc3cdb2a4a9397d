"""Where the other faces plug into a master: the PR report (issue 5) and the status dashboard (issue 6).

Each is a module with ``configure(config: dict, builder_names: list[str]) -> None`` that adds
its reporters, services or www plugins to the BuildmasterConfig dict. master/master.cfg calls
apply_master_hooks(); a face whose module or extra is not installed adds nothing.
"""

from __future__ import annotations

from buildbot.reporters.generators.build import BuildStatusGenerator
from buildbot.reporters.message import MessageFormatterEmpty

from ..extensions import import_optional

MASTER_HOOKS = {
    "pr_report": "emscripten_python.github.buildbot",
    "status_dashboard": "emscripten_python.status.buildbot",
}


def apply_master_hooks(config: dict, builder_names: list[str], hooks: dict[str, str] = MASTER_HOOKS) -> list[str]:
    """Returns the hooks that were applied."""
    applied = []
    for purpose, name in hooks.items():
        module = import_optional(name)
        if module is not None:
            module.configure(config, builder_names)
            applied.append(purpose)
    return applied


def finished_builds(builder_names: list[str]) -> list:
    """Report generators for every finished build of these builders, properties included.

    Every ending (exception and cancelled too: results.json is uploaded by an always-run
    step); a retried build is reported by its retry. No message is rendered.
    """
    return [BuildStatusGenerator(builders=list(builder_names), mode="all",
                                 message_formatter=MessageFormatterEmpty(want_properties=True))]
