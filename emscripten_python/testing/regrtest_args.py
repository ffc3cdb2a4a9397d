"""regrtest's argument list, read with the rules regrtest itself reads it by.

regrtest parses `-m test ARGS` with argparse (Lib/test/libregrtest/cmdline.py: `_create_parser`,
`_parse_args`, as shipped with Debian's 3.11.2 for the `-w/--verbose2` era, pyenv's 3.11.7,
3.12.1 and 3.13.0; 3.14 adds --parallel-threads, python/cpython gh-127933). So does the runner,
token by token, from a table of every option of the era:

- combined short flags: `-vq` is `-v -q`; a short option taking a value takes the rest of the
  token (`-uall`, `-vj2`); `-x=value` for a value option;
- long options abbreviated to any unique prefix (`--qui`, `--rer`; argparse's default
  allow_abbrev, which regrtest keeps); an ambiguous one (`--ver`) is refused, as regrtest does;
- an option taking a value takes the next token even when it looks like a test name, and never
  an option (`-m -q` is refused, as regrtest does); a negative number is a value (`-j -1`);
- `--` would end the options, but regrtest refuses it (it stays among the test names, and a
  test name starting with `-` is an error): so does the runner;
- a token regrtest does not know is passed on untouched (a later regrtest may know it).

What a token means is decided here once; the runner and the pipeline ask `read_args` (the
effective settings) or `without` (the list with some settings taken out, e.g. `--rerun`
inside `-vw`). tests/unit/test_regrtest_args.py checks the reading against the real
`test.libregrtest.cmdline._parse_args` of every CPython on the machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import TestRunError

FLAG, COUNT, VALUE, APPEND, CONST = "flag", "count", "value", "append", "const"
TAKES_VALUE = {VALUE, APPEND}


@dataclass(frozen=True)
class Option:
    strings: tuple[str, ...]
    dest: str
    kind: str


def _table(*rows: tuple[str, str, str]) -> tuple[Option, ...]:
    """Rows of ("-v --verbose", dest, kind)."""
    return tuple(Option(tuple(strings.split()), dest, kind) for strings, dest, kind in rows)


# Options common to every era since 3.11 (3.11.0's cmdline.py).
_BASE = (
    ("-h --help", "help", FLAG), ("--timeout", "timeout", VALUE), ("--wait", "wait", FLAG),
    ("-S --start", "start", VALUE), ("-p --python", "python", VALUE), ("--randseed", "random_seed", VALUE),
    ("-v --verbose", "verbose", COUNT), ("-W --verbose3", "verbose3", FLAG), ("-q --quiet", "quiet", FLAG),
    ("-o --slowest", "print_slow", FLAG), ("--header", "header", FLAG), ("-r --randomize", "randomize", FLAG),
    ("-f --fromfile", "fromfile", VALUE), ("-x --exclude", "exclude", FLAG), ("-s --single", "single", FLAG),
    ("-G --failfast", "failfast", FLAG), ("-u --use", "use", APPEND), ("-M --memlimit", "memlimit", VALUE),
    ("--testdir", "testdir", VALUE), ("-L --runleaks", "runleaks", FLAG), ("-R --huntrleaks", "huntrleaks", VALUE),
    ("-j --multiprocess", "use_mp", VALUE), ("-T --coverage", "trace", FLAG), ("-D --coverdir", "coverdir", VALUE),
    ("-N --nocoverdir", "coverdir", CONST), ("-t --threshold", "threshold", VALUE), ("-n --nowindows", "nowindows", FLAG),
    ("-F --forever", "forever", FLAG), ("--list-tests", "list_tests", FLAG), ("--list-cases", "list_cases", FLAG),
    ("-P --pgo", "pgo", FLAG), ("--pgo-extended", "pgo_extended", FLAG), ("--fail-env-changed", "fail_env_changed", FLAG),
    ("--junit-xml", "xmlpath", VALUE), ("--tempdir", "tempdir", VALUE), ("--cleanup", "cleanup", FLAG),
)
# Options whose value regrtest converts at once (argparse type=int / float): a bad one is a usage error.
_INT_DESTS = {"use_mp", "random_seed", "threshold", "parallel_threads"}
# Where several options feed one setting, they share a dest here: match_tests is -m and -i
# (patterns; their files are match_file), rerun is -w, --rerun and --verbose2.
# 3.11.0-3.11.6: -w/--verbose2 re-runs failed files in the same process; -m/-i are lists of
# their own; --worker-args is the -j worker's.
OLD_311 = _table(*_BASE, ("--worker-args", "worker_args", VALUE), ("-w --verbose2", "rerun", FLAG),
                 ("-m --match", "match_tests", APPEND), ("-i --ignore", "match_tests", APPEND),
                 ("--matchfile", "match_file", VALUE), ("--ignorefile", "match_file", VALUE))
# 3.11.7+ and 3.12 (gh-108834): -w/--rerun (--verbose2 an alias) re-runs in worker processes;
# -m/-i/--matchfile/--ignorefile all feed one filter list; the CI modes.
NEW_312 = _table(*_BASE, ("--fast-ci", "fast_ci", FLAG), ("--slow-ci", "slow_ci", FLAG),
                 ("-w --rerun", "rerun", FLAG), ("--verbose2", "rerun", FLAG),
                 ("-m --match", "match_tests", APPEND), ("-i --ignore", "match_tests", APPEND),
                 ("--matchfile", "match_file", APPEND), ("--ignorefile", "match_file", APPEND),
                 ("--fail-rerun", "fail_rerun", FLAG), ("--dont-add-python-opts", "_add_python_opts", FLAG))
# 3.13: --single-process (re-runs stay in the process, whole files), --tsan, --bisect.
NEW_313 = NEW_312 + _table(("--single-process", "single_process", FLAG), ("--tsan", "tsan", FLAG),
                           ("--bisect", "bisect", FLAG))
# 3.14: --parallel-threads N (gh-127933), --tsan-parallel, --no-randomize, --prioritize
# (append) and --pythoninfo, as Debian sid's 3.14.10 and 3.15.2 declare them
# (Lib/test/libregrtest/cmdline.py). They matter here for abbreviations: `--pyth` is
# ambiguous there (--python, --pythoninfo), `--no` means --no-randomize.
NEW_314 = NEW_313 + _table(("--parallel-threads", "parallel_threads", VALUE), ("--tsan-parallel", "tsan_parallel", FLAG),
                           ("--no-randomize", "no_randomize", FLAG), ("--prioritize", "prioritize", APPEND),
                           ("--pythoninfo", "pythoninfo", FLAG))


def era_table(version: str | None) -> tuple[Option, ...]:
    """The option table of a CPython version ("3.13.15", "3.15.0a0"); the newest when unknown."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version or "")
    if not match:
        return NEW_314
    major_minor = (int(match.group(1)), int(match.group(2)))
    micro = int(match.group(3) or 0)
    if major_minor < (3, 11) or (major_minor == (3, 11) and micro < 7):
        return OLD_311
    if major_minor < (3, 13):
        return NEW_312
    return NEW_313 if major_minor == (3, 13) else NEW_314


@dataclass(frozen=True)
class Use:
    """One option as regrtest reads it: `string` as written in full (`--rerun` for `--rer`)."""

    option: Option
    string: str
    value: str | None = None


@dataclass
class Item:
    """args[start:end] and what they mean: options (several for `-vq`), or nothing (a test
    name, an unknown option, anything after `--`), passed on as written."""

    start: int
    end: int
    uses: list[Use] = field(default_factory=list)
    cluster: bool = False        # one token of short options, e.g. "-vWuall"


_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")


class _Reader:
    def __init__(self, table: tuple[Option, ...]):
        self.by_string = {string: option for option in table for string in option.strings}

    def candidates(self, token: str) -> list[tuple[Option, str, str | None]]:
        """argparse's _get_option_tuples: what an unknown-as-written option token could be."""
        found = []
        if token.startswith("--"):
            prefix, _, explicit = token.partition("=")
            explicit = explicit if "=" in token else None
            for string, option in self.by_string.items():
                if string.startswith(prefix):
                    found.append((option, string, explicit))
        else:
            for string, option in self.by_string.items():
                if string == token[:2]:
                    found.append((option, string, token[2:]))
                elif string.startswith(token):
                    found.append((option, string, None))
        return found

    def optional(self, token: str) -> tuple[Option | None, str, str | None] | None:
        """argparse's _parse_optional: None for an argument; (None, token, None) for an unknown
        option; else (option, its string, the value written in the token)."""
        if not token or token[0] != "-":
            return None
        if token in self.by_string:
            return self.by_string[token], token, None
        if len(token) == 1:
            return None
        if "=" in token:
            string, _, explicit = token.partition("=")
            if string in self.by_string:
                return self.by_string[string], string, explicit
        found = self.candidates(token)
        if len(found) > 1:
            names = ", ".join(string for _, string, _ in found)
            raise TestRunError(f"regrtest argument {token!r} is ambiguous: it could be {names}")
        if found:
            return found[0]
        if _NEGATIVE_NUMBER.match(token) or " " in token:
            return None
        return None, token, None

    def read(self, args: list[str]) -> list[Item]:
        # Which tokens are options ("O") and which are arguments ("A"), decided for all tokens
        # first, as argparse does: a value option takes the next token only if it is an "A".
        kinds, parsed, rest = [], [], False
        for token in args:
            if rest:
                kinds.append("A")
                parsed.append(None)
            elif token == "--":
                # argparse leaves it among the test names, and regrtest refuses any such name
                # starting with "-" ("unrecognized arguments: --").
                raise TestRunError("regrtest refuses `--` among its arguments (unrecognized arguments: --)")
            else:
                found = self.optional(token)
                kinds.append("A" if found is None else "O")
                parsed.append(found)
        items: list[Item] = []
        index = 0
        while index < len(args):
            found = parsed[index]
            if kinds[index] != "O" or found[0] is None:
                items.append(Item(index, index + 1))
                index += 1
                continue
            option, string, explicit = found
            item = Item(index, index + 1, cluster=explicit is not None and not string.startswith("--"))
            while True:
                if explicit is not None:
                    if option.kind not in TAKES_VALUE and not string.startswith("--") and explicit != "":
                        # "-vq": -v, then -q from the rest of the token
                        item.uses.append(Use(option, string))
                        string, explicit = "-" + explicit[0], explicit[1:] or None
                        if string not in self.by_string:
                            raise TestRunError(f"regrtest argument {args[index]!r}: {string} is not an option "
                                               "of this regrtest (regrtest refuses it)")
                        option = self.by_string[string]
                        continue
                    if option.kind in TAKES_VALUE:
                        item.uses.append(Use(option, string, explicit))
                        break
                    raise TestRunError(f"regrtest argument {args[index]!r}: {string} takes no value "
                                       "(regrtest refuses it)")
                if option.kind in TAKES_VALUE:
                    if index + 1 >= len(args) or kinds[index + 1] != "A":
                        raise TestRunError(f"regrtest argument {string} expects a value (regrtest refuses it "
                                           "without one)")
                    item.uses.append(Use(option, string, args[index + 1]))
                    item.end = index + 2
                else:
                    item.uses.append(Use(option, string))
                break
            items.append(item)
            index = item.end
        return items


@dataclass(frozen=True)
class RegrtestArgs:
    """The settings the runner depends on, as regrtest's _parse_args leaves them."""

    quiet: bool = False
    verbose: int = 0
    rerun: bool = False            # failed files are re-run (--rerun, -w, --verbose2, --fast-ci, ...)
    verbose3: bool = False         # -W: output held back until a file fails
    single_process: bool = False   # 3.13+: re-runs stay in the process, whole files
    use_mp: int | None = None
    fail_env_changed: bool = False
    python: str | None = None
    match_tests: tuple[tuple[str, bool], ...] = ()     # (pattern, True: -m / False: -i), in order
    positional: tuple[str, ...] = ()
    old_rerun: bool = False        # 3.11.0-3.11.6: re-run in the same process, -m extended


def read_items(args: list[str], version: str | None = None) -> list[Item]:
    return _Reader(era_table(version)).read(list(args))


def read_args(args: list[str], version: str | None = None) -> RegrtestArgs:
    """regrtest's reading of `args` (for CPython `version`): TestRunError where regrtest would
    refuse them with a usage error."""
    table = era_table(version)
    old = table is OLD_311
    values: dict[str, object] = {"verbose": 0, "match_tests": [], "use": []}
    positional = []
    for item in _Reader(table).read(list(args)):
        if not item.uses:
            positional += args[item.start:item.end]
            continue
        for use in item.uses:
            dest, kind = use.option.dest, use.option.kind
            if dest in _INT_DESTS or (dest == "timeout" and old):      # argparse type=int / float
                _number(use.string, use.value, int if dest in _INT_DESTS else float)
            if kind == COUNT:
                values[dest] = int(values.get(dest) or 0) + 1
            elif kind == FLAG:
                values[dest] = True
            elif kind == CONST:
                values[dest] = None
            elif dest == "match_tests":
                values[dest].append((use.value, not use.string.startswith(("-i", "--ignore"))))
            elif kind == APPEND:
                values.setdefault(dest, []).append(use.value)
            else:
                values[dest] = use.value
    timeout = values.get("timeout")
    if not old and timeout:        # 3.12+: the last --timeout, converted after parsing ("" is none)
        _number("--timeout", timeout, float)
    ci = bool(values.get("fast_ci") or values.get("slow_ci"))
    python = values.get("python")
    use_mp = None if values.get("use_mp") is None else int(values["use_mp"])
    if ci and use_mp is None:
        use_mp = 0
    if values.get("single_process"):
        use_mp = None
    # The CI modes imply -W; from 3.14 not with -v ("--verbose has the priority over
    # --verbose3", sid's 3.14.10 cmdline.py; 3.13.0 and trixie's 3.13.5 set it regardless).
    verbose3 = bool(values.get("verbose3") or (ci and not (table is NEW_314 and values["verbose"])))
    # The usage errors _parse_args raises after parsing (in its order).
    refused = [(values.get("single") and values.get("fromfile"), "-s and -f don't go together"),
               (values.get("trace") and use_mp is not None, "-T and -j don't go together (release builds)"),
               (python is not None and use_mp is None, "-p requires -j"),
               (values.get("failfast") and not (values["verbose"] or verbose3), "-G/--failfast needs either -v or -W"),
               (values.get("pgo") and (values["verbose"] or values.get("rerun") or verbose3), "--pgo/-v don't go together")]
    for wrong, message in refused:
        if wrong:
            raise TestRunError(f"regrtest arguments {' '.join(args)!r}: {message} (regrtest refuses them)")
    return RegrtestArgs(
        quiet=bool(values.get("quiet")), verbose=0 if values.get("quiet") else int(values["verbose"]),
        # regrtest: "Re-running failed tests is not supported with --python host runner option."
        rerun=bool(values.get("rerun") or ci) and python is None,
        verbose3=verbose3 and not (values.get("huntrleaks") and use_mp is None),
        single_process=bool(values.get("single_process")), use_mp=use_mp,
        fail_env_changed=bool(values.get("fail_env_changed") or ci), python=python,
        match_tests=tuple(values["match_tests"]), positional=tuple(positional), old_rerun=old)


def _number(string: str, value: str, kind: type) -> None:
    try:
        kind(value)
    except ValueError:
        raise TestRunError(f"regrtest argument {string} {value!r}: not a number (regrtest refuses it)") from None


def without(args: list[str], dests: set[str], version: str | None = None) -> tuple[list[str], list[str], int | None]:
    """`args` without the options whose dest is in `dests`, every other token as written.

    Returns (the rest, the removed options as written in full, the index in the rest where the
    first removed option was). One flag inside a combined token goes alone: `-vW` -> `-v`.
    """
    kept: list[str] = []
    removed: list[str] = []
    first: int | None = None
    for item in read_items(args, version):
        gone = [use for use in item.uses if use.option.dest in dests]
        if not gone:
            kept += args[item.start:item.end]
            continue
        first = len(kept) if first is None else first
        removed += [use.string if use.value is None else f"{use.string} {use.value}" for use in gone]
        rest = [use for use in item.uses if use.option.dest not in dests]
        if rest and item.cluster:
            # the kept short options of the token, in order; only the last one can take a value
            kept.append("-" + "".join(use.string[1] for use in rest))
            kept += [rest[-1].value] if rest[-1].value is not None else []
    return kept, removed, first
