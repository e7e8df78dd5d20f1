"""How a grading run's checks are dealt to its pytest-xdist workers, when a worker dies.

The grader runs xdist with ``--dist loadgroup`` (a program's checks that
share memos run in one worker, see ``plugin.SAME_WORKER_CHECKS``).  A worker
may die mid-check (the kernel's OOM killer, a signal from outside); xdist then
starts another and gives the dead one's checks to it.  Its load-group
scheduler (3.8.0) can stop the whole run there, every worker idle and the
controller waiting for ever:

- the dead worker's *finished* groups go back on the queue as empty units,
  and a worker sent an empty unit has nothing to report, so nothing asks for
  its next unit (pytest-xdist issue 1378);
- a replacement worker given one check waits for a second (a worker runs a
  check only once it knows the next one, or that there is none), and no more
  work is sent until a check ends (pytest-xdist issue 1327).

:class:`GradingScheduler` is xdist's scheduler with those two holes closed: a
dead worker's unfinished groups alone go back, and a worker left with two
checks or fewer gets more work, or is told the queue is empty (so it runs
what it holds and ends).  The check a worker died in is still given to the
next worker (graded again; the grader's Collector keeps that verdict).
"""
from __future__ import annotations

import pytest
from xdist.scheduler.loadgroup import LoadGroupScheduling


class GradingScheduler(LoadGroupScheduling):
    """``--dist loadgroup`` that survives a dead worker (see the module's text)."""

    def remove_node(self, node):  # noqa: ANN001, ANN201 - xdist's signature
        workload = self.assigned_work.get(node, {})
        for scope in [scope for scope, unit in workload.items() if all(unit.values())]:
            del workload[scope]  # finished: nothing of it is to be run again
        return super().remove_node(node)

    def _reschedule(self, node) -> None:  # noqa: ANN001
        if node.shutting_down:
            return
        while True:
            while self.workqueue and all(next(iter(self.workqueue.values())).values()):
                self.workqueue.popitem(last=False)  # a unit with nothing left to run
            if not self.workqueue:
                node.shutdown()  # it runs what it holds, then ends
                return
            if self._pending_of(self.assigned_work[node]) > 2:
                return
            self._assign_work_unit(node)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):  # noqa: ANN001, ANN201
    if config.getvalue("dist") == "loadgroup":
        return GradingScheduler(config, log)
    return None
