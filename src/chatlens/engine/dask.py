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

from chatlens.errors import InvalidParameterError, MissingExtraError, PartitionError

if TYPE_CHECKING:
    from chatlens.engine.worker import PartitionResult, PartitionTask

#: How long to wait for a scheduler given by address before giving up.
CONNECT_TIMEOUT = "30s"
#: Where a run's own ``LocalCluster`` serves HTTP (health, metrics, worker info and logs).
#: Why explicit: with no address the scheduler served it on 0.0.0.0:8787 and, with
#: ``processes=False``, every worker on 0.0.0.0 too (IPv4 and IPv6): reachable from the
#: network, unauthenticated, for the whole run. Loopback and a free port instead.
LOOPBACK_HTTP = "127.0.0.1:0"


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        extra, feature = "dask", "engine='dask' (dask.distributed)"
        raise MissingExtraError(extra, feature) from exc
    return distributed


def require() -> None:
    """Raise :class:`MissingExtraError` unless ``dask.distributed`` is installed (a preflight
    check: ``analyze`` calls it before it clears the previous run)."""
    _import_distributed()


def connect(address: str, *, timeout: str | None = None) -> Any:
    """A ``distributed.Client`` connected to the scheduler at ``address`` (the caller closes it).

    Why its own step: ``analyze`` connects before it clears the previous run, so a mistyped or
    unreachable ``--address`` (or a missing extra) leaves that run as it was, and a malformed
    address is a clear error instead of dask's bare ``ValueError``. ``timeout`` defaults to
    :data:`CONNECT_TIMEOUT`.
    """
    distributed = _import_distributed()
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        # checked before a Client exists: a Client that failed on a malformed address leaves
        # dask's event loop half started, and the process's next Client died of an
        # AssertionError inside distributed
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
        return distributed.Client(address, timeout=timeout or CONNECT_TIMEOUT)
    except ValueError as exc:
        msg = (
            f"The Dask scheduler address {address!r} is not valid ({exc}). Expected "
            "'tcp://host:port' (e.g. tcp://10.0.0.5:8786), as printed by 'dask scheduler'."
        )
        raise InvalidParameterError(msg) from exc
    except (OSError, TimeoutError) as exc:
        msg = (
            f"Cannot connect to the Dask scheduler at {address}: {type(exc).__name__}: {exc}. "
            "Is the scheduler running and reachable from this machine?"
        )
        raise PartitionError(msg) from exc


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
    from chatlens.engine.pool import usable_cores
    from chatlens.engine.worker import run_partition

    distributed = _import_distributed()
    cluster = None
    own_client = True
    if address is None:
        # not more than the partitions: every worker is a process (or thread) that starts,
        # imports and holds memory, and one without a partition only costs (--workers 8 on one
        # file: 8 worker processes, 2.6x the wall time and 2.3x the memory of one)
        n = max(1, min(workers or usable_cores(), len(tasks)))
        extra: dict[str, Any] = {}
        if processes:
            # as the pool does (os.environ.setdefault): a limit set in the environment stays;
            # dask's env= overrode it, so POLARS_MAX_THREADS=1 ran 2 polars threads per worker
            threads = str(max(1, usable_cores() // n))
            extra["env"] = {name: threads for name in ("POLARS_MAX_THREADS", "OMP_NUM_THREADS")
                            if name not in os.environ}
        cluster = distributed.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,  # no dashboard; its HTTP server on loopback (below)
            scheduler_kwargs={"dashboard_address": LOOPBACK_HTTP},
            worker_dashboard_address=LOOPBACK_HTTP,
            silence_logs=40,
            **extra,
        )
        client = distributed.Client(cluster)
    elif isinstance(address, distributed.Client):
        client, own_client = address, False
    else:
        client = connect(address)
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
                    exc = future.exception() if future.status == "error" else None
                    if exc is None:  # cancelled or lost on the cluster: there is no exception
                        msg = (
                            f"{task.partition.label} failed: its Dask task ended "
                            f"{future.status!r} without a result (cancelled on the cluster by "
                            "another client, or lost when the scheduler restarted); rerun."
                        )
                        raise PartitionError(msg, partition=task.partition.index)
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


__all__ = ["CONNECT_TIMEOUT", "LOOPBACK_HTTP", "connect", "execute", "require"]
