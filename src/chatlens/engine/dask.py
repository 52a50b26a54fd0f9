"""The ``dask`` engine: one ``dask.distributed`` task per partition.

With ``address`` (a scheduler address, or a ``distributed.Client`` that stays open) the run joins
an existing cluster (a scheduler started by hand, by
``dask-jobqueue`` on SLURM/PBS, by the Dask Kubernetes operator, a cloud service, …); without it a
``LocalCluster`` with ``workers`` workers is started for the run and closed afterwards.

Workers read their partition themselves and write their parts straight into the output
directory, so on a real cluster the input files and ``out`` must be on a filesystem every worker
sees (NFS, Lustre, a mounted bucket) and chatlens must be installed on the workers.

``dask`` is the optional extra ``chatlens[dask]``; it is imported only here, only when used.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from chatlens.errors import MissingExtraError

if TYPE_CHECKING:
    from chatlens.engine.worker import PartitionResult, PartitionTask


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        extra, feature = "dask", "engine='dask' (dask.distributed)"
        raise MissingExtraError(extra, feature) from exc
    return distributed


def execute(
    tasks: Sequence[PartitionTask],
    *,
    workers: int | None,
    address: str | Any | None,
    processes: bool,
    on_done: Callable[[PartitionResult], None],
) -> list[PartitionResult]:
    """Submit one task per partition and gather results in partition order."""
    from chatlens.engine.local import partition_failure
    from chatlens.engine.worker import run_partition

    distributed = _import_distributed()
    cluster = None
    own_client = True
    if address is None:
        n = workers or os.cpu_count() or 1
        extra: dict[str, Any] = {}
        if processes:
            threads = max(1, (os.cpu_count() or 1) // n)
            extra["env"] = {"POLARS_MAX_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
        cluster = distributed.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
            silence_logs=40,
            **extra,
        )
        client = distributed.Client(cluster)
    elif isinstance(address, distributed.Client):
        client, own_client = address, False
    else:
        try:
            client = distributed.Client(address, timeout="30s")
        except (OSError, TimeoutError) as exc:
            from chatlens.errors import PartitionError

            msg = f"Cannot connect to the Dask scheduler at {address}: {type(exc).__name__}: {exc}"
            raise PartitionError(msg) from exc
    run_id = uuid.uuid4().hex[:8]
    try:
        futures = {
            client.submit(
                run_partition,
                task,
                key=f"chatlens-{run_id}-partition-{task.partition.index:05d}",
                pure=False,
                retries=0,
            ): task
            for task in tasks
        }
        results: dict[int, PartitionResult] = {}
        try:
            for future in distributed.as_completed(list(futures)):
                task = futures[future]
                if future.status != "finished":
                    exc = future.exception()
                    hint = ""
                    if type(exc).__name__ == "KilledWorker":
                        hint = " (the Dask worker running it died: out of memory or killed?)"
                    raise partition_failure(task, exc, hint=hint) from exc
                result = future.result()
                results[result.index] = result
                on_done(result)
        except BaseException:
            client.cancel(list(futures))
            raise
        return [results[t.partition.index] for t in tasks]
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


__all__ = ["execute"]
