"""Labelled witnesses: Turing-test files reshaped to one row per witness, labels read strictly.

Why a module of its own: fitting questionnaire weights, training HL-lite and evaluating judges
all start from the same rows (one rated witness, its label, its game), and each used to reach into
another for them (``fit`` into ``turing``, ``lite`` into ``fit``), an import cycle in waiting.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl

from chatlens.corpus.tablefile import read_table
from chatlens.errors import InvalidParameterError, SchemaError

__all__ = ["INTERROGATOR_ID", "as_bool", "load_turing", "witness_frame"]

#: The optional column naming who interrogated a game. An interrogator plays several games, and
#: their verdicts are not independent: ``turing eval`` resamples interrogators, not games, for
#: the interrogators' accuracy interval when it is present.
INTERROGATOR_ID = "interrogator_id"


_TRUE = {"true", "1", "yes", "y", "human", "t"}
_FALSE = {"false", "0", "no", "n", "ai", "f", "bot"}


def as_bool(col: pl.Series, name: str) -> np.ndarray:
    """Labels as booleans from bool, 0/1 or text (true/false, human/ai); errors name the value."""
    if col.dtype == pl.Boolean:
        out = col
    elif col.dtype.is_numeric():
        bad = col.filter(~col.is_in([0, 1]))
        if len(bad):
            msg = f"label column {name!r}: expected 0/1, got {bad[0]!r}"
            raise InvalidParameterError(msg)
        out = col.cast(pl.Boolean)
    else:
        low = col.cast(pl.String).str.strip_chars().str.to_lowercase()
        bad = low.filter(~low.is_in(list(_TRUE | _FALSE)) | low.is_null())
        if len(bad):
            msg = (f"label column {name!r}: expected true/false, 0/1 or human/ai, "
                   f"got {bad[0]!r}")
            raise InvalidParameterError(msg)
        out = low.is_in(list(_TRUE))
    if out.null_count():
        msg = f"label column {name!r} has {out.null_count()} missing labels"
        raise InvalidParameterError(msg)
    return out.to_numpy().astype(bool)


_PAIR = re.compile(r"^(.*)_A(.*)$")


def _optional_bool(frame: pl.DataFrame, name: str) -> pl.Series:
    """A boolean column read as strictly as :func:`as_bool`, but with missing values kept missing.

    Why: ``human_correct`` is the interrogator's result, not a label a witness needs; a game
    without one is left out of the interrogator figure, while a value such as ``"maybe"`` must
    stop the run instead of reading as False.
    """
    col = frame.get_column(name)
    present = col.is_not_null()
    parsed = as_bool(col.filter(present), name)
    out = pl.Series(name, [None] * frame.height, dtype=pl.Boolean)
    return out.scatter(present.arg_true(), pl.Series(parsed, dtype=pl.Boolean))


def _human_slots(games: pl.DataFrame) -> pl.Series:
    """``who_is_human`` folded to ``A``/``B``; any other value is an error naming its row.

    Why: the slot is compared with each witness's slot, so ``"a"`` or a typo would silently make
    every witness of the game an AI and the evaluation meaningless (exit 0 with numbers).
    """
    raw = games.get_column("who_is_human")
    slot = raw.cast(pl.String).str.strip_chars().str.to_uppercase()
    bad = (~slot.is_in(["A", "B"])).fill_null(value=True).arg_true()
    if len(bad):
        i = int(bad[0])
        game = f" (game_id {games.get_column('game_id')[i]!r})" if "game_id" in games.columns else ""
        msg = (f"Turing data: column 'who_is_human' must name the human witness's slot, A or B; "
               f"row {i + 1}{game} has {raw[i]!r} ({len(bad)} row(s) with such a value)")
        raise InvalidParameterError(msg)
    return slot


def _slot_text(col: pl.Series) -> pl.Series:
    """Slot letters as compared: trimmed and upper-case, an empty cell missing."""
    text = col.cast(pl.String).str.strip_chars().str.to_uppercase()
    return text.replace("", None)


def _checked_verdicts(frame: pl.DataFrame, column: str, slots: list[str]) -> pl.Series:
    """The interrogator's verdict as a slot (missing stays missing); any other value is an error.

    Why: the verdict is compared with the human's slot, so a lowercase ``a`` (per-witness files)
    or ``unsure`` read as a wrong verdict: lowercase verdicts put the interrogators at 0.0
    instead of 0.53 on the development games, with nothing said.
    """
    verdict = _slot_text(frame.get_column(column))
    bad = (verdict.is_not_null() & ~verdict.is_in(slots)).arg_true()
    if len(bad):
        i = int(bad[0])
        game = f" (game_id {frame.get_column('game_id')[i]!r})" if "game_id" in frame.columns else ""
        msg = (f"Turing data: column {column!r} must name a witness's slot ({' or '.join(slots)}) "
               f"or be empty; row {i + 1}{game} has {frame.get_column(column)[i]!r} "
               f"({len(bad)} row(s) with such a value)")
        raise InvalidParameterError(msg)
    return verdict


def _check_unique_witnesses(out: pl.DataFrame) -> None:
    """Each (game_id, slot) must appear once: an error naming the duplicated pairs otherwise.

    Why: a game listed twice counted its witnesses twice in accuracy and AUC and silently left
    paired accuracy (which needs exactly two witnesses per game) without that game.
    """
    dup = (out.group_by("game_id", "slot", maintain_order=True).len()
           .filter(pl.col("len") > 1))
    if dup.height:
        shown = ", ".join(f"game_id {g!r} slot {sl!r} ({n} times)"
                          for g, sl, n in dup.head(3).iter_rows())
        more = f" and {dup.height - 3} more" if dup.height > 3 else ""
        msg = (f"Turing data: {dup.height} witness(es) appear more than once: {shown}{more}; "
               "expected each (game_id, slot) once (a game row listed twice?)")
        raise InvalidParameterError(msg)


def _check_interrogators(out: pl.DataFrame) -> pl.DataFrame:
    """``interrogator_id`` as text, one per game (a game's witness rows must agree).

    Why: the id is the cluster of the interrogators' accuracy; two ids in one game (a per-witness
    file with a typo) would put the game's one verdict in whichever cluster came first.
    """
    out = out.with_columns(pl.col(INTERROGATOR_ID).cast(pl.String).str.strip_chars()
                           .replace("", None))
    mixed = (out.group_by("game_id", maintain_order=True)
             .agg(pl.col(INTERROGATOR_ID).unique().alias("ids"))
             .filter(pl.col("ids").list.len() > 1))
    if mixed.height:
        game, ids = mixed.row(0)
        msg = (f"Turing data: column {INTERROGATOR_ID!r} must name one interrogator per game; "
               f"game_id {game!r} has {sorted(map(str, ids))} ({mixed.height} game(s) like it)")
        raise InvalidParameterError(msg)
    return out


def witness_frame(games: pl.DataFrame, *, ratings_column: str | None = None) -> pl.DataFrame:
    """Reshape Turing data to one row per witness with canonical columns.

    Accepts the per-game layout (``turing_test_over_50.csv``, ``Turing_output/*.csv``: paired
    ``*_A``/``*_B`` columns and ``who_is_human``) and the per-witness layout
    (``turing_test_data_full.csv``: ``label`` = slot, ``witness``, ``is_human``, ``verdict``).
    A frame already one row per witness (``game_id``, ``slot``, ``is_human``) is checked and
    completed the same way. Output columns: ``game_id``, ``slot``, ``witness``, ``is_human``,
    ``opponent`` (the AI witness type of the game), ``transcript``, ``interrogator_verdict``,
    ``interrogator_correct``, plus every paired column under its base name (``likert_evaluation``).
    An optional ``interrogator_id`` column (who interrogated the game; one per game, empty = not
    known) is kept as text, for the interrogators' cluster bootstrap in ``turing eval``.
    """
    cols = set(games.columns)
    if {"game_id", "slot", "is_human"} <= cols:
        # Already one row per witness (this function's own output, or a frame a caller built):
        # checked like the other layouts, so a game listed twice or an "is_human" of "yes"/"no"
        # strings is caught here too rather than passed through unchecked.
        labels = pl.Series("is_human", as_bool(games.get_column("is_human"), "is_human"))
        out = games.with_columns(labels).with_columns(
            pl.lit(None, pl.String).alias(c)
            for c in ("opponent", "interrogator_verdict") if c not in cols
        )
        if "interrogator_correct" not in cols:
            out = out.with_columns(pl.lit(None, pl.Boolean).alias("interrogator_correct"))
    elif "who_is_human" in cols:
        games = games.with_columns(_human_slots(games).alias("who_is_human"))
        if "human_verdict" in cols:  # checked per game row, so an error names the input row
            games = games.with_columns(
                _checked_verdicts(games, "human_verdict", ["A", "B"]).alias("human_verdict"))
        pairs: dict[str, tuple[str, str]] = {}
        for c in games.columns:
            m = _PAIR.match(c)
            if m and f"{m.group(1)}_B{m.group(2)}" in cols:
                pairs[m.group(1) + m.group(2)] = (c, f"{m.group(1)}_B{m.group(2)}")
        paired = {c for ab in pairs.values() for c in ab}
        shared = [c for c in games.columns if c not in paired]
        parts = []
        for slot in ("A", "B"):
            sel = [pl.col(c) for c in shared]
            sel += [pl.col(ab[0] if slot == "A" else ab[1]).alias(base)
                    for base, ab in pairs.items()]
            parts.append(games.select(sel).with_columns(pl.lit(slot).alias("slot")))
        out = pl.concat(parts, how="vertical_relaxed")
        rename = {"conversation_transcript": "transcript", "label": "witness"}
        out = out.rename({k: v for k, v in rename.items() if k in out.columns})
        verdict = "human_verdict" if "human_verdict" in out.columns else None
        out = out.with_columns(
            (pl.col("who_is_human") == pl.col("slot")).alias("is_human"),
            (pl.col("ai_model") if "ai_model" in out.columns else pl.lit(None, pl.String))
            .alias("opponent"),
            (pl.col(verdict) if verdict else pl.lit(None, pl.String)).alias("interrogator_verdict"),
        )
        correct = (_optional_bool(out, "human_correct") if "human_correct" in out.columns
                   else pl.col("interrogator_verdict") == pl.col("who_is_human"))
        out = out.with_columns(correct.alias("interrogator_correct"))
    elif {"game_id", "label", "is_human"} <= cols:
        labels = pl.Series("is_human", as_bool(games.get_column("is_human"), "is_human"))
        out = games.rename({"label": "slot"}).with_columns(labels)
        out = out.with_columns(_slot_text(out.get_column("slot")).alias("slot"))
        if "verdict" in out.columns:
            slots = sorted(out.get_column("slot").drop_nulls().unique().to_list())
            out = out.with_columns(_checked_verdicts(out, "verdict", slots).alias("verdict"))
        if "conversation" in out.columns:
            out = out.rename({"conversation": "transcript"})
        ai_type = (pl.when(~pl.col("is_human")).then(pl.col("witness")).otherwise(None)
                   .max().over("game_id"))
        human_slot = pl.when(pl.col("is_human")).then(pl.col("slot")).otherwise(None).max().over(
            "game_id")
        out = out.with_columns(
            ai_type.alias("opponent"),
            (pl.col("verdict") if "verdict" in out.columns else pl.lit(None, pl.String))
            .alias("interrogator_verdict"),
        ).with_columns((pl.col("interrogator_verdict") == human_slot).alias("interrogator_correct"))
    else:
        msg = ("Turing data: expected the per-game layout (who_is_human, *_A/*_B columns) or the "
               f"per-witness layout (game_id, label, is_human); got columns {games.columns}")
        raise SchemaError(msg)
    out = out.with_columns(pl.col("game_id").cast(pl.String))
    _check_unique_witnesses(out)
    if INTERROGATOR_ID in out.columns:
        out = _check_interrogators(out)
    if ratings_column and ratings_column not in out.columns:
        msg = f"ratings column {ratings_column!r} (or its _A/_B pair) not found in Turing data"
        raise SchemaError(msg)
    return out


def load_turing(path: str | Path) -> pl.DataFrame:
    """Read a Turing-test file (CSV/Parquet) into the per-witness layout of :func:`witness_frame`."""
    return witness_frame(read_table(path))


