"""Stages: named, picklable, pure functions ``CanonicalBatch -> CanonicalBatch`` that add columns.

Why this contract: a batch is a set of whole conversations, so a stage that only *adds* columns
(to ``messages`` and/or ``conversations``), row for row, gives the same answer whether the corpus
runs in one process, in a process pool, or on a Dask cluster. The engine checks the contract after
every call (:func:`apply_stages`), so a stage that drops, reorders or changes existing columns
fails loudly with a :class:`~chatlens.errors.StageError` instead of corrupting a run.

A stage travels to workers as a :class:`StageSpec`: a name, a ``"module:attr"`` target (imported
on the worker, so only the string is pickled) and keyword parameters. Stages with a short name
are registered in :data:`STAGES` (``"module:attr"`` strings, so ``import chatlens`` stays light):
the analysis stages ``signals``, ``behaviour`` and ``legacy_features`` that ``chatlens analyze``
runs, and the cheap ``message_length`` that tests and benchmarks use. Any importable
``"module:attr"`` works too.

Examples
--------
>>> from chatlens.corpus.canonical import canonicalize
>>> import polars as pl
>>> nested = pl.DataFrame({"conversation_id": ["c1"], "_file": ["f"], "_row": [0],
...     "messages": [[{"role": "user", "content": "hi there"}, {"role": "assistant", "content": "hello"}]]})
>>> batch = apply_stages(canonicalize(nested), [resolve_stage("message_length")])
>>> batch.messages.select("role", "n_words").rows()
[('user', 2), ('assistant', 1)]
>>> batch.conversations.select("user_chars", "assistant_chars").rows()
[(8, 5)]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from chatlens._lazy import import_target
from chatlens.corpus.canonical import CanonicalBatch
from chatlens.corpus.readers.base import Registry
from chatlens.errors import StageError

StageFn = Callable[..., CanonicalBatch]


@dataclass(frozen=True)
class StageSpec:
    """One stage as it travels to workers: ``name``, ``"module:attr"`` target and parameters.

    ``params`` are passed as keyword arguments: ``fn(batch, **params)``. They must be picklable
    (plain values); keep them small, they are sent with every partition.
    """

    name: str
    target: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        module, sep, attr = self.target.partition(":")
        if not sep or not module or not attr:
            msg = (
                f"Stage '{self.name}': target must be 'module:attr' (e.g. "
                f"'chatlens.engine.stages:message_length'). Got {self.target!r} instead."
            )
            raise StageError(msg)
        object.__setattr__(self, "params", dict(self.params))

    def load(self) -> StageFn:
        """Import the target (on the worker that runs it)."""
        module_name, _, attr = self.target.partition(":")
        try:
            fn = import_target(self.target)
        except ImportError as exc:
            msg = f"Stage '{self.name}': cannot import module '{module_name}' ({exc})."
            raise StageError(msg) from exc
        except AttributeError:
            msg = f"Stage '{self.name}': module '{module_name}' has no attribute '{attr}'."
            raise StageError(msg) from None
        if not callable(fn):
            msg = f"Stage '{self.name}': target {self.target!r} is not callable."
            raise StageError(msg)
        return fn

    def public(self) -> dict[str, Any]:
        """The spec as recorded in a manifest."""
        return {"name": self.name, "target": self.target, "params": dict(self.params)}


#: Stages known by a short name. Values are ``"module:attr"`` targets, imported lazily (on the
#: worker), so the engine imports nothing from the layers whose stages it runs. The analysis
#: stages live in :mod:`chatlens.pipeline`; profiles (``data/profiles/*.yaml``) list them by name.
STAGES: Registry[str] = Registry("stage")
STAGES.register("message_length", "chatlens.engine.stages:message_length")
STAGES.register("signals", "chatlens.pipeline.signals:signals_stage")
STAGES.register("behaviour", "chatlens.pipeline.features:behaviour_stage")
STAGES.register("legacy_features", "chatlens.pipeline.features:legacy_features_stage")


def register_stage(name: str, target: str) -> None:
    """Register a stage under a short name (``target`` is ``"module:attr"``)."""
    StageSpec(name, target)  # validates the target's form
    STAGES.register(name, target)


def resolve_stage(stage: StageSpec | str, **params: Any) -> StageSpec:
    """A :class:`StageSpec` from a spec, a registered name or a ``"module:attr"`` string."""
    if isinstance(stage, StageSpec):
        return StageSpec(stage.name, stage.target, {**stage.params, **params}) if params else stage
    if not isinstance(stage, str):
        msg = f"A stage must be a StageSpec, a registered name or 'module:attr'. Got {stage!r} instead."
        raise StageError(msg)
    if ":" in stage:
        return StageSpec(stage.rsplit(":", 1)[1], stage, params)
    return StageSpec(stage, STAGES.get(stage), params)  # unknown: "Did you mean ..."


def resolve_stages(stages: Iterable[StageSpec | str] | None) -> tuple[StageSpec, ...]:
    """Resolve a list of stages; names must be unique (they label timings and errors)."""
    specs = tuple(resolve_stage(s) for s in (stages or ()))
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        msg = f"Stage names must be unique within a run; repeated: {', '.join(dupes)}."
        raise StageError(msg)
    return specs


# ---- applying and checking ---------------------------------------------------------------------


def apply_stages(
    batch: CanonicalBatch,
    stages: Sequence[StageSpec],
    *,
    loaded: Sequence[StageFn] | None = None,
    seconds: MutableMapping[str, float] | None = None,
) -> CanonicalBatch:
    """Run ``stages`` in order over one batch, checking the add-columns-only contract each time.

    ``loaded`` are the already imported functions (one per spec), so a worker imports once per
    partition rather than once per batch. ``seconds``, when given, gets each stage's time added
    under ``stage:<name>`` (what the run's manifest and the benchmark report per stage).
    """
    fns = list(loaded) if loaded is not None else [s.load() for s in stages]
    for spec, fn in zip(stages, fns, strict=True):
        t = time.perf_counter()
        try:
            result = fn(batch, **spec.params)
        except StageError:
            raise
        except Exception as exc:
            msg = f"Stage '{spec.name}' ({spec.target}) failed: {type(exc).__name__}: {exc}"
            raise StageError(msg) from exc
        check_stage_output(spec, batch, result)
        batch = result
        if seconds is not None:
            key = f"stage:{spec.name}"
            seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - t
    return batch


def check_stage_output(spec: StageSpec, before: CanonicalBatch, after: object) -> None:
    """Raise :class:`StageError` unless ``after`` only adds columns to ``before``, row for row."""
    if not isinstance(after, CanonicalBatch):
        msg = f"Stage '{spec.name}' ({spec.target}) must return a CanonicalBatch; got {type(after).__name__}."
        raise StageError(msg)
    for table in ("messages", "conversations"):
        _check_table(spec, table, getattr(before, table), getattr(after, table))
    same_counts = (
        after.records_in == before.records_in
        and after.source_records == before.source_records
        and after.quarantine.height == before.quarantine.height
        and dict(after.repairs) == dict(before.repairs)
    )
    if not same_counts:
        msg = (
            f"Stage '{spec.name}' ({spec.target}) changed the batch's quarantine, repairs or "
            "counts; a stage may only add columns to messages and conversations."
        )
        raise StageError(msg)


def _check_table(spec: StageSpec, table: str, before: pl.DataFrame, after: pl.DataFrame) -> None:
    where = f"Stage '{spec.name}' ({spec.target}) on {table}"
    if after.height != before.height:
        msg = f"{where}: expected {before.height} rows (one per input row), got {after.height}."
        raise StageError(msg)
    schema = after.schema
    for name, dtype in before.schema.items():
        if name not in schema:
            msg = f"{where}: removed column '{name}'; a stage may only add columns."
            raise StageError(msg)
        if schema[name] != dtype:
            msg = f"{where}: changed the type of column '{name}' from {dtype} to {schema[name]}."
            raise StageError(msg)
    if before.height and not after.get_column("conversation_id").equals(
        before.get_column("conversation_id")
    ):
        msg = f"{where}: reordered or changed rows (conversation_id differs); keep input row order."
        raise StageError(msg)


# ---- built-in trivial stage --------------------------------------------------------------------


def message_length(batch: CanonicalBatch, *, word_pattern: str = r"\S+") -> CanonicalBatch:
    """Length features: ``n_words`` per message; ``user_chars``/``assistant_chars`` per conversation.

    A deliberately cheap, fully vectorised stage used by tests and benchmarks to exercise the
    engine (it touches both tables: a per-message column and a per-conversation aggregate joined
    back in input order).
    """
    messages = batch.messages.with_columns(
        pl.col("content")
        .fill_null("")
        .str.count_matches(word_pattern)
        .cast(pl.Int32)
        .alias("n_words")
    )
    chars = pl.col("content_chars")
    per_conv = batch.messages.group_by("conversation_id").agg(
        chars.filter(pl.col("role") == "user").sum().cast(pl.Int64).alias("user_chars"),
        chars.filter(pl.col("role") == "assistant").sum().cast(pl.Int64).alias("assistant_chars"),
    )
    conversations = batch.conversations.join(
        per_conv, on="conversation_id", how="left", maintain_order="left"
    )
    return CanonicalBatch(
        messages,
        conversations,
        batch.quarantine,
        dict(batch.repairs),
        batch.records_in,
        batch.source_records,
    )


__all__ = [
    "STAGES",
    "StageFn",
    "StageSpec",
    "apply_stages",
    "check_stage_output",
    "message_length",
    "register_stage",
    "resolve_stage",
    "resolve_stages",
]
