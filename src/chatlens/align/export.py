"""``chatlens align export-human-eval``: side-by-side pairs for human rating.

Two models' generations for the same prompts (e.g. the base and an epoch of a run, both written
by ``align evaluate``) become one row per prompt in the input format of ``chatlens ratings``:
``model_a``, ``model_b``, ``winner`` (empty, for the rater: ``model_a``/``model_b``/``tie``, or a
label of an outcome scale such as HAL's "Certainly A" … "Certainly B"), plus ``prompt_id``,
``prompt``, ``dialogue_a``, ``dialogue_b`` and ``position`` (where model A was shown: ``left``,
which ``chatlens ratings --position-column position`` reads).
Sides are assigned by a seeded coin per prompt, so each model is on the left about half the time
(HAL balanced sides too, hal.md §4.1) and the assignment can be reproduced.

Raters must not see which model wrote which side, so :func:`export_human_eval` returns the table
already split (a :class:`HumanEvalExport`): the **sheet** for raters (``prompt_id``, ``prompt``,
``dialogue_a``, ``dialogue_b``, ``winner``; no model names) and the **key** (``prompt_id``,
``model_a``, ``model_b``, ``position`` and a digest of each side's text), which
:meth:`HumanEvalExport.write` writes to separate files. :func:`unblind` joins a filled-in sheet
with its key into the input of ``chatlens ratings``, refusing a key written for another sheet.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from chatlens._progress import status
from chatlens._repr import short_repr
from chatlens.corpus.tablefile import read_table, write_table
from chatlens.errors import InvalidParameterError, MissingColumnError, SchemaError


def _side(path: Path, name: str | None) -> tuple[pl.DataFrame, str]:
    f = read_table(path)
    missing = [c for c in ("prompt_id", "prompt", "completion") if c not in f.columns]
    if missing:
        msg = (
            f"{path}: columns {missing} missing; columns are {f.columns}. Expected a "
            "generations file of `chatlens align evaluate` (prompt_id, prompt, completion)."
        )
        raise MissingColumnError(msg)
    label = name or (
        str(f["checkpoint"][0]) if "checkpoint" in f.columns and f.height else path.stem
    )
    f = f.select(pl.col("prompt_id").cast(pl.String), "prompt", "completion")
    dup = f.filter(pl.col("prompt_id").is_duplicated())["prompt_id"].unique().sort()
    if dup.len():
        # a repeated prompt_id would be joined with every row of the other side: the same
        # prompt rated several times, weighting it in the win rate
        msg = (
            f"{path}: prompt_id {dup.head(5).to_list()} occurs more than once ({dup.len()} ids). "
            "Expected one completion per prompt."
        )
        raise SchemaError(msg)
    missing = f.filter(pl.col("completion").is_null())
    if missing.height:
        # a failed request (generate_server records None): a side with no text would hand
        # the other model a free win
        status(f"{path}: {missing.height} prompts have no completion (failed request): left out")
    return f.filter(pl.col("completion").is_not_null()), label


@dataclass(frozen=True)
class HumanEvalExport:
    """The blind side-by-side pairs: ``sheet`` for the raters, ``key`` kept from them.

    The two are separate values (and files) so that what a rater is given cannot name a model;
    ``unblind(rated_sheet, key)`` puts the names back for ``chatlens ratings``.
    """

    sheet: pl.DataFrame
    key: pl.DataFrame

    def __repr__(self) -> str:
        return short_repr(self)

    def write(self, out: str | Path, *, key: str | Path | None = None) -> tuple[Path, Path]:
        """Write the sheet to ``out`` and the key to ``key`` (default: ``out``'s name +
        ``.key``, e.g. ``to_rate.key.csv``); a ``key`` that is ``out`` itself is an
        :class:`~chatlens.errors.InvalidParameterError`. Returns the two paths."""
        out = Path(out)
        key_path = Path(key) if key is not None else out.with_name(f"{out.stem}.key{out.suffix}")
        if key_path.resolve() == out.resolve():
            msg = f"--key {key_path} is the sheet itself: the key must be a separate file."
            raise InvalidParameterError(msg)
        return write_table(self.sheet, out), write_table(self.key, key_path)


def export_human_eval(
    a: str | Path,
    b: str | Path,
    *,
    name_a: str | None = None,
    name_b: str | None = None,
    seed: int = 0,
) -> HumanEvalExport:
    """The blind side-by-side pairs (see module docstring): the raters' sheet without model
    names and its key, apart. Prompts with a completion in both files only (the others are left
    out and counted on the status line); a repeated ``prompt_id`` is a
    :class:`~chatlens.errors.SchemaError`.

    It used to return one table with the model names beside the dialogues (only the CLI split
    it), so a Python user could hand raters the names; ``unblind(export.sheet, export.key)``
    gives that table back.
    """
    return HumanEvalExport(*blind(_pairs(a, b, name_a=name_a, name_b=name_b, seed=seed)))


def _pairs(
    a: str | Path, b: str | Path, *, name_a: str | None, name_b: str | None, seed: int
) -> pl.DataFrame:
    """The side-by-side table with the model names on it (what :func:`blind` splits)."""
    fa, la = _side(Path(a), name_a)
    fb, lb = _side(Path(b), name_b)
    if la == lb:
        msg = f"Both sides are named {la!r}; give --name-a/--name-b so ratings can tell them apart."
        raise SchemaError(msg)
    j = fa.join(
        fb.select(
            "prompt_id",
            pl.col("prompt").alias("prompt_b"),
            pl.col("completion").alias("completion_b"),
        ),
        on="prompt_id",
        maintain_order="left",
    )
    if j.height == 0:
        msg = f"{a} and {b} share no prompt_id: nothing to compare."
        raise SchemaError(msg)
    other = j.filter(pl.col("prompt").ne_missing(pl.col("prompt_b")))
    if other.height:
        # the rater would see A's prompt above B's answer to another prompt
        msg = (
            f"{a} and {b} hold other prompts under {other.height} shared prompt_ids "
            f"({other['prompt_id'].head(5).to_list()}): they were generated from different "
            "held-out files. Compare generations of the same prompts."
        )
        raise SchemaError(msg)
    j = j.drop("prompt_b")
    if j.height < max(fa.height, fb.height):
        status(
            f"{fa.height - j.height} prompts of {a} and {fb.height - j.height} of {b} have no "
            "completion on the other side: left out"
        )
    swap = np.random.default_rng(seed).random(j.height) < 0.5
    s = pl.Series("swap", swap)
    return j.with_columns(s).select(
        "prompt_id",
        "prompt",
        pl.when(pl.col("swap")).then(pl.lit(lb)).otherwise(pl.lit(la)).alias("model_a"),
        pl.when(pl.col("swap")).then(pl.lit(la)).otherwise(pl.lit(lb)).alias("model_b"),
        pl.when(pl.col("swap"))
        .then(pl.col("completion_b"))
        .otherwise(pl.col("completion"))
        .alias("dialogue_a"),
        pl.when(pl.col("swap"))
        .then(pl.col("completion"))
        .otherwise(pl.col("completion_b"))
        .alias("dialogue_b"),
        # where model_a was shown, in the words of `chatlens ratings --position-column`
        # ("left=model_a" was none of them: every row was quarantined)
        pl.lit("left").alias("position"),
        pl.lit(None, dtype=pl.String).alias("winner"),
    )


#: The rater's sheet: what a rater may see (no model names).
SHEET_COLUMNS = ("prompt_id", "prompt", "dialogue_a", "dialogue_b", "winner")
#: The key: which model is on which side, and a digest of each side's text.
KEY_COLUMNS = ("prompt_id", "model_a", "model_b", "position", "digest_a", "digest_b")


def _digest(text: str | None) -> str:
    """16 hex digits of the text with its whitespace collapsed (a spreadsheet that rewrites line
    ends or trims a cell does not change it; another dialogue does)."""
    norm = " ".join((text or "").split())
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:16]


def _digests(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.col(f"dialogue_{s}")
        .map_elements(_digest, return_dtype=pl.String, skip_nulls=False)
        .alias(f"digest_{s}")
        for s in ("a", "b")
    )


def blind(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rater's sheet and the key of a side-by-side table with model names on it (such as
    :func:`unblind` returns).

    Why: a rater who reads "model_a: dpo-e6" beside the text judges the name as well as the
    dialogue; the sides must be anonymous and the mapping kept apart until the ratings are in.
    """
    return frame.select(SHEET_COLUMNS), _digests(frame).select(KEY_COLUMNS)


def unblind(
    sheet: pl.DataFrame, key: pl.DataFrame, *, sheet_name: str = "sheet", key_name: str = "key"
) -> pl.DataFrame:
    """A filled-in sheet joined with its key: the ``chatlens ratings`` input (model names,
    dialogues, the rater's ``winner``). A sheet row without a key row, a repeated ``prompt_id``
    or a side whose text does not match the key's digest (a key of another export: other seed,
    other models) is a :class:`~chatlens.errors.SchemaError`."""
    for name, frame, cols in ((sheet_name, sheet, SHEET_COLUMNS), (key_name, key, KEY_COLUMNS)):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            msg = f"{name}: columns {missing} missing; columns are {frame.columns}."
            raise MissingColumnError(msg)
        dup = frame.filter(pl.col("prompt_id").cast(pl.String).is_duplicated())["prompt_id"]
        if dup.len():
            msg = (
                f"{name}: prompt_id {dup.unique().sort().head(5).to_list()} occurs more than once."
            )
            raise SchemaError(msg)
    sheet = sheet.with_columns(pl.col("prompt_id").cast(pl.String))
    key = key.with_columns(pl.col("prompt_id").cast(pl.String))
    j = _digests(sheet).join(
        key.rename({"digest_a": "key_a", "digest_b": "key_b"}),
        on="prompt_id",
        how="left",
        maintain_order="left",
    )
    lost = j.filter(pl.col("model_a").is_null())
    if lost.height:
        msg = (
            f"{sheet_name}: {lost.height} rows have no entry in {key_name} (prompt_id "
            f"{lost['prompt_id'].head(5).to_list()}). Use the key written with this sheet."
        )
        raise SchemaError(msg)
    other = j.filter(
        (pl.col("digest_a") != pl.col("key_a")) | (pl.col("digest_b") != pl.col("key_b"))
    )
    if other.height:
        msg = (
            f"{sheet_name}: the dialogues of {other.height} of {j.height} rows are not the ones "
            f"{key_name} was written for (prompt_id {other['prompt_id'].head(5).to_list()}): a "
            "key of another export (other seed or models), or edited dialogues. Use the key "
            "written with this sheet."
        )
        raise SchemaError(msg)
    if key.height > j.height:
        status(f"{key.height - j.height} rows of {key_name} are not in {sheet_name}: left out")
    return j.select(
        "prompt_id",
        "prompt",
        "model_a",
        "model_b",
        "dialogue_a",
        "dialogue_b",
        "position",
        "winner",
        *[c for c in sheet.columns if c not in SHEET_COLUMNS],
    )
