"""``netgrade check DIR --watch``: grade once, then again on every save, only the programs a save touched.

The watch process keeps netgrade, pytest and the suites imported and grades in-process through
``grading.grade`` with ``Options.programs`` (the path of ``--program``).  File events come from
watchfiles (inotify, grouped: a burst of saves is one re-grade).  A change counts for a program when it
touches the program's file as the submission code locates it, a module of the submission that file
imports (its own folder, followed from module to module), or when locating the programs again gives that
program another file or command (a new alias, a ``netgrade.toml`` edit).  Anything else (notes, editor
swap files, ``__pycache__``, the reports this process writes) re-grades nothing.

After a re-grade the changed checks come first: "fixed" (was not pass, now pass), "broke" (was pass, now
not), then the usual table of the re-graded programs, then the whole submission's score.  The reports
asked for (``--json``, ``--html``...) are written again with the merged result: the latest verdict of
every program.
"""
from __future__ import annotations

import ast
import functools
import os
import sys
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, TextIO

import click

from .grading import BadInput, Options, grade
from .i18n import N_, Msg, translator, word
from .pack import Pack
from .results import CheckResult, Result, total
from .submission import SKIP_DIRS, Located, SubmissionError, locate, open_submission
from .terminal import console, render
from .verdicts import RunStatus, Status

#: watchfiles' grouping: a change is handed over once no other came for STEP_MS (an editor's write, rename
#: and chmod of one save), and at the latest DEBOUNCE_MS after the first of a burst
STEP_MS = 20
DEBOUNCE_MS = 1600
#: how long one wait for events lasts before it returns empty (the first one starts the watch before the
#: first grading, so a save made while it runs is not lost)
WAIT_MS = 250
#: at most this many files are followed through imports from one program's file
MAX_FOLLOWED = 64


# ------------------------------------------------------------------ which programs a change touches

def _imported_modules(path: Path) -> frozenset[str]:
    """The top-level names of the absolute imports in the Python file ``path`` (none when it does not parse:
    a file saved in the middle of an edit); parsed again only when the file changed."""
    try:
        st = path.stat()
    except OSError:
        return frozenset()
    return _imports_of(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=256)
def _imports_of(path: str, mtime_ns: int, size: int) -> frozenset[str]:
    """``_imported_modules`` of ``path`` as it was at (``mtime_ns``, ``size``): a parse costs about 5 ms."""
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return frozenset()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return frozenset(names)


def program_files(root: Path, loc: Located) -> set[str]:
    """What program ``loc`` reads of the submission, as far as its code shows: its file and the modules of
    its folder it imports, module by module (relative POSIX paths; a package as ``name/``)."""
    if loc.file is None:
        return set()
    folder = PurePosixPath(loc.file).parent
    files, todo = {loc.file}, [loc.file]
    while todo and len(files) < MAX_FOLLOWED:
        for name in sorted(_imported_modules(root / todo.pop())):
            module, package = str(folder / f"{name}.py"), str(folder / name) + "/"
            if module not in files and (root / module).is_file():
                files.add(module)
                todo.append(module)
            elif package not in files and (root / package / "__init__.py").is_file():
                files.add(package)
    return files


def _touches(files: set[str], changed: str) -> bool:
    return any(changed == f or (f.endswith("/") and changed.startswith(f)) for f in files)


def affected(changed: Iterable[str], before: dict[str, Located], after: dict[str, Located],
             files: dict[str, set[str]], selected: list[str]) -> dict[str, list[str]]:
    """The selected programs a change of the files ``changed`` (relative POSIX paths) touches, each with the
    changed files that are its own (empty when the program was located again differently)."""
    out: dict[str, list[str]] = {}
    changed = sorted(set(changed))
    for pid in selected:
        old, new = before.get(pid), after.get(pid)
        mine = [c for c in changed if _touches(files.get(pid, set()), c)]
        if mine or old is None or new is None or old.to_dict() != new.to_dict():
            out[pid] = mine
    return out


# ------------------------------------------------------------------ what changed, the merged result

def _checks(result: Result | None) -> dict[tuple[str, str], CheckResult]:
    if result is None:
        return {}
    return {(p.id, c.id): c for p in result.programs for c in p.checks}


def changed_checks(before: Result | None, after: Result) -> tuple[list[tuple[str, CheckResult]],
                                                                   list[tuple[str, CheckResult]]]:
    """(fixed, broke) of ``after``'s checks against ``before``'s: fixed was not pass and now passes, broke
    passed and now does not.  A check ``before`` did not have counts as not passed before."""
    old = _checks(before)
    fixed, broke = [], []
    for p in after.programs:
        for c in p.checks:
            was = old.get((p.id, c.id))
            passed_before = was is not None and was.status == Status.PASS
            if c.status == Status.PASS and not passed_before:
                fixed.append((p.id, c))
            elif c.status != Status.PASS and passed_before:
                broke.append((p.id, c))
    return fixed, broke


def merge(base: Result | None, new: Result, pack: Pack) -> Result:
    """The whole submission's latest result: ``base`` with ``new``'s programs in place of its own, in the
    pack's order; the run's fields (status, time, notices of the run) are ``new``'s, and ``base``'s notices
    about programs that were not graded again are kept."""
    if base is None:
        return new
    fresh = {p.id for p in new.programs}
    programs = {p.id: p for p in base.programs if p.id not in fresh}
    programs.update({p.id: p for p in new.programs})
    order = {pid: i for i, pid in enumerate(pack.programs)}
    merged = replace(new, programs=sorted(programs.values(), key=lambda p: order.get(p.id, len(order))))
    notices, messages = list(new.notices), list(new.notice_messages)
    for i, text in enumerate(base.notices):
        d = base.notice_messages[i] if i < len(base.notice_messages) else {}
        program = (d.get("params") or {}).get("program")
        if program in fresh or d in messages or (not d and text in notices):
            continue
        if program is None and d and base.status == RunStatus.GRADED and new.status == RunStatus.GRADED:
            continue  # a notice of the run itself (the sandbox, the runner): the new run says it again
        notices.append(text)
        messages.append(d)
    merged.notices, merged.notice_messages = notices, messages
    total(merged)
    return merged


# ------------------------------------------------------------------ the watch

class Watch:
    """One ``--watch`` run: ``run()`` grades, then waits for changes until Ctrl-C (KeyboardInterrupt)."""

    def __init__(self, path: str, pack: Pack, opts: Options, lang: str,
                 write_outputs: Callable[[Result], None], verbose: bool = False,
                 ignore: Iterable[str] = (), out: TextIO | None = None) -> None:
        self.path = path
        self.root = Path(path).resolve()
        self.pack = pack
        self.opts = opts
        self.lang = lang
        self._ = translator(lang)
        self.write_outputs = write_outputs
        self.verbose = verbose
        self.selected = list(opts.programs) or list(pack.programs)
        self.ignore = [os.path.realpath(p) for p in ignore if p]
        # pytest captures file descriptor 1 while it runs; this process's own lines go to a copy of it
        self.out = out or _own_stdout()
        #: the whole submission's latest result (None until one is graded)
        self.latest: Result | None = None
        self.located: dict[str, Located] = {}
        self.files: dict[str, set[str]] = {}

    # ---- output
    def say(self, text: str, style: str | None = None) -> None:
        click.secho(text, fg=style, file=self.out)  # plain where the output is no terminal

    def _render(self, result: Result) -> None:
        render(result, out=console(self.out), verbose=self.verbose, lang=self.lang)

    # ---- the submission as it is now
    def _locate(self) -> dict[str, Located]:
        sub = open_submission(self.path)
        try:
            return locate(sub, self.pack, self.opts.run)
        finally:
            sub.cleanup()

    def _remember(self, located: dict[str, Located]) -> None:
        self.located = located
        self.files = {pid: program_files(self.root, loc) for pid, loc in located.items()}

    def _relative(self, path: str) -> str | None:
        try:
            rel = PurePosixPath(Path(path).resolve().relative_to(self.root).as_posix())
        except ValueError:
            return None
        if os.path.realpath(path) in self.ignore or any(part in SKIP_DIRS or part.startswith(".")
                                                       for part in rel.parts[:-1]):
            return None
        return str(rel)

    # ---- grading
    def _grade(self, programs: list[str]) -> Result:
        return grade(self.path, self.pack, replace(self.opts, programs=programs))

    def first(self) -> Result:
        """The first grading, as ``netgrade check`` does it (BadInput goes to the caller: exit 2)."""
        self._remember(self._locate_or_empty())
        result = self._grade(self.selected)
        self.latest = result
        self.write_outputs(result)
        self._render(result)
        return result

    def _locate_or_empty(self) -> dict[str, Located]:
        try:
            return self._locate()
        except SubmissionError:
            return {}  # the grading says why

    def on_change(self, paths: Iterable[str]) -> Result | None:
        """Grade again what ``paths`` (absolute, as watchfiles gives them) touched; None when nothing."""
        changed = {r for r in (self._relative(p) for p in paths) if r is not None}
        if not changed:
            return None
        try:
            located = self._locate()
        except SubmissionError as exc:
            self.say(self._("cannot grade the submission now: {error}", error=str(exc)), "red")
            self.located, self.files = {}, {}  # the next change grades every program
            return None
        if self.latest is None or self.latest.status != RunStatus.GRADED:
            todo = {pid: [] for pid in self.selected} if changed else {}
        else:
            todo = affected(changed, self.located, located, self.files, self.selected)
        if not todo:
            return None
        programs = list(todo)
        why = ", ".join(self._("{program} ({files})", program=pid, files=", ".join(files)) if files else pid
                        for pid, files in todo.items())
        self.say(self._("re-grading {programs}", programs=why), "cyan")
        self._remember(located)
        try:
            result = self._grade(programs)
        except BadInput as exc:
            self.say(self._("cannot grade the submission now: {error}", error=str(exc)), "red")
            return None
        self.report(result)
        return result

    def report(self, result: Result) -> None:
        """The changed checks, the re-graded programs' table, the whole submission's score; the reports."""
        _ = self._
        fixed, broke = changed_checks(self.latest, result)
        for pid, c in fixed:
            self.say(_("fixed: {check} ({title})", check=f"{pid}/{c.id}", title=c.text("title", self.lang)),
                     "green")
        for pid, c in broke:
            self.say(_("broke: {check} ({title}): {status}, {message}", check=f"{pid}/{c.id}",
                       title=c.text("title", self.lang), status=word("status", c.status, self.lang),
                       message=c.text("message", self.lang)), "red")
        if not fixed and not broke:
            self.say(_("no check changed"))
        self._render(result)
        self.latest = merge(self.latest, result, self.pack)
        self.write_outputs(self.latest)
        verdict = (_("all must and should checks passed") if self.latest.all_passed()
                   else _("some checks did not pass"))
        self.say(_("whole submission: score {score:g}/{max:g}: {verdict}", score=self.latest.score,
                   max=self.latest.max_score, verdict=verdict), "green" if self.latest.all_passed() else "red")

    def run(self) -> int:
        """Grade, then watch until interrupted (KeyboardInterrupt, raised to the caller)."""
        from watchfiles import DefaultFilter, watch

        keep = DefaultFilter(ignore_dirs=tuple(sorted(set(DefaultFilter.ignore_dirs) | SKIP_DIRS)),
                             ignore_paths=self.ignore)
        events = watch(self.root, watch_filter=keep, debounce=DEBOUNCE_MS, step=STEP_MS, rust_timeout=WAIT_MS,
                       yield_on_timeout=True, raise_interrupt=True)
        next(events)  # the watch runs from here on: a save during the first grading counts (those before it
        self.first()  # are in it)
        pending: set[str] = set()
        self.say(self._("watching {folder} for changes (Ctrl-C ends it)", folder=str(self.root)))
        for changes in events:
            pending |= {path for _change, path in changes}
            if not pending:
                continue
            paths, pending = pending, set()
            if self.on_change(paths) is not None:
                self.say(self._("watching {folder} for changes (Ctrl-C ends it)", folder=str(self.root)))
        return 0  # pragma: no cover - watchfiles' generator ends only when stopped


def _own_stdout() -> TextIO:
    """Standard output through a descriptor of its own: pytest points descriptor 1 at its capture file while a
    grading runs in this process."""
    try:
        return os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", errors="replace")
    except (AttributeError, OSError, ValueError):  # no descriptor behind it (a test's stream)
        return sys.stdout


def refusal(path: str, runner: str, local: str) -> Msg | None:
    """Why ``--watch`` cannot watch ``path`` with ``runner`` (None when it can)."""
    if runner != local:
        return Msg(N_("--watch grades with the local runner only (not --runner {runner})"), {"runner": runner})
    if not os.path.exists(path):
        return Msg(N_("--watch watches a folder, and there is none at {path}"), {"path": path})
    if not os.path.isdir(path):
        return Msg(N_("--watch watches a folder, and {path} is not one (grade an archive without --watch)"),
                   {"path": path})
    return None
