"""Running stages over a source: in one process, in a process pool, or on a Dask cluster.

Usage::

    from chatlens.engine import run
    result = run("data/", ["message_length"], out="out/", engine="process", workers=4)

Names are imported lazily (pool worker processes import this package before polars is loaded).
"""

from __future__ import annotations

from chatlens._lazy import lazy_exports

_EXPORTS = {
    "run": "chatlens.engine.api:run",
    "EngineResult": "chatlens.engine.result:EngineResult",
    "DuplicateReport": "chatlens.engine.duplicates:DuplicateReport",
    "find_duplicates": "chatlens.engine.duplicates:find_duplicates",
    "ENGINES": "chatlens.engine.api:ENGINES",
    "StageSpec": "chatlens.engine.stages:StageSpec",
    "STAGES": "chatlens.engine.stages:STAGES",
    "register_stage": "chatlens.engine.stages:register_stage",
    "resolve_stage": "chatlens.engine.stages:resolve_stage",
    "apply_stages": "chatlens.engine.stages:apply_stages",
    "Partition": "chatlens.engine.partitions:Partition",
    "plan_partitions": "chatlens.engine.partitions:plan_partitions",
    "PartitionResult": "chatlens.engine.worker:PartitionResult",
    "PartitionError": "chatlens.errors:PartitionError",
    "StageError": "chatlens.errors:StageError",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports("chatlens.engine", globals(), _EXPORTS)
