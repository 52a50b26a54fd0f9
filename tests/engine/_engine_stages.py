"""Stages used by the engine tests (importable by pool and Dask workers by 'module:attr')."""

from __future__ import annotations

import polars as pl

from chatlens.corpus.canonical import CanonicalBatch


def _with(
    batch: CanonicalBatch, messages: pl.DataFrame, conversations: pl.DataFrame
) -> CanonicalBatch:
    return CanonicalBatch(
        messages,
        conversations,
        batch.quarantine,
        dict(batch.repairs),
        batch.records_in,
        batch.source_records,
    )


def drop_content(batch: CanonicalBatch) -> CanonicalBatch:
    return _with(batch, batch.messages.drop("content"), batch.conversations)


def reverse_rows(batch: CanonicalBatch) -> CanonicalBatch:
    return _with(
        batch, batch.messages.sort("message_index", maintain_order=True), batch.conversations
    )


def filter_rows(batch: CanonicalBatch) -> CanonicalBatch:
    return _with(batch, batch.messages.head(1), batch.conversations)


def recast(batch: CanonicalBatch) -> CanonicalBatch:
    return _with(
        batch, batch.messages.with_columns(pl.col("turn").cast(pl.Int64)), batch.conversations
    )


def not_a_batch(batch: CanonicalBatch) -> pl.DataFrame:
    return batch.messages


def flag(batch: CanonicalBatch, *, column: str = "flag", value: int = 1) -> CanonicalBatch:
    return _with(
        batch,
        batch.messages.with_columns(pl.lit(value, dtype=pl.Int64).alias(column)),
        batch.conversations,
    )


def boom_on_bad(batch: CanonicalBatch) -> CanonicalBatch:
    """Fails on a batch holding the conversation id 'bad' (to test failure reporting)."""
    if (
        batch.conversations.height
        and "bad" in batch.conversations.get_column("conversation_id").to_list()
    ):
        msg = "this batch is cursed"
        raise RuntimeError(msg)
    return batch


def die_on_bad(batch: CanonicalBatch) -> CanonicalBatch:
    """Kills its worker process on the conversation id 'bad' (a crash, not an exception)."""
    import os

    if (
        batch.conversations.height
        and "bad" in batch.conversations.get_column("conversation_id").to_list()
    ):
        os._exit(3)
    return batch


def die_once(batch: CanonicalBatch, *, flag: str) -> CanonicalBatch:
    """Kills its worker process in the middle of writing a partition the first time it runs
    (``flag`` is created then): a Dask nanny restarts the worker and the task runs again."""
    import os
    from pathlib import Path

    if batch.conversations.height and not Path(flag).exists():
        Path(flag).write_text(str(os.getpid()))
        os._exit(3)
    return batch


def polars_threads(batch: CanonicalBatch) -> CanonicalBatch:
    """Records the worker's polars thread-pool size (to test the pool's thread budget)."""
    size = pl.thread_pool_size()
    return _with(
        batch,
        batch.messages,
        batch.conversations.with_columns(pl.lit(size, dtype=pl.Int64).alias("polars_threads")),
    )


def slow_or_boom(batch: CanonicalBatch) -> CanonicalBatch:
    """Fails on the conversation id 'bad'; takes 1.5 s on 'slow' (a partition still running
    when another has failed)."""
    import time

    ids = batch.conversations.get_column("conversation_id").to_list()
    if "bad" in ids:
        msg = "this batch is cursed"
        raise RuntimeError(msg)
    if "slow" in ids:
        time.sleep(1.5)
    return batch


def listening_hosts(batch: CanonicalBatch) -> CanonicalBatch:
    """Records the hosts this process listens on (to test where a LocalCluster serves)."""
    import psutil

    hosts = sorted({c.laddr.ip for c in psutil.Process().net_connections(kind="inet")
                    if c.status == psutil.CONN_LISTEN})
    return _with(
        batch,
        batch.messages,
        batch.conversations.with_columns(pl.lit(",".join(hosts)).alias("listening_hosts")),
    )


def leave_a_temporary_folder(batch: CanonicalBatch) -> CanonicalBatch:
    """Makes a temporary folder it never removes (as a worker terminated mid-partition leaves
    its reader's) and names it in the column ``tmp_folder``."""
    import tempfile

    folder = tempfile.mkdtemp(prefix="chatlens-test-")
    return _with(
        batch,
        batch.messages,
        batch.conversations.with_columns(pl.lit(folder, dtype=pl.String).alias("tmp_folder")),
    )
