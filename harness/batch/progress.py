"""The batch's progress bar (rich) and its lines, one per submission graded; nothing when disabled."""
from __future__ import annotations


class _Progress:
    def __init__(self, total_: int, enabled: bool) -> None:
        self.enabled = enabled
        self._p = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            from ..terminal import console
            self._p = Progress(TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(),
                               TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("eta"),
                               TimeRemainingColumn(), console=console(), transient=False)
            self._task = self._p.add_task("grading", total=total_)

    def __enter__(self):
        if self._p is not None:
            self._p.__enter__()
        return self

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.__exit__(*exc)

    def line(self, text: str) -> None:
        if self._p is not None:
            from rich.text import Text

            from ..text import printable
            self._p.console.print(Text(printable(text)))

    def advance(self) -> None:
        if self._p is not None:
            self._p.advance(self._task)
