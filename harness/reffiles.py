"""Our reference programs as files: where they are, what an exported copy holds, how one is started.

The references are course content (``netgrade.reference``, the ``reference/``
folder): the engine finds them by name and reads their files, it never
imports them.  Each runs the way a student's program runs: a standalone file
in a folder that also holds the codecs it imports (``tftp_codec.py``,
``framing_codec.py``, ``tftp_transfer.py``: copies of :mod:`netgrade.protocols`), with Python's
standard library alone.  :func:`exported` makes such a folder once per
version of the files; :func:`command` is a reference's command line in it.
A reference may declare ``PACK_OPTIONS = {"expect key": "--flag"}``: the
pack's values it takes on its command line (read from the source, as a
literal).
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

PACKAGE = "netgrade.reference"
#: codec files an exported reference imports, written beside it: {file name: netgrade's module}
HELPERS = {"tftp_codec.py": "netgrade.protocols.tftp", "framing_codec.py": "netgrade.protocols.framing",
           "tftp_transfer.py": "netgrade.protocols.tftp_transfer"}


def source_folder() -> Path:
    """The folder of the reference programs (found by name: the engine does not import them)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("netgrade's reference programs are not installed")
    return Path(list(spec.submodule_search_locations)[0])


def file_name(program_id: str) -> str:
    return program_id.replace("-", "_") + ".py"


def source_path(program_id: str) -> Path:
    return source_folder() / file_name(program_id)


def available(program_id: str) -> bool:
    return source_path(program_id).is_file()


def _module_file(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{module} is not installed")
    return Path(spec.origin)


def helpers(program_id: str) -> dict[str, Path]:
    """The codec files (name -> source) that reference ``program_id`` needs to run on its own."""
    text = source_path(program_id).read_text("utf-8")
    return {name: _module_file(module) for name, module in HELPERS.items()
            if f"import {name[:-3]}" in text or f"from {name[:-3]} import" in text}


def export_files() -> dict[str, Path]:
    """Every file of an exported folder: {file name: source}, each reference and the codecs they import."""
    files: dict[str, Path] = {}
    for src in sorted(source_folder().glob("*.py")):
        if src.name != "__init__.py":
            files[src.name] = src
            files.update(helpers(src.stem.replace("_", "-")))
    return files


@functools.lru_cache(maxsize=8)
def exported(cache: str | os.PathLike) -> Path:
    """A folder under ``cache`` holding every reference as a standalone file (see :func:`export_files`).

    Its name is a hash of the files, so a changed reference gets a new folder; it is made once,
    atomically (filled beside it, then renamed), and readable by every user: the grader may run
    references under other user ids.
    """
    files = export_files()
    h = hashlib.sha256()
    for name, src in files.items():
        h.update(name.encode() + b"\0" + src.read_bytes() + b"\0")
    target = Path(cache) / f"references-{h.hexdigest()[:12]}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".references-", dir=target.parent))
    try:
        for name, src in files.items():
            shutil.copyfile(src, tmp / name)
            os.chmod(tmp / name, 0o644)
        os.chmod(tmp, 0o755)
        os.rename(tmp, target)  # concurrent makers: the first one's folder stays
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not target.is_dir():
            raise
    return target


@functools.lru_cache(maxsize=None)
def _declared_options(program_id: str) -> dict[str, str]:
    tree = ast.parse(source_path(program_id).read_bytes())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "PACK_OPTIONS"
                                                for t in node.targets):
            return dict(ast.literal_eval(node.value))
    return {}


def pack_options(program) -> list[str]:
    """Command-line options that make a reference follow the pack's values (port, texts)."""
    opts = ["--port", str(program.port)]
    for key, flag in _declared_options(program.id).items():
        if key in program.expect:
            opts += [flag, str(program.expect[key])]
    return opts


def command(program, python: str, folder: str | os.PathLike) -> list[str]:
    """Reference ``program.id``'s command line: its file in ``folder`` (an :func:`exported` folder) run by
    ``python``, with the pack's options."""
    return [python, str(Path(folder) / file_name(program.id)), *pack_options(program)]
