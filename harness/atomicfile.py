"""Writing a file whole or not at all: the one atomic-write helper.

Every file a reader may open while netgrade is still writing it (results,
reports, the check index, the Docker pairs' hand-over files) is written to a
temporary file in the same folder and renamed over the target, so a reader,
an interrupt or a full disk never leaves half of it.  A bottom-layer module:
it imports nothing of netgrade.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: str | Path, text: str, *, mode: int | None = None, prefix: str = ".tmp-") -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename.

    ``mode``: the file's permission bits (a temporary file is made 0600).
    On any failure, interrupts included, the temporary file is removed and
    the exception propagates; ``path`` is then unchanged.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
