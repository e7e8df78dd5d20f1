"""Reference programs: one module per program of the sheet.

Each module is a complete, commented program that meets every must and should
line of its part of the sheet.  Run one with ``netgrade reference run ID`` or
``python -m reference.<module>``; without arguments each behaves exactly as the
sheet says (fixed port, prompts on stdin), like a student's program would.
Options (``--port``, texts the pack may change) exist so the grader can run
them under an instructor's pack.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path


def module_name(program_id: str) -> str:
    return "reference." + program_id.replace("-", "_")


def available(program_id: str) -> bool:
    return (Path(__file__).parent / (program_id.replace("-", "_") + ".py")).is_file()


def source_path(program_id: str) -> Path:
    return Path(__file__).parent / (program_id.replace("-", "_") + ".py")


#: helper modules an exported reference imports, written beside it: {file name: netgrade's module}
HELPERS = {"tftp_codec.py": "netgrade.protocols.tftp", "framing_codec.py": "netgrade.protocols.framing"}


def helpers(program_id: str) -> dict[str, Path]:
    """The helper files (name -> source) that reference ``program_id`` needs to run on its own."""
    text = source_path(program_id).read_text("utf-8")
    out = {}
    for name, module in HELPERS.items():
        if f"import {name[:-3]}" in text or f"from {name[:-3]} import" in text:
            out[name] = Path(importlib.import_module(module).__file__)
    return out


def pack_options(program) -> list[str]:
    """Command-line options that make a reference follow the pack's values."""
    mod = importlib.import_module(module_name(program.id))
    opts = ["--port", str(program.port)]
    for key, flag in getattr(mod, "PACK_OPTIONS", {}).items():
        if key in program.expect:
            opts += [flag, str(program.expect[key])]
    return opts


def command(program, python: str | None = None) -> list[str]:
    return [python or sys.executable, "-m", module_name(program.id), *pack_options(program)]
