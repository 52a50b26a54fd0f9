"""The ``local`` engine: partitions one after another in this process (streaming, bounded memory).

Why keep it: no start-up cost, tracebacks stay readable, and it is the reference the other
engines must match exactly (same partitions, same parts, same counts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chatlens.engine.worker import PartitionResult, PartitionTask, RunFiles, run_partition
from chatlens.errors import PartitionError


def execute(
    tasks: Sequence[PartitionTask],
    *,
    on_done: Callable[[PartitionResult], None],
    into: RunFiles | None = None,
) -> list[PartitionResult]:
    """Run every task in order; a failure raises :class:`PartitionError` naming the partition.

    With ``into`` (the ``single`` layout) every partition appends to the run's open files and
    shares one set of seen conversation ids, exactly like one stream over the whole source.
    """
    results = []
    for task in tasks:
        try:
            result = run_partition(task, into=into)
        except Exception as exc:
            raise partition_failure(task, exc) from exc
        on_done(result)
        results.append(result)
    return results


def partition_failure(task: PartitionTask, exc: BaseException, *, hint: str = "") -> PartitionError:
    """The one error a failed partition turns into, whatever the engine."""
    if isinstance(exc, PartitionError):
        return exc
    detail = str(exc).strip() or "(no message)"
    msg = f"{task.partition.label} failed: {type(exc).__name__}: {detail}{hint}"
    return PartitionError(msg, partition=task.partition.index)


__all__ = ["execute", "partition_failure"]
