"""The grading process of a batch: ``python -m netgrade.batch grade SPEC`` grades one submission as
the spec says and writes its result (netgrade.result/1) to the spec's ``out``; an error result when
it cannot.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .. import interrupts
from ..i18n import N_, Msg
from ..runner import LOCAL
from .model import GradingSpec


def _progress_pipe(fd: int | None):
    """A writer of progress events to the batch's pipe, one JSON object a line; None without one."""
    if fd is None:
        return None
    try:
        os.set_inheritable(fd, False)  # the pipe ends when this process does, whatever it starts
        pipe = os.fdopen(fd, "w", buffering=1, encoding="utf-8")
    except OSError:
        return None

    def tell(event: dict) -> None:
        pipe.write(json.dumps(event) + "\n")  # an error stops the reporting (the Collector), not the grading
    return tell


def main(argv: list[str]) -> int:
    """``python -m netgrade.batch grade SPEC``: grade one submission into SPEC's ``out``."""
    if len(argv) != 2 or argv[0] != "grade":
        print("usage: python -m netgrade.batch grade SPEC.json", file=sys.stderr)
        return 2
    spec = GradingSpec.from_json(Path(argv[1]).read_text("utf-8"))
    if spec.runner == LOCAL:  # not root: the full sandbox in a user namespace of our own
        from ..sandbox import userns
        userns.enter("netgrade.batch", argv)
    interrupts.install()  # the batch stops this process with SIGINT, whatever it inherited
    from ..grading import BadInput, Options, error_result, grade, load_pack
    try:
        pack = load_pack(spec.pack_file, checks=False)  # run_batch checked its check keys
    except BadInput as exc:
        error_result(spec.path, "?", spec.runner, str(exc)).write_json(spec.out)
        return 2
    opts = Options(programs=list(spec.programs), runner=spec.runner, jobs=spec.jobs, max_jobs=spec.max_jobs,
                   only_checks=list(spec.only_checks), runner_label=spec.runner_label,
                   progress=_progress_pipe(spec.progress_fd))
    try:
        result = grade(spec.path, pack, opts)
    except BadInput as exc:
        error_result(spec.path, pack.name, spec.runner, str(exc)).write_json(spec.out)
        return 2
    except KeyboardInterrupt as exc:
        error_result(spec.path, pack.name, spec.runner, Msg(N_("interrupted"))).write_json(spec.out)
        return interrupts.exit_code(exc)
    result.write_json(spec.out)
    return 0
