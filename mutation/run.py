"""`make mutation [MODULE=booking/conflicts.py]`: mutation testing of the rule
modules (issue #21) with mutmut, on SQLite, and the score per module.

The modules and the fast tests that cover them are in setup.cfg's [mutmut]
section (`only_mutate`, `pytest_add_cli_args_test_selection`); mutmut runs,
for each mutant, only those of these tests that call the mutated function,
fail-fast. Each run starts afresh in `mutants/` (git-ignored), so the table
is that of the code as it is now. A survivor that no test can kill is listed
in mutation/equivalent.toml with its diff and the reason; an entry whose diff
no longer matches (the module changed) counts as a survivor again, and one
whose mutant is now killed is reported as obsolete.

A run of one module alone uses that module's own settings where setup.cfg
has them (a `[mutmut:instrument_share/stats/rollups.py]` section: its own test
selection): they are written into [mutmut] while mutmut runs and setup.cfg is
put back after.
`--again NAME...` tests those mutants again under the same selection (mutmut
sets every result back to "not checked" when the selection changes);
`--again NAME... --postgres` does it on TEST_DATABASE_URL's PostgreSQL, for
the branches of PostgreSQL that a run on SQLite never takes; `--again NAME...
--afresh` in processes that import the code after the mutant is chosen, for
the functions that only run as their module is imported (a module's
constants).

Score = killed / (mutants − equivalent). Timeouts count as killed, mutants no
selected test reaches ("no tests") as survivors.
"""
from __future__ import annotations

import argparse
import configparser
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / "mutation" / "equivalent.toml"
SETUP = ROOT / "setup.cfg"
MUTMUT = Path(sys.executable).parent / "mutmut"
KILLED = {"killed", "timeout", "caught by type check"}


def configured_modules() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(SETUP)
    return [line.strip() for line in parser.get("mutmut", "only_mutate").splitlines() if line.strip()]


def module_path(name: str, known: list[str]) -> str:
    for candidate in (name, f"instrument_share/{name}"):
        if candidate in known:
            return candidate
    sys.exit(f"{name} is not in setup.cfg's [mutmut] only_mutate ({', '.join(known)}): add it there, "
             "and the fast tests that cover it to pytest_add_cli_args_test_selection")


def own_settings(paths: list[str]) -> dict[str, list[str]]:
    """The options of setup.cfg's [mutmut:MODULE] section (its own test
    selection), for a run of that one module alone (a run of several uses
    [mutmut]'s, as ever)."""
    parser = configparser.ConfigParser()
    parser.read(SETUP)
    if len(paths) != 1 or not parser.has_section(f"mutmut:{paths[0]}"):
        return {}
    return {name: [line.strip() for line in value.splitlines() if line.strip()]
            for name, value in parser.items(f"mutmut:{paths[0]}", raw=True) if name not in parser.defaults()}


@contextlib.contextmanager
def settings(options: dict[str, list[str]]):
    """setup.cfg with these options in [mutmut] while mutmut runs, byte for
    byte as it was afterwards (also after Ctrl-C or a SIGTERM)."""
    if not options:
        yield
        return
    original = SETUP.read_bytes()
    text = original.decode("utf-8")
    start = text.index("\n[mutmut]\n")
    end = text.find("\n[", start + 1)
    section = text[start:end]
    for name, lines in options.items():
        value = (f"{name} = {lines[0]}\n" if len(lines) == 1
                 else f"{name} =\n" + "".join(f"    {line}\n" for line in lines))
        section, count = re.subn(rf"(?m)^{re.escape(name)} =.*\n(?:[ \t]+\S.*\n)*", lambda _, value=value: value, section)
        if not count:  # right after the section's name
            section = section.replace("[mutmut]\n", "[mutmut]\n" + value, 1)
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    SETUP.write_text(text[:start] + section + text[end:], "utf-8")
    try:
        yield
    finally:
        SETUP.write_bytes(original)
        signal.signal(signal.SIGTERM, previous)


def dotted(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _environment(postgres: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("TEST_DATABASE_URL", "REQUIRE_POSTGRES", "REQUIRE_BROWSER"):  # SQLite, fast tests only
        if not (postgres and name == "TEST_DATABASE_URL"):
            env.pop(name, None)
    return env


def mutmut(*args: str, capture: bool = False, postgres: bool = False) -> str:
    done = subprocess.run([str(MUTMUT), *args], cwd=ROOT, env=_environment(postgres), text=True,
                          stdout=subprocess.PIPE if capture else None)
    if done.returncode:
        sys.exit(f"mutmut {' '.join(args)} failed ({done.returncode})")
    return done.stdout or ""


def mutmut_run(jobs: int, paths: list[str]) -> None:
    """`mutmut run` afresh, its progress shown; its closing list of every
    mutant's result goes to mutants/run.log only (the table says it shorter)."""
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    (ROOT / "mutants").mkdir()
    args = ["run", "--max-children", str(jobs), *(f"{dotted(path)}.*" for path in paths)]
    shown = b""
    with open(ROOT / "mutants" / "run.log", "wb") as log, subprocess.Popen(
            [str(MUTMUT), *args], cwd=ROOT, env=_environment(), stdout=subprocess.PIPE) as run:
        while chunk := run.stdout.read1(4096):
            log.write(chunk)
            if b"Mutant results" not in shown:
                shown = (shown + chunk)[-64:]
                sys.stdout.buffer.write(chunk.split(b"Mutant results")[0])
                sys.stdout.flush()
    if run.returncode:
        sys.exit(f"mutmut run failed ({run.returncode}): see mutants/run.log")


def changed_lines(diff: str) -> list[str]:
    """A diff's removed and added lines, blanks collapsed."""
    return [line[0] + " ".join(line[1:].split()) for line in diff.splitlines()
            if line[:1] in ("+", "-") and not line.startswith(("+++", "---"))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="e.g. booking/conflicts.py (default: every configured one)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--report", action="store_true",
                        help="only print the table of the results in mutants/ (after the last run, and any "
                             "`mutmut run NAME...` since, which tests those mutants again with the tests as they are now)")
    parser.add_argument("--again", nargs="+", metavar="NAME",
                        help="test these mutants of the last run again (`mutmut run NAME...`, under their module's "
                             "own test selection if it has one), then print their module's table")
    parser.add_argument("--afresh", action="store_true",
                        help="with --again: each mutant's process imports the code itself (forkserver_warmup = "
                             "none), for mutants of what runs as a module is imported, which a process forked "
                             "after the import never runs")
    parser.add_argument("--postgres", action="store_true",
                        help="with --again: on the PostgreSQL of TEST_DATABASE_URL, for mutants of branches "
                             "a run on SQLite never takes")
    args = parser.parse_args()
    known = configured_modules()
    if args.postgres and not (args.again and os.environ.get("TEST_DATABASE_URL")):
        sys.exit("--postgres goes with --again NAME... and a TEST_DATABASE_URL")
    if args.afresh and not args.again:
        sys.exit("--afresh goes with --again NAME...")
    if args.again:
        args.modules = sorted({path for path in known for name in args.again if name.startswith(f"{dotted(path)}.")})
    paths = [module_path(name, known) for name in args.modules] or known

    started = time.monotonic()
    options = own_settings(paths)
    if args.afresh:
        options["forkserver_warmup"] = ["none"]
    with settings(options):
        if args.again:
            mutmut("run", "--max-children", str(args.jobs), *args.again, postgres=args.postgres)
        elif not args.report:
            mutmut_run(args.jobs, paths)
        minutes, seconds = divmod(round(time.monotonic() - started), 60)

        status = {}
        for line in mutmut("results", "--all", "true", capture=True).splitlines():
            name, _, result = line.strip().rpartition(": ")
            if name:
                status[name] = result
    listed = {entry["mutant"]: entry for entry in tomllib.loads(EQUIVALENT.read_text("utf-8"))["equivalent"]}

    rows, survivors, notes = [], [], []
    for path in paths:
        prefix = f"{dotted(path)}."
        mine = {name: result for name, result in status.items() if name.startswith(prefix)}
        counts = Counter()
        for name, result in sorted(mine.items()):
            if result in KILLED:
                counts["killed"] += 1
                if name in listed:
                    notes.append(f"{name} is killed now: remove it from {EQUIVALENT.name}")
            elif result in ("survived", "no tests"):
                diff = mutmut("show", name, capture=True)
                entry = listed.get(name)
                if entry and changed_lines(entry["diff"]) == changed_lines(diff):
                    counts["equivalent"] += 1
                    continue
                if entry:
                    notes.append(f"{name}: its diff changed since it was listed as equivalent; check it again")
                counts["survived"] += 1
                survivors.append(diff.rstrip())
            else:  # suspicious, segfault, skipped, not checked, interrupted
                counts["other"] += 1
                survivors.append(f"# {name}: {result}")
        tested = len(mine) - counts["equivalent"]
        score = f"{100 * counts['killed'] / tested:.1f}%" if tested else "–"
        rows.append(f"| {path} | {len(mine)} | {counts['killed']} | {counts['survived']} | "
                    f"{counts['equivalent']} | {counts['other']} | {score} |")

    for name in sorted(set(listed) - set(status)):
        if any(name.startswith(f"{dotted(path)}.") for path in paths):
            notes.append(f"{name} is listed as equivalent but no longer exists: remove it")
    if survivors:
        print("\nSurvivors (kill them with a test, or list them in mutation/equivalent.toml with the reason):\n")
        print("\n\n".join(survivors))
    for note in notes:
        print("note:", note)
    print("\n| module | mutants | killed | survived | equivalent | other | score |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))
    took = ("results of the last run in mutants/" if args.report or args.again
            else f"{minutes} min {seconds} s, {args.jobs} at a time")
    print(f"\n{took}; `.venv/bin/mutmut show NAME` shows a mutant, `.venv/bin/mutmut browse` all of them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
