"""The programs of the seed lecture notes: the code every student starts from.

The notes are text with code in fenced blocks (```python) or indented blocks.
:func:`extract` finds the Python programs in them; the default pack's copy
(``harness/packs/seed_programs.json``) is written with::

    python -m netgrade.seedcode ../shared/seeds/*.txt > harness/packs/seed_programs.json

They are the *base* of the class similarity (what every student was given)
and part of the calibration of the reference-copy notice.
"""
from __future__ import annotations

import json
import re
import sys
import textwrap
from importlib import resources
from pathlib import Path

SEED_FILE = "seed_programs.json"
_PYTHONISH = re.compile(r"^\s*(import |from \w+ import|def |class |while |for |if |\w+\s*=|\w+\.\w+\()", re.M)


def _looks_like_code(block: str) -> bool:
    lines = [ln for ln in block.splitlines() if ln.strip()]
    if len(lines) < 3:
        return False
    codeish = sum(1 for ln in lines if _PYTHONISH.match(ln) or ln.strip().startswith("#"))
    return "socket" in block and codeish >= len(lines) // 2


def extract(text: str) -> list[str]:
    """The Python programs in one file of notes (socket code of three lines or more)."""
    blocks: list[str] = []
    fenced = re.findall(r"^[ \t]*```[ \t]*(?:python|py)?[ \t]*\n(.*?)^[ \t]*```", text, flags=re.M | re.S)
    blocks += [textwrap.dedent(b) for b in fenced]
    if not fenced:  # notes without fences indent their code
        current: list[str] = []
        for line in text.splitlines() + [""]:
            bullet = line.strip().startswith(("•", ">"))
            if (line.startswith("    ") and not bullet) or (current and not line.strip()):
                current.append(line)
                continue
            if current:
                blocks.append(textwrap.dedent("\n".join(current)))
            current = []
    return [b.strip("\n") + "\n" for b in blocks if _looks_like_code(b)]


def seed_programs() -> list[dict[str, str]]:
    """The seed programs shipped with netgrade: [{"source": "001 #3", "code": ...}]."""
    text = resources.files("netgrade.packs").joinpath(SEED_FILE).read_text("utf-8")
    return json.loads(text)


def main(paths: list[str]) -> int:
    out = []
    for p in paths:
        prefix = Path(p).name.split("_")[0]
        for i, code in enumerate(extract(Path(p).read_text("utf-8")), 1):
            out.append({"source": f"{prefix} #{i}", "code": code})
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
