"""``synth``: write the synthetic LMSYS-shaped corpus, its ground-truth sidecars and its manifest.

Why the generator exists, what it plants and what each ground-truth column means is specified in
``docs/synth.md``. This module validates the parameters, runs simulate → render → tables chunk by
chunk and streams the three tables to disk, so memory stays bounded at any corpus size.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from chatlens._progress import progress_bar
from chatlens.corpus.sources import IGNORE_FILE
from chatlens.errors import InvalidParameterError
from chatlens.synth.config import SynthConfig, load_config
from chatlens.synth.render import compile_banks
from chatlens.synth.simulate import Simulator
from chatlens.synth.tables import (
    CONVERSATION_TRUTH_SCHEMA,
    LMSYS_SCHEMA,
    TRUTH_SCHEMA,
    chunk_tables,
)

GENERATOR_VERSION = 1
#: Largest chunk: one chunk's text must fit Arrow ``string`` (32-bit offsets, < 2 GiB).
MAX_CHUNK_SIZE = 250_000
Format = Literal["parquet", "jsonl"]


@dataclass(frozen=True)
class SynthResult:
    """What :func:`synth` wrote.

    Attributes
    ----------
    path, truth_path, conversations_truth_path, manifest_path
        The LMSYS-shaped corpus, the per-message and per-conversation ground truth, the manifest.
    conversations, messages
        Counts written.
    bytes_written
        Total size of the four files.
    models
        One row per model: ``model``, ``popularity`` (share of conversations), ``refusal_rate``,
        ``capability_share``, ``mixed_share``, ``partial_share``.
    """

    path: Path
    truth_path: Path
    conversations_truth_path: Path
    manifest_path: Path
    format: Format
    seed: int
    conversations: int
    messages: int
    bytes_written: int
    models: pl.DataFrame


def sidecar_paths(out: str | Path) -> tuple[Path, Path, Path]:
    """Paths of the per-message truth, per-conversation truth and manifest next to ``out``.

    Named after ``out`` without its extension only (``demo.small.parquet`` ->
    ``demo.small.truth.parquet``): cutting at the first dot gave ``demo.small.parquet`` and
    ``demo.large.parquet`` the same sidecars, so writing one replaced the other's ground truth.
    """
    out = Path(out)
    stem = out.stem or out.name
    return (
        out.with_name(f"{stem}.truth.parquet"),
        out.with_name(f"{stem}.truth_conversations.parquet"),
        out.with_name(f"{stem}.synth.json"),
    )


def _ignore_in_folder(folder: Path, names: Sequence[str]) -> None:
    """Add ``names`` to ``folder``'s :data:`~chatlens.corpus.sources.IGNORE_FILE`.

    Why: reading the folder (``chatlens analyze DIR``, ``DIR/*.parquet``) should read the corpus,
    not its ground truth and manifest; the corpus layer's generic ignore file says so without the
    corpus layer knowing this generator. Existing lines are kept, so corpora can share a folder.
    """
    path = folder / IGNORE_FILE
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    new = [p for p in map(glob.escape, names) if p not in lines]
    if new:
        path.write_text("".join(f"{line}\n" for line in (*lines, *new)), encoding="utf-8")


def _resolve_languages(
    config: SynthConfig, languages: Sequence[str] | Mapping[str, float] | None
) -> tuple[list[int], np.ndarray]:
    codes = [lang.code for lang in config.languages]
    if languages is None:
        return list(range(len(codes))), np.asarray([lang.weight for lang in config.languages])
    if isinstance(languages, str):
        languages = [languages]
    chosen = list(languages)
    if not chosen:
        msg = f"The 'languages' parameter of synth must name at least one language; available: {codes}."
        raise InvalidParameterError(msg)
    unknown = [c for c in chosen if c not in codes]
    if unknown:
        msg = f"The 'languages' parameter of synth got unknown language {unknown[0]!r}; expected codes from {codes}."
        raise InvalidParameterError(msg)
    repeated = sorted({c for c in chosen if chosen.count(c) > 1})
    if repeated:  # ["en", "en"] drew from two "en" entries that the manifest folded into one
        msg = f"The 'languages' parameter of synth names {repeated[0]!r} more than once. Got {chosen}."
        raise InvalidParameterError(msg)
    idx = [codes.index(c) for c in chosen]
    if isinstance(languages, Mapping):
        weights = np.asarray([float(languages[c]) for c in chosen])
        # NaN passed both comparisons: {"en": nan, "fr": 1} wrote an all-English corpus, weight NaN
        if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
            msg = f"The 'languages' weights of synth must be finite, non-negative with a positive sum. Got {dict(languages)}."
            raise InvalidParameterError(msg)
    else:
        weights = np.asarray([config.languages[i].weight for i in idx])
    return idx, weights


def synth(
    n_conversations: int,
    *,
    seed: int = 0,
    out: str | Path,
    n_models: int = 12,
    languages: Sequence[str] | Mapping[str, float] | None = None,
    format: Format | None = None,
    chunk_size: int = 50_000,
) -> SynthResult:
    """Write a synthetic LMSYS-Chat-1M-shaped corpus and its ground truth.

    Parameters
    ----------
    n_conversations
        Number of conversations (>= 1).
    seed
        Random seed; the same seed and parameters give byte-identical files.
    out
        The corpus file (``.parquet``, or ``.jsonl``/``.ndjson``); sidecars are written next to it
        (see :func:`sidecar_paths`). Parent folders are created.
    n_models
        How many models to simulate: the first ``n_models`` of ``config.yaml`` in popularity order
        (Zipf-like weights), 1..18.
    languages
        ISO codes to include (default: all ten with the configured mix), or a mapping
        code -> weight.
    format
        ``"parquet"`` or ``"jsonl"``; default from the extension of ``out`` (Parquet otherwise).
    chunk_size
        Conversations generated and written per chunk (bounds memory; at most 250,000). Part of
        the determinism contract: a different chunk size gives a different (equally valid) corpus.

    Returns
    -------
    SynthResult
        Paths, counts and the per-model parameters used.

    Examples
    --------
    >>> import tempfile, polars as pl
    >>> from chatlens.synth import synth
    >>> with tempfile.TemporaryDirectory() as d:
    ...     res = synth(200, seed=1, out=f"{d}/demo.parquet")
    ...     corpus = pl.read_parquet(res.path)
    ...     truth = pl.read_parquet(res.truth_path)
    >>> corpus.columns
    ['conversation_id', 'model', 'conversation', 'turn', 'language', 'openai_moderation', 'redacted']
    >>> truth.filter(pl.col("refusal"))["role"].unique().to_list()
    ['assistant']
    """
    if isinstance(n_conversations, bool) or not isinstance(n_conversations, (int, np.integer)) or n_conversations < 1:
        msg = f"The 'n_conversations' parameter of synth must be an integer >= 1. Got {n_conversations!r} instead."
        raise InvalidParameterError(msg)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        msg = f"The 'seed' parameter of synth must be a non-negative integer. Got {seed!r} instead."
        raise InvalidParameterError(msg)
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, (int, np.integer))
        or not 1 <= chunk_size <= MAX_CHUNK_SIZE
    ):
        msg = f"The 'chunk_size' parameter of synth must be an integer in [1, {MAX_CHUNK_SIZE}]. Got {chunk_size!r} instead."
        raise InvalidParameterError(msg)
    config = load_config()
    if isinstance(n_models, bool) or not isinstance(n_models, (int, np.integer)) or not 1 <= n_models <= len(config.models):
        msg = f"The 'n_models' parameter of synth must be an integer in [1, {len(config.models)}]. Got {n_models!r} instead."
        raise InvalidParameterError(msg)
    out = Path(out)
    if format is None:
        format = "jsonl" if out.suffix.lower() in (".jsonl", ".ndjson") else "parquet"
    if format not in ("parquet", "jsonl"):
        msg = f"The 'format' parameter of synth must be 'parquet' or 'jsonl'. Got {format!r} instead."
        raise InvalidParameterError(msg)
    lang_idx, lang_weight = _resolve_languages(config, languages)
    lang_specs = [config.languages[i] for i in lang_idx]
    lang_codes = [lang.code for lang in lang_specs]
    compiled = compile_banks(tuple(lang_codes))
    model_idx = np.arange(n_models)
    model_weight = 1.0 / (model_idx + 1.0) ** config.popularity_exponent
    sim = Simulator(
        config,
        compiled,
        model_idx=model_idx,
        model_weight=model_weight,
        lang_weight=lang_weight,
        lang_multiplier=np.asarray([lang.refusal_multiplier for lang in lang_specs]),
    )
    model_names = [config.models[i].name for i in model_idx]
    lang_names = [lang.name for lang in lang_specs]

    out.parent.mkdir(parents=True, exist_ok=True)
    truth_path, conv_truth_path, manifest_path = sidecar_paths(out)
    n_messages = 0
    with ExitStack() as stack:
        data_writer = jsonl = None
        if format == "parquet":
            data_writer = stack.enter_context(pq.ParquetWriter(out, LMSYS_SCHEMA, compression="zstd"))
        else:
            jsonl = stack.enter_context(out.open("wb"))
        truth_writer = stack.enter_context(pq.ParquetWriter(truth_path, TRUTH_SCHEMA, compression="zstd"))
        conv_writer = stack.enter_context(
            pq.ParquetWriter(conv_truth_path, CONVERSATION_TRUTH_SCHEMA, compression="zstd")
        )
        advance = stack.enter_context(
            progress_bar(description="synthesising conversations", total=n_conversations)
        )
        for chunk, start in enumerate(range(0, n_conversations, chunk_size)):
            n = min(chunk_size, n_conversations - start)
            rng = np.random.default_rng([seed, chunk])
            decided = sim.run(rng, n)
            data, truth, conv_truth = chunk_tables(
                compiled, decided, rng, model_names=model_names, lang_codes=lang_codes, lang_names=lang_names
            )
            if data_writer is not None:
                data_writer.write_table(data, row_group_size=chunk_size)
            else:
                pl.from_arrow(data).write_ndjson(jsonl)
            truth_writer.write_table(truth, row_group_size=len(truth))
            conv_writer.write_table(conv_truth, row_group_size=len(conv_truth))
            n_messages += truth.num_rows
            advance(n)

    models = pl.DataFrame(
        {
            "model": model_names,
            "popularity": model_weight / model_weight.sum(),
            **{
                f: [getattr(config.models[i], f) for i in model_idx]
                for f in ("refusal_rate", "capability_share", "mixed_share", "partial_share")
            },
        }
    )
    manifest = {
        "generator": "chatlens.synth",
        "generator_version": GENERATOR_VERSION,
        "config": {"name": config.name, "version": config.version},
        "phrase_banks": compiled.bank_versions,
        "seed": int(seed),
        "chunk_size": int(chunk_size),
        "format": format,
        "conversations": int(n_conversations),
        "messages": int(n_messages),
        "languages": {
            lang.code: {"name": lang.name, "weight": float(w / lang_weight.sum()), "refusal_multiplier": lang.refusal_multiplier}
            for lang, w in zip(lang_specs, lang_weight, strict=True)
        },
        "models": models.to_dicts(),
        "files": {
            "corpus": out.name,
            "truth": truth_path.name,
            "truth_conversations": conv_truth_path.name,
        },
    }
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _ignore_in_folder(out.parent, [truth_path.name, conv_truth_path.name, manifest_path.name])
    written = sum(p.stat().st_size for p in (out, truth_path, conv_truth_path, manifest_path))
    return SynthResult(
        path=out,
        truth_path=truth_path,
        conversations_truth_path=conv_truth_path,
        manifest_path=manifest_path,
        format=format,
        seed=int(seed),
        conversations=int(n_conversations),
        messages=int(n_messages),
        bytes_written=int(written),
        models=models,
    )


__all__ = ["GENERATOR_VERSION", "MAX_CHUNK_SIZE", "SynthResult", "sidecar_paths", "synth"]
