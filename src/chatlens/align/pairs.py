"""``chatlens align pairs``: preference pairs within a persona, with what HAL lacked.

HAL kept every ordered within-persona pair whose reward gap exceeds 0.5·SD (hal.md §3.2). That
rewards brevity (§5.3) and generator style (§7.5). Here, in order:

0. a dialogue repeated within a persona (same text) is kept once, counted; a persona with two
   prompts is an error (a pair answers one prompt);
1. **held-out personas** never enter a pair (their prompts are written for ``evaluate``): the
   ``split`` column's test personas, else a seeded fraction;
2. **length control** on ``length_measure`` (``dialogue``: words of the whole dialogue; ``turn``:
   mean words per rated-speaker turn, the length HAL's models learned to cut) — ``ratio``: keep a
   pair only when ``length(chosen)/length(rejected)`` lies in ``ratio_bounds``; ``residual``: rank
   on the reward residualised on ``log(length)`` (OLS over the
   training dialogues), so a dialogue wins by being more human-like *for its length*; ``none``:
   HAL's rule;
3. the **gap rule** on the (possibly residualised) reward: ``gap > k · SD`` (HAL: k = 0.5);
4. **generator balance**: for each pair of generators {A, B}, at most
   ``ceil(balance_ratio · max(n(B>A), 1))`` pairs "A beats B" are kept (largest gaps first), so
   the pairs cannot teach "write like generator A";
5. a **cap per persona** (largest gaps first; HAL: up to 7 from 4 dialogues).

The data card records counts after each step and, for chosen vs rejected, the mean reward,
words, words per turn and generator mix, before (HAL's rule alone) and after the controls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError, MissingColumnError, SchemaError
from chatlens.vocabulary import UNSAFE_CHARS

LengthControl = Literal["none", "ratio", "residual"]


@dataclass(frozen=True)
class PairRule:
    """The pairing parameters (defaults: HAL's k with chatlens's controls on)."""

    k: float = 0.5
    length_control: LengthControl = "ratio"
    ratio_bounds: tuple[float, float] = (0.67, 1.5)
    length_measure: Literal["dialogue", "turn"] = "dialogue"
    balance: bool = True
    balance_ratio: float = 1.0
    cap_per_persona: int | None = 3
    heldout_fraction: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            ("k", self.k >= 0, ">= 0"),
            (
                "length_control",
                self.length_control in ("none", "ratio", "residual"),
                "one of none, ratio, residual",
            ),
            (
                "ratio_bounds",
                0 < self.ratio_bounds[0] <= 1 <= self.ratio_bounds[1],
                "(low, high) with 0 < low <= 1 <= high",
            ),
            ("length_measure", self.length_measure in ("dialogue", "turn"), "dialogue or turn"),
            ("balance_ratio", self.balance_ratio > 0, "> 0"),
            (
                "cap_per_persona",
                self.cap_per_persona is None or self.cap_per_persona >= 1,
                ">= 1 or None",
            ),
            ("heldout_fraction", 0 <= self.heldout_fraction < 1, "in [0, 1)"),
        ]
        for name, ok, expected in checks:
            if not ok:
                msg = f"The {name!r} parameter of PairRule must be {expected}. Got {getattr(self, name)!r} instead."
                raise InvalidParameterError(msg)


@dataclass(frozen=True)
class PairsResult:
    """Pairs (one row each, with metadata), held-out prompts and the data card."""

    pairs: pl.DataFrame
    heldout: pl.DataFrame
    card: dict[str, Any] = field(default_factory=dict)

    def trl_rows(self) -> list[dict[str, Any]]:
        """TRL's conversational preference format: prompt / chosen / rejected message lists."""
        return [
            {
                "prompt": [{"role": "user", "content": p}],
                "chosen": [{"role": "assistant", "content": c}],
                "rejected": [{"role": "assistant", "content": r}],
            }
            for p, c, r in self.pairs.select("prompt", "chosen", "rejected").iter_rows()
        ]


def _residualise(
    reward: np.ndarray, words: np.ndarray, fit_mask: np.ndarray
) -> tuple[np.ndarray, dict[str, float]]:
    x = np.log(np.maximum(words, 1.0))
    m = fit_mask & np.isfinite(reward)
    slope, intercept = (
        np.polyfit(x[m], reward[m], 1) if m.sum() > 2 else (0.0, float(np.nanmean(reward)))
    )
    return reward - (intercept + slope * x), {
        "slope_per_log_word": float(slope),
        "intercept": float(intercept),
    }


SPLITS = ("train", "test")


def _heldout(personas: pl.Series, split: pl.Series | None, rule: PairRule) -> set[Any]:
    if split is not None:
        values = split.cast(pl.String)
        odd = values.filter(~values.is_in(SPLITS) | values.is_null())
        if odd.len():
            # "eval", "validation", "Test" or a null would otherwise go silently to training:
            # the held-out personas would be trained on.
            found = sorted({"null" if v is None else v for v in odd.unique().to_list()})
            msg = (
                f"pairs: the split column {split.name!r} must be 'train' or 'test' on every row; "
                f"{odd.len()} rows hold {found[:5]}. Map the held-out value to 'test', or drop "
                "the column to hold out a seeded --heldout-fraction of personas instead."
            )
            raise SchemaError(msg)
        return set(personas.filter(values == "test").to_list())
    ids = personas.unique().sort().to_list()
    n = round(len(ids) * rule.heldout_fraction)
    if rule.heldout_fraction > 0 and len(ids) > 1:
        n = min(max(n, 1), len(ids) - 1)
    rng = np.random.default_rng([rule.seed, 3])
    return {ids[i] for i in rng.permutation(len(ids))[:n]}


def _side(p: pl.DataFrame, gens: list[str]) -> dict[str, Any]:
    """Chosen vs rejected summary of a pair table (for the data card)."""
    if p.height == 0:
        return {"pairs": 0}
    out: dict[str, Any] = {"pairs": p.height, "personas": p["persona_id"].n_unique()}
    for side in ("chosen", "rejected"):
        out[side] = {
            "mean_reward": round(float(p[f"reward_{side}"].mean()), 4),
            "mean_words": round(float(p[f"words_{side}"].mean()), 1),
            "mean_words_per_turn": round(float(p[f"wpt_{side}"].mean() or float("nan")), 2),
            "generators": {g: int((p[f"generator_{side}"] == g).sum()) for g in gens},
        }
    ratio = (p["words_chosen"] / p["words_rejected"].clip(1)).to_numpy()
    out["words_ratio_median"] = round(float(np.median(ratio)), 3)
    out["chosen_shorter_share"] = round(float((p["words_chosen"] < p["words_rejected"]).mean()), 3)
    return out


def build_pairs(
    frame: pl.DataFrame,
    *,
    rule: PairRule | None = None,
    persona_column: str = "persona_id",
    prompt_column: str = "prompt",
    text_column: str = "dialogue",
    generator_column: str = "generator",
    id_column: str | None = None,
    split_column: str | None = None,
    parent_column: str | None = None,
) -> PairsResult:
    """Pairs from a frame scored by :func:`~chatlens.align.rewards.score_dialogues`.

    Needs the columns named by the parameters plus ``reward``, ``n_words``, ``words_per_turn``.
    ``parent_column`` (the person a sub-persona was drawn from) is copied to the held-out
    prompts as ``parent_id``: their answers are correlated, so ``evaluate`` resamples parents.
    """
    rule = rule or PairRule()
    need = [
        persona_column,
        prompt_column,
        text_column,
        generator_column,
        "reward",
        "n_words",
        "words_per_turn",
    ]
    need += [c for c in (split_column, parent_column) if c]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        msg = (
            f"pairs: columns {missing} not found; columns are {frame.columns}. Expected a "
            "scored dialogue table (persona, prompt, dialogue, generator)."
        )
        raise MissingColumnError(msg)
    if frame.height == 0:
        msg = "pairs: the dialogue table has no rows."
        raise SchemaError(msg)
    n_null = frame[persona_column].null_count()
    if n_null:
        # such rows could never be paired, and a null persona drawn as held out was lost from
        # the held-out prompts while still counted among the held-out personas
        msg = (
            f"pairs: {n_null} rows have no persona ({persona_column!r} is null). Expected the "
            "persona each dialogue was written for on every row."
        )
        raise SchemaError(msg)
    df = frame.select(
        pl.col(persona_column).alias("persona_id"),
        pl.col(prompt_column).cast(pl.String).alias("prompt"),
        pl.col(text_column).cast(pl.String).alias("text"),
        pl.col(generator_column).cast(pl.String).fill_null("unknown").alias("generator"),
        pl.col("reward").cast(pl.Float64),
        pl.col("n_words").cast(pl.Float64),
        pl.col("words_per_turn").cast(pl.Float64),
        (
            pl.col(id_column).cast(pl.String)
            if id_column
            else pl.int_range(0, pl.len()).cast(pl.String)
        ).alias("dialogue_id"),
        *([pl.col(split_column).alias("_split")] if split_column else []),
        *([pl.col(parent_column).cast(pl.String).alias("_parent")] if parent_column else []),
    )
    rows_in = df.height
    # The same dialogue twice (overlapping inputs, a synthesis rerun from the cache) would enter
    # every pair it wins or loses twice and fill the persona's cap with copies of one pair.
    copy = ~pl.struct("persona_id", "text").is_first_distinct() & pl.col("text").is_not_null()
    copies = df.filter(copy)["generator"].value_counts(sort=True)
    df = df.filter(~copy)
    multi = (
        df.filter(pl.col("prompt").is_not_null())
        .group_by("persona_id")
        .agg(pl.col("prompt").n_unique().alias("n"))
        .filter(pl.col("n") > 1)
        .sort("persona_id")
    )
    if multi.height:
        # the pair takes the chosen side's prompt: a rejected dialogue written for another
        # prompt (two runs both numbering personas from 0) would be trained as its answer
        msg = (
            f"pairs: {multi.height} personas have more than one prompt (persona "
            f"{multi['persona_id'][0]!r}: {multi['n'][0]} prompts). The chosen and rejected "
            f"dialogues of a pair must answer one prompt: give each persona its own id in "
            f"{persona_column!r} (inputs from two runs numbered from 0?)."
        )
        raise SchemaError(msg)
    split = df["_split"].alias(split_column) if split_column else None
    held = _heldout(df["persona_id"], split, rule)
    df = df.drop("_split", strict=False)
    is_held = df["persona_id"].is_in(list(held))
    heldout = (
        df.filter(is_held)
        .group_by("persona_id", maintain_order=True)
        .agg(
            # the persona's prompt: a row without one (first or not) must not blank it
            pl.col("prompt").drop_nulls().first(),
            *([pl.col("_parent").first().alias("parent_id")] if parent_column else []),
        )
        .sort("persona_id")
    )
    # a held-out persona with no prompt on any row cannot be evaluated: left out, counted
    heldout_without_prompt = heldout["prompt"].null_count()
    heldout = heldout.filter(pl.col("prompt").is_not_null())
    df = df.drop("_parent", strict=False)
    length = "n_words" if rule.length_measure == "dialogue" else "words_per_turn"
    usable = df.filter(
        ~is_held
        & (pl.col(length).is_not_null() if rule.length_control != "none" else pl.lit(True))
        & pl.col("reward").is_not_null()
        & pl.col("reward").is_not_nan()
        & pl.col("text").is_not_null()
        & pl.col("prompt").is_not_null()
    )
    reward = usable["reward"].to_numpy()
    words = usable[length].to_numpy()
    resid_info: dict[str, float] = {}
    if rule.length_control == "residual":
        ranked, resid_info = _residualise(reward, words, np.ones(len(reward), bool))
    else:
        ranked = reward
    usable = usable.with_columns(pl.Series("rank_reward", ranked), pl.Series("raw_reward", reward))

    def candidates(col: str) -> tuple[pl.DataFrame, float]:
        sd = float(np.std(usable[col].to_numpy(), ddof=1)) if usable.height > 1 else 0.0
        a = usable.rename({c: f"{c}_chosen" for c in usable.columns if c != "persona_id"})
        b = usable.rename({c: f"{c}_rejected" for c in usable.columns if c != "persona_id"})
        joined = a.join(b, on="persona_id").with_columns(
            (pl.col(f"{col}_chosen") - pl.col(f"{col}_rejected")).alias("gap")
        )
        return joined.filter(pl.col("gap") > rule.k * sd), sd

    before, sd_raw = candidates("raw_reward")
    stage, sd = candidates("rank_reward") if rule.length_control == "residual" else (before, sd_raw)
    counts = {
        "dialogues_in": rows_in,
        "dialogues_duplicate": rows_in - df.height,
        "heldout_personas": len(held),
        "heldout_personas_without_prompt": heldout_without_prompt,
        "dialogues_usable": usable.height,
        "pairs_gap_rule": before.height,
    }
    if rule.length_control == "ratio":
        lo, hi = rule.ratio_bounds
        r = pl.col(f"{length}_chosen") / pl.col(f"{length}_rejected").clip(1)
        stage = stage.filter((r >= lo) & (r <= hi))
    counts["pairs_after_length_control"] = stage.height
    stage = stage.sort(
        ["gap", "dialogue_id_chosen", "dialogue_id_rejected"], descending=[True, False, False]
    )
    if rule.balance and stage.height:
        n = stage.group_by("generator_chosen", "generator_rejected").len()
        rev = n.rename(
            {
                "generator_chosen": "generator_rejected",
                "generator_rejected": "generator_chosen",
                "len": "n_reverse",
            }
        )
        stage = (
            # the row order is the "largest gap first" order the caps below keep: a join that
            # reordered rows would change which pairs survive
            stage.join(rev, on=["generator_chosen", "generator_rejected"], how="left",
                       maintain_order="left")
            .with_columns(
                pl.col("n_reverse").fill_null(0),
                pl.int_range(0, pl.len())
                .over("generator_chosen", "generator_rejected")
                .alias("_k"),
            )
            .filter(
                (pl.col("generator_chosen") == pl.col("generator_rejected"))
                | (
                    pl.col("_k")
                    < (pl.max_horizontal(pl.col("n_reverse"), 1) * rule.balance_ratio).ceil()
                )
            )
            .drop("n_reverse", "_k")
        )
    counts["pairs_after_balance"] = stage.height
    if rule.cap_per_persona is not None and stage.height:
        stage = stage.filter(pl.int_range(0, pl.len()).over("persona_id") < rule.cap_per_persona)
    counts["pairs_final"] = stage.height
    pairs = stage.sort("persona_id", "gap", descending=[False, True]).select(
        "persona_id",
        pl.col("prompt_chosen").alias("prompt"),
        pl.col("text_chosen").alias("chosen"),
        pl.col("text_rejected").alias("rejected"),
        "dialogue_id_chosen",
        "dialogue_id_rejected",
        "generator_chosen",
        "generator_rejected",
        pl.col("raw_reward_chosen").alias("reward_chosen"),
        pl.col("raw_reward_rejected").alias("reward_rejected"),
        "gap",
        pl.col("n_words_chosen").alias("words_chosen"),
        pl.col("n_words_rejected").alias("words_rejected"),
        pl.col("words_per_turn_chosen").alias("wpt_chosen"),
        pl.col("words_per_turn_rejected").alias("wpt_rejected"),
    )
    before_view = before.select(
        "persona_id",
        pl.col("raw_reward_chosen").alias("reward_chosen"),
        pl.col("raw_reward_rejected").alias("reward_rejected"),
        pl.col("n_words_chosen").alias("words_chosen"),
        pl.col("n_words_rejected").alias("words_rejected"),
        pl.col("words_per_turn_chosen").alias("wpt_chosen"),
        pl.col("words_per_turn_rejected").alias("wpt_rejected"),
        "generator_chosen",
        "generator_rejected",
    )
    gens = sorted(df["generator"].unique().to_list())
    card = {
        "rule": {
            "k": rule.k,
            "length_control": rule.length_control,
            "ratio_bounds": list(rule.ratio_bounds),
            "length_measure": rule.length_measure,
            "balance": rule.balance,
            "balance_ratio": rule.balance_ratio,
            "cap_per_persona": rule.cap_per_persona,
            "heldout_fraction": rule.heldout_fraction,
            "seed": rule.seed,
        },
        "reward_sd": round(sd_raw, 4),
        "threshold": round(rule.k * sd, 4),
        "residualisation": resid_info or None,
        "counts": counts,
        "before_length_control": _side(before_view, gens),
        "after": _side(pairs, gens),
        "dialogues_by_generator": {g: int((usable["generator"] == g).sum()) for g in gens},
        "duplicates_dropped_by_generator": dict(copies.iter_rows()),
    }
    return PairsResult(pairs, heldout, card)


#: ASCII punctuation: CommonMark lets a backslash escape any of it, which then stands for itself.
_MD_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
#: ... but ``&``, ``<`` and ``>`` become entities, so a reader of the raw file or an HTML
#: renderer that ignores backslashes still cannot meet a tag.
_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def md_text(value: object) -> str:
    r"""``value`` as literal Markdown text, one line: a user's string (a generator name) that
    would otherwise add markup, links, HTML, a table cell or a new line to the data card.

    Invisible characters (:data:`~chatlens.vocabulary.UNSAFE_CHARS`) become U+FFFD, whitespace
    runs (newlines too) one space, ``&<>`` entities, other ASCII punctuation backslash-escaped.

    >>> md_text("a`<img src=x>`|*b*\n# c")
    'a\\`&lt;img src\\=x&gt;\\`\\|\\*b\\* \\# c'
    """
    text = re.sub(UNSAFE_CHARS, "\ufffd", " ".join(str(value).split()))
    return _MD_PUNCTUATION.sub(lambda m: _HTML_ENTITIES.get(m[0], "\\" + m[0]), text)


def card_markdown(card: dict[str, Any]) -> str:
    """The data card as a short Markdown page (numbers only; the JSON holds everything).

    Every string from the user (generator names; the rule's values) goes through
    :func:`md_text`: a name holding a backtick, ``<img …>`` or a newline wrote markup, HTML or
    a heading of its own into the page.
    """
    c = card["counts"]
    rule = card["rule"]
    rule_text = (
        ", ".join(f"{k}={v}" for k, v in rule.items()) if isinstance(rule, dict) else str(rule)
    )
    lines = [
        "# Preference pairs: data card",
        "",
        f"Rule: {md_text(rule_text)}",
        "",
        "| step | count |",
        "|---|---|",
    ]
    lines += [f"| {md_text(k.replace('_', ' '))} | {v:,} |" for k, v in c.items()]
    lines += [
        "",
        "| | chosen (HAL rule) | rejected (HAL rule) | chosen (final) | rejected (final) |",
        "|---|---|---|---|---|",
    ]
    b, a = card["before_length_control"], card["after"]
    for key in ("mean_reward", "mean_words", "mean_words_per_turn"):
        vals = [s.get(side, {}).get(key, "–") for s in (b, a) for side in ("chosen", "rejected")]
        lines.append(f"| {key.replace('_', ' ')} | " + " | ".join(str(v) for v in vals) + " |")
    lines.append(
        f"| chosen shorter (share) | {b.get('chosen_shorter_share', '–')} | | "
        f"{a.get('chosen_shorter_share', '–')} | |"
    )
    lines += ["", "Generator mix (chosen / rejected), HAL rule → final:", ""]
    for g in card["dialogues_by_generator"]:
        bc = b.get("chosen", {}).get("generators", {}).get(g, 0)
        br = b.get("rejected", {}).get("generators", {}).get(g, 0)
        ac = a.get("chosen", {}).get("generators", {}).get(g, 0)
        ar = a.get("rejected", {}).get("generators", {}).get(g, 0)
        lines.append(f"* {md_text(g)}: {bc} / {br} → {ac} / {ar}")
    return "\n".join(lines) + "\n"
