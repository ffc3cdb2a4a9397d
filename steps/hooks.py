"""Where the other faces plug into a master: the PR report (issue 5) and the status dashboard (issue 6).

Each is a module with ``configure(config: dict, builder_names: list[str]) -> None`` that adds
its reporters, services or www plugins to the BuildmasterConfig dict. master/master.cfg calls
apply_master_hooks(); a face whose module or extra is not installed adds nothing.
"""

from __future__ import annotations

import re

from twisted.internet import defer, threads
from twisted.python import log

from buildbot.reporters.base import ReporterBase
from buildbot.reporters.generators.build import BuildStatusGenerator
from buildbot.reporters.message import MessageFormatterEmpty

from ..extensions import import_optional

MASTER_HOOKS = {
    "pr_report": "emscripten_python.steps.github_report",
    "status_dashboard": "emscripten_python.steps.status_report",
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


class FinishedBuildReporter(ReporterBase):
    """Runs the blocking `handle_build(build)` in a thread for each finished build.

    A face's failure (GitHub down, the store unreachable, a bad file) is logged through
    `log_failure` and never fails the master.
    """

    def handle_build(self, build: dict) -> None:
        raise NotImplementedError

    def log_failure(self, build: dict, exc: Exception) -> None:
        log.err(exc, f"{self.name}: could not handle build {build.get('number')} of "
                     f"{(build.get('builder') or {}).get('name')}")

    @defer.inlineCallbacks
    def sendMessage(self, reports):
        for report in reports:
            for build in report.get("builds", []):
                try:
                    yield threads.deferToThread(self.handle_build, build)
                except Exception as exc:   # noqa: BLE001 - see the class docstring
                    self.log_failure(build, exc)


def build_properties(build: dict) -> dict:
    """Buildbot's {name: (value, source)} properties of a build as {name: value}."""
    return {name: value[0] if isinstance(value, (tuple, list)) and len(value) == 2 else value
            for name, value in (build.get("properties") or {}).items()}


def builder_name(build: dict, properties: dict) -> str | None:
    return (build.get("builder") or {}).get("name") or properties.get("buildername")


_PR_REF = re.compile(r"^refs/pull/(\d+)/")
_PR_URL = re.compile(r"/pull/(\d+)/?$")


def pr_number(properties: dict) -> int | None:
    """The pull request a build built, from its properties; None for a branch build."""
    if match := _PR_REF.match(str(properties.get("branch") or "")):
        return int(match.group(1))
    number = properties.get("github.number")
    if isinstance(number, int) and not isinstance(number, bool) and number > 0:
        return number
    if isinstance(number, str) and number.isdigit():
        return int(number)
    if match := _PR_URL.search(str(properties.get("pullrequesturl") or "")):
        return int(match.group(1))
    return None
