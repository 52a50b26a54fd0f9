"""The ``process`` engine: a ``concurrent.futures.ProcessPoolExecutor`` on this machine.

Workers start with ``forkserver`` (``spawn`` where that is unavailable): never ``fork``, which
copies the parent's polars/pyarrow thread pools and locks and can deadlock. At most
``2 * workers`` partitions are in flight, so a source with thousands of files does not queue
thousands of tasks (and their results) at once. Each worker's polars thread pool is sized to its
share of the cores (``POLARS_MAX_THREADS``, and ``OMP_NUM_THREADS`` for torch and BLAS), so
``workers`` processes do not oversubscribe them.

This module imports nothing heavy at the top: pool processes import it to run the initializer
before polars is loaded.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chatlens.engine.worker import PartitionResult, PartitionTask


#: Seconds between a worker's checks that the driver is still alive.
DRIVER_POLL_S = 1.0


def usable_cores() -> int:
    """The cores this process may run on (``os.sched_getaffinity`` where it exists).

    Why not ``os.cpu_count()``: under SLURM, ``taskset`` or a container's CPU set that is the
    whole machine's count, so a job given 4 of 64 cores started 64 pool workers (each loading
    the stages' models) where the documented default is the usable cores.
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _exit_with_driver(driver: int) -> None:
    """End this worker when the driver process is gone.

    Why: a driver killed outright (``kill -9``, the OOM killer) runs no clean-up, and the workers
    are children of the forkserver, not of the driver, so nothing stops them: they went on for
    minutes and kept committing part files into the run directory. A daemon thread polls the
    driver's pid (a check of the process table, no signal is sent) and exits hard when it is gone.
    """
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(DRIVER_POLL_S)
            try:
                os.kill(driver, 0)
            except ProcessLookupError:
                os._exit(70)  # EX_SOFTWARE: nothing of this worker's is wanted any more
            except PermissionError:  # alive, under another user (pid reused): keep going
                pass

    threading.Thread(target=watch, name="chatlens-driver-watch", daemon=True).start()


def _init_worker(
    threads: int,
    quiet: bool,  # noqa: FBT001
    driver: int | None = None,
    scratch: str | None = None,
) -> None:
    if driver is not None:
        _exit_with_driver(driver)
    if scratch is not None:  # the run's own temporary folder (see execute)
        import tempfile

        os.environ["TMPDIR"] = scratch
        tempfile.tempdir = scratch
    os.environ.setdefault("POLARS_MAX_THREADS", str(threads))
    # torch (the encoder tier) and BLAS size their pools from this when first imported
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    if quiet:
        os.environ["CHATLENS_QUIET"] = "1"


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's processes once the run has failed.

    Why: leaving the ``with`` block waits for every partition already running or queued in the
    pool's call queue (cancelling a future does not stop one that started): a partition that
    failed in a second was reported only after its neighbours had run to their end (minutes
    for 20k-row partitions), which then committed parts of a failed run. ``_processes`` is the
    executor's own table of its workers (no public way to stop them before Python 3.14).
    """
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def execute(
    tasks: Sequence[PartitionTask],
    *,
    workers: int,
    on_done: Callable[[PartitionResult], None],
) -> list[PartitionResult]:
    """Run tasks on ``workers`` processes; results are returned in partition order."""
    import shutil
    import tempfile

    # more processes than partitions would only wait, and shrink the busy ones' thread share
    workers = max(1, min(workers, len(tasks)))
    threads = max(1, usable_cores() // workers)
    # The workers' temporary files go into one folder of the run (inside TMPDIR), removed once
    # every worker has ended. Why: a worker terminated when another partition failed, or on the
    # driver's death, runs no clean-up, and the table reader's regrouped copy of a file (message
    # text) stayed in /tmp (3.7 MB per 27 MB CSV, one per worker so stopped).
    scratch = tempfile.mkdtemp(prefix="chatlens-pool-")
    try:
        return _execute(tasks, workers, threads, scratch, on_done)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _execute(
    tasks: Sequence[PartitionTask],
    workers: int,
    threads: int,
    scratch: str,
    on_done: Callable[[PartitionResult], None],
) -> list[PartitionResult]:
    from chatlens._progress import is_quiet
    from chatlens.engine.local import partition_failure
    from chatlens.engine.worker import run_partition

    results: dict[int, PartitionResult] = {}
    pending: dict[Future[PartitionResult], PartitionTask] = {}
    queue = list(reversed(tasks))
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_context(),
        initializer=_init_worker,
        initargs=(threads, is_quiet(), os.getpid(), scratch),
    ) as pool:
        try:
            while queue or pending:
                while queue and len(pending) < 2 * workers:
                    task = queue.pop()
                    pending[pool.submit(run_partition, task)] = task
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: pending[f].partition.index):
                    task = pending.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool as exc:
                        hint = (
                            " (a worker process died: out of memory or killed? In a script, call"
                            " run() under `if __name__ == '__main__':`)"
                        )
                        raise partition_failure(task, exc, hint=hint) from exc
                    except Exception as exc:
                        raise partition_failure(task, exc) from exc
                    results[result.index] = result
                    on_done(result)
        except BaseException:
            for future in pending:
                future.cancel()
            _stop_workers(pool)
            raise
    return [results[t.partition.index] for t in tasks]


__all__ = ["execute", "usable_cores"]
