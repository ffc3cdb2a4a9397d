"""A configure re-run in an existing build directory gives its unchanged outputs their mtimes back.

A next commit is a new source fingerprint, so both configures run again in the build
directory the last commit left (seeded from the carried config.cache, see buildcache). The
answers are mostly the same, but configure writes its outputs again: config.status makes
every AC_CONFIG_FILES file anew (only AC_CONFIG_HEADERS, pyconfig.h, is left alone when its
content is the same: "pyconfig.h is unchanged"), and configure.ac's last lines run
Modules/makesetup, which writes Makefile and Modules/config.c. In CPython's Makefile every
built-in module's object depends on Modules/config.c ($(MODULE_DEPS_STATIC), and the
shared modules' $(MODULE_DEPS_SHARED) includes it) and a few objects and the wasm stdlib on
Makefile, so a one-line C change recompiled ~330 objects and rebuilt the stdlib archive
(benchmarks/fleet.py measured that commit's build at 0.545 of a cold one).

So before configure runs, the outputs' content hash and mtime are taken; after it succeeded,
each output whose content is byte-identical gets its old mtime back, unless that would make
it older than one of its own prerequisites in the Makefile's rules. That condition is what
keeps make from remaking anything by itself afterwards: a restored file is at least as new as
everything its rule depends on, as make left it after the last build. An output whose
content changed keeps its new mtime, so what depends on it rebuilds; so does every output
whose prerequisite is newer than its old mtime (a commit that touches configure: config.status
must stay newer than configure or make runs configure again itself, and Makefile.pre,
Makefile and Modules/config.c follow it, as when make re-runs configure in CPython's own
recipe). An output the table below does not name keeps its new mtime.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..results.artifacts import sha256_of

SRCDIR = "$(srcdir)/"

# makesetup's inputs: Makefile.pre.in, rule "Makefile Modules/config.c: Makefile.pre
# $(srcdir)/Modules/config.c.in $(MAKESETUP) $(srcdir)/Modules/Setup Modules/Setup.local
# Modules/Setup.bootstrap Modules/Setup.stdlib" (MAKESETUP= $(srcdir)/Modules/makesetup).
_MAKESETUP_INPUTS = ("Makefile.pre", "$(srcdir)/Modules/config.c.in", "$(srcdir)/Modules/makesetup",
                     "$(srcdir)/Modules/Setup", "Modules/Setup.local", "Modules/Setup.bootstrap",
                     "Modules/Setup.stdlib")

# configure's outputs in the build directory and what each is made from, in the order they
# are made (a file's prerequisites come before it). From CPython 3.13.15's Makefile.pre.in
# (the same rules since 3.11, when Modules/Setup.bootstrap and Setup.stdlib came in) and
# configure.ac (AC_CONFIG_FILES, then makesetup):
#   config.status:   $(srcdir)/configure                          ("config.status: $(srcdir)/configure")
#   Makefile.pre:    $(srcdir)/Makefile.pre.in config.status      ("Makefile.pre: ...", by config.status)
#   Modules/Setup.bootstrap, Modules/Setup.stdlib: their .in and config.status (rules of the same names)
#   Modules/Setup.local: no prerequisite (made only when missing; configure leaves it alone)
#   Makefile, Modules/config.c: _MAKESETUP_INPUTS
# The other AC_CONFIG_FILES outputs have no rule that makes them (Misc/python-config.sh is a
# prerequisite of python-config); they are held to the same order as if config.status had
# one: their .in file and config.status. pyconfig.h is not here: config.status itself keeps
# its mtime when its content is the same, and changes it when not.
RULES: dict[str, tuple[str, ...]] = {
    "config.status": ("$(srcdir)/configure",),
    "Makefile.pre": ("$(srcdir)/Makefile.pre.in", "config.status"),
    "Modules/Setup.bootstrap": ("$(srcdir)/Modules/Setup.bootstrap.in", "config.status"),
    "Modules/Setup.stdlib": ("$(srcdir)/Modules/Setup.stdlib.in", "config.status"),
    "Modules/Setup.local": (),
    "Makefile": _MAKESETUP_INPUTS,
    "Modules/config.c": _MAKESETUP_INPUTS,
    "Misc/python.pc": ("$(srcdir)/Misc/python.pc.in", "config.status"),
    "Misc/python-embed.pc": ("$(srcdir)/Misc/python-embed.pc.in", "config.status"),
    "Misc/python-config.sh": ("$(srcdir)/Misc/python-config.sh.in", "config.status"),
    "Modules/ld_so_aix": ("$(srcdir)/Modules/ld_so_aix.in", "config.status"),
}


@dataclass(frozen=True)
class _Before:
    sha256: str
    mtime_ns: int


class ConfigureOutputs:
    """configure's outputs in `build_dir` (the directory of config.status), `srcdir` the tree."""

    def __init__(self, build_dir: Path, srcdir: Path):
        """Made before configure runs: the content hash and mtime of each output there is
        (none on a first build)."""
        self.build_dir, self.srcdir = Path(build_dir), Path(srcdir)
        self.before: dict[str, _Before] = {}
        for name in RULES:
            path = self._path(name)
            if path.is_file():
                self.before[name] = _Before(sha256_of(path), path.stat().st_mtime_ns)

    def _path(self, name: str) -> Path:
        return self.srcdir / name[len(SRCDIR):] if name.startswith(SRCDIR) else self.build_dir / name

    def restore(self) -> dict[str, list[str]]:
        """After configure succeeded: unchanged outputs get their old mtime back (see the module doc).

        Returns the outputs by what happened to them: "restored", "changed" (content differs),
        "newer_input" (same content, but a prerequisite is newer than its old mtime).
        """
        done: dict[str, list[str]] = {"restored": [], "changed": [], "newer_input": []}
        for name, inputs in RULES.items():
            old, path = self.before.get(name), self._path(name)
            if old is None or not path.is_file():
                continue
            now = path.stat()
            if now.st_mtime_ns == old.mtime_ns:
                continue                        # not written (Modules/Setup.local)
            if sha256_of(path) != old.sha256:
                done["changed"].append(name)
                continue
            # Restored files count with their old mtime: RULES is in the order the files are made.
            newest = max((p.stat().st_mtime_ns for p in map(self._path, inputs) if p.exists()), default=0)
            if newest > old.mtime_ns:
                done["newer_input"].append(name)
                continue
            os.utime(path, ns=(now.st_atime_ns, old.mtime_ns))
            done["restored"].append(name)
        return done


def describe(step_name: str, done: dict[str, list[str]]) -> str:
    """One log line for a restore()."""
    parts = [f"{len(done['restored'])} unchanged output(s) keep their mtime"]
    if done["changed"]:
        parts.append(f"changed (dependents rebuild): {', '.join(done['changed'])}")
    if done["newer_input"]:
        parts.append(f"unchanged but newer than an input's change, kept new: {', '.join(done['newer_input'])}")
    return f"{step_name}: {'; '.join(parts)}"
