"""Behaviour tables of a run: rates with confidence intervals, comparisons, the ending hazard.

Computed from the run directory's Parquet tables (not from memory), so they can be rebuilt for
any finished run and scale with the corpus: every table is a group-by over the conversations
table (one row per conversation) or the assistant turns, then the statistics layer adds the
intervals and tests. Each table records its method in its own columns (``method``,
``p_adjusted``) so a CSV read on its own still says how it was made.

Default profile (``tables/*.csv``):

=============================== =================================================================
refusal_by_model                share of conversations with ≥1 refusal, Wilson 95% CI per model
refusal_by_language             the same per language
refusal_model_vs_rest           each model against all other conversations: risk difference,
                                ratio (MOVER-R CI), odds ratio, score test (Fisher's exact
                                test where an expected count is below 5), Benjamini–Hochberg p
refusal_type_by_model           among refused conversations: capability / policy / mixed shares
reaction_by_refusal_type        what the user did after the first refusal (rephrase, jailbreak,
                                pushback, accept, new_topic, clarify, abandoned), per refusal type
jailbreak_after_refusal_by_model share of refused conversations with a jailbreak attempt after it
followup_sentiment_by_type      mean sentiment of the user's follow-up (t CI), per refusal type
sentiment_after_refusal_vs_answer mean sentiment of the user's next message after the first
                                refusal (all, and per type) vs after the first ordinary answer
jailbreak_around_refusal_by_model share of refused conversations with a jailbreak attempt before
                                and after the first refusal, per model and overall
ending_hazard_by_turn           P(conversation ends | turn, refused or not), Wilson CIs
=============================== =================================================================

The legacy profile writes the original study's CSVs instead (``seed-study.md`` §8.1–§8.3).
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from chatlens import vocabulary
from chatlens._repr import short_repr
from chatlens.corpus.summary import group_labels
from chatlens.corpus.tablefile import neutralise_formulas
from chatlens.errors import (
    ChatlensError,
    DegenerateVarianceWarning,
    InvalidParameterError,
    SmallSampleWarning,
)
from chatlens.vocabulary import ALL_LABEL

#: Reaction labels of the report tables, in column order (abandoned last).
REACTIONS = (*vocabulary.REACTIONS, vocabulary.ABANDONED)
REFUSAL_TYPES = ("capability", "policy", "mixed")


@dataclass(frozen=True)
class BehaviourTables:
    """The tables of one run and the headline numbers that go into ``summary.json``."""

    tables: dict[str, pl.DataFrame]
    headline: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return short_repr(self)

    def write(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, frame in self.tables.items():
            path = directory / f"{name}.csv"
            neutralise_formulas(frame).write_csv(path, float_precision=6)
            paths.append(path)
        return paths


def _estimate(est: Any) -> dict[str, Any]:
    return {
        "value": est.value,
        "ci_low": est.ci_low,
        "ci_high": est.ci_high,
        "n": est.n,
        "method": est.method,
        "estimable": est.estimable,  # False: degenerate (zero width, no variance); not a result
    }


def _attempt(name: str, compute: Any, notes: dict[str, str]) -> Any:
    """Run one statistic; if the data cannot support it (too few, no variation), note why.

    A tiny or degenerate corpus (one model, no refusals at some turn) must still produce a run
    directory; the statistics layer says precisely what was missing, and that goes into
    ``summary.json`` instead of a crash.
    """
    try:
        return compute()
    except InvalidParameterError as exc:
        notes[name] = f"not computed: {exc}"
        return None


def small_group_n() -> int:
    """Groups with fewer units than this are flagged ``small_sample`` (``report/presentation.yaml``)."""
    from chatlens import datafiles

    return int(datafiles.load("report/presentation.yaml").small_group_n)


def _sentiment_tables(refused: pl.DataFrame, conversations: pl.DataFrame, min_n: int,
                      tables: dict[str, pl.DataFrame], headline: dict[str, Any]) -> None:
    """Follow-up sentiment after the first refusal vs after the first ordinary answer."""
    from chatlens.stats import grouped_mean, welch_t

    after_refusal = refused.filter(pl.col("followup_sentiment").is_not_null())
    if after_refusal.height:
        tables["followup_sentiment_by_type"] = grouped_mean(
            after_refusal, "followup_sentiment", by="first_refusal_type", min_n=min_n
        )
    if "answer_followup_sentiment" not in conversations.columns:
        return
    after_answer = conversations.filter(pl.col("answer_followup_sentiment").is_not_null())
    long = pl.concat([
        after_answer.select(pl.lit("an ordinary answer").alias("follows"),
                            pl.col("answer_followup_sentiment").alias("sentiment")),
        after_refusal.select(pl.lit("a refusal (any type)").alias("follows"),
                             pl.col("followup_sentiment").alias("sentiment")),
        after_refusal.sort("first_refusal_type").select(
            pl.format("a {} refusal", "first_refusal_type").alias("follows"),
            pl.col("followup_sentiment").alias("sentiment")),
    ])
    if long.height:
        order = long.get_column("follows").unique(maintain_order=True).to_list()
        means = grouped_mean(long, "sentiment", by="follows", min_n=min_n)
        tables["sentiment_after_refusal_vs_answer"] = means.sort(
            pl.col("follows").replace_strict(order, list(range(len(order))), default=len(order)), "follows"
        )
    if after_refusal.height >= 2 and after_answer.height >= 2:
        diff = welch_t(after_refusal.get_column("followup_sentiment").to_numpy(),
                       after_answer.get_column("answer_followup_sentiment").to_numpy())
        headline["sentiment_after_refusal_minus_answer"] = _estimate(diff.effect("mean_difference"))


def _ending_hazard(messages: pl.LazyFrame, min_n: int,
                   rated_end: pl.DataFrame | None = None) -> tuple[Any, dict[str, str]]:
    """The ending hazard from the run's messages, and the note if it could not be computed.

    ``rated_end``: ids of conversations from sources whose transcripts end at a rated response
    (HH-RLHF, DICES); they are left out, since where they end is the dataset's (docs/labels.md).
    """
    from chatlens.stats import ending_hazard, turns_from_messages
    from chatlens.stats.hazard import last_user_turns

    notes: dict[str, str] = {}
    # only assistant rows are materialised (1M LMSYS-shaped: 2.6 -> 1.5 s); of the user half only
    # each conversation's last user turn is aggregated in the scan
    # message_index orders a turn's assistant messages: the last one decides whether it refused
    scan = messages.select(c for c in ("conversation_id", "message_index", "turn", "role", "refusal")
                           if c in messages.collect_schema().names())
    rated = rated_end is not None and rated_end.height > 0
    if rated:
        scan = scan.join(rated_end.lazy(), on="conversation_id", how="anti")
    # a user message after the last answer: the user did not leave there (as "abandoned")
    assistant, last_user = pl.collect_all(
        [scan.filter(pl.col("role") == "assistant"), last_user_turns(scan)])
    turns = turns_from_messages(assistant, refusal="refusal", last_user_turn=last_user)
    if rated:
        # one line: with nothing left, a second "not computed: no assistant turn outside those
        # sources" beside this one said the same thing twice in the report's not-estimable list
        notes["ending_hazard_sources"] = (
            f"{rated_end.height:,} conversation(s) left out of the ending hazard"
            + (" (all of the run's, so it is not computed)" if not turns.height else "")
            + ": their source's transcripts always end at a rated response (HH-RLHF, DICES), so "
            "where they end says nothing about the user.")
    hazard = None
    if turns.height and turns.get_column("refused").n_unique() > 1:
        hazard = _attempt("ending_hazard", lambda: ending_hazard(turns, min_n=min_n), notes)
    elif turns.height or not rated:  # said, not silently left out
        notes["ending_hazard"] = (
            "not computed: it compares answers with refusals, and "
            + ("the run has no assistant turn." if not turns.height else
               "every assistant turn was a refusal." if turns.get_column("refused").all() else
               "no assistant turn was a refusal."))
    return hazard, notes


def _rated_end_ids(conversations: pl.DataFrame) -> pl.DataFrame | None:
    """``conversation_id`` of the conversations whose source ends every transcript at a rated
    response (:func:`chatlens.corpus.readers.rated_end_sources`), or None."""
    from chatlens.corpus.readers import rated_end_sources

    if "source" not in conversations.columns:
        return None
    return conversations.filter(pl.col("source").is_in(rated_end_sources())).select("conversation_id")


def behaviour_tables(
    run_dir: str | Path, *, min_n: int | None = None, messages: pl.LazyFrame | None = None
) -> BehaviourTables:
    """Build the default-profile tables from a run directory written by ``analyze``.

    ``min_n``: groups below it are flagged ``small_sample`` (default: :func:`small_group_n`).
    ``messages``: the run's messages table when it is read from elsewhere than
    ``run_dir/messages.parquet`` (``analyze`` reads its parts while it writes that file).
    """
    from chatlens.stats import compare_rates, grouped_rate, proportion, rate_table

    run_dir = Path(run_dir)
    min_n = small_group_n() if min_n is None else min_n
    conversations = pl.read_parquet(run_dir / "conversations.parquet", glob=False)
    if "has_refusal" not in conversations.columns:
        msg = f"{run_dir}/conversations.parquet has no behaviour columns; run analyze with detection on."
        raise ChatlensError(msg)
    # a model called "(all)" or "(unknown)" must not merge with the pooled or missing rows
    conversations = conversations.with_columns(
        group_labels(pl.col(c)) for c in ("model", "language"))
    tables: dict[str, pl.DataFrame] = {}
    headline: dict[str, Any] = {}
    notes: dict[str, str] = {}
    with warnings.catch_warnings(), ThreadPoolExecutor(1) as pool:
        # Small groups are flagged in each table's ``small_sample`` column, and zero spread shows
        # as sd = 0 with a zero-width interval, so the run does not also warn on stderr.
        warnings.simplefilter("ignore", SmallSampleWarning)
        warnings.simplefilter("ignore", DegenerateVarianceWarning)
        # the hazard reads the messages table: polars runs it on another core meanwhile
        if messages is None:
            messages = pl.scan_parquet(run_dir / "messages.parquet", glob=False)
        rated_ids = _rated_end_ids(conversations)
        hazard_job = pool.submit(_ending_hazard, messages, min_n, rated_ids)
        n_conv = conversations.height
        k_ref = int(conversations.get_column("has_refusal").sum() or 0)
        if n_conv:
            headline["refusal_rate"] = _estimate(proportion(k_ref, n_conv))
        tables["refusal_by_model"] = grouped_rate(
            conversations, "has_refusal", by="model", min_n=min_n
        ).sort("rate", descending=True)
        tables["refusal_by_language"] = grouped_rate(
            conversations, "has_refusal", by="language", min_n=min_n
        ).sort("n", descending=True)
        n_models = conversations.get_column("model").n_unique()
        if n_models < 2 or not 0 < k_ref < n_conv:  # said, not silently left out
            notes["refusal_model_vs_rest"] = (
                "not computed: " + ("the run has one model, so there is no rest to compare with."
                                    if n_models < 2 else
                                    f"{'no' if k_ref == 0 else 'every'} conversation has a refusal, "
                                    "so every model's rate equals the rest's."))
        else:
            vs_rest = _attempt(
                "refusal_model_vs_rest",
                lambda: compare_rates(conversations, "has_refusal", by="model"),
                notes,
            )
            if vs_rest is not None:  # small groups flagged, as in every other table
                tables["refusal_model_vs_rest"] = vs_rest.with_columns(
                    small_sample=pl.col("n") < min_n)

        refused = conversations.filter(pl.col("has_refusal"))
        if refused.height:
            typed = refused.with_columns(
                [(pl.col("first_refusal_type") == t).alias(t) for t in REFUSAL_TYPES]
            )
            tables["refusal_type_by_model"] = rate_table(typed, list(REFUSAL_TYPES), by="model", min_n=min_n)
            # in a source whose transcripts end at a rated response (HH-RLHF, DICES) leaving
            # cannot be observed: "abandoned" is missing there, and a refusal with nothing after
            # it (abandoned_after_first_refusal null) has no known outcome at all
            known = pl.col("abandoned_after_first_refusal").is_not_null()
            rated_end = (pl.col("conversation_id").is_in(rated_ids.get_column("conversation_id").implode())
                         if rated_ids is not None else pl.lit(value=False))
            reacted = refused.with_columns(
                [
                    pl.when(known)
                    .then((pl.col("reaction_after_first_refusal") == r).fill_null(value=False))
                    .alias(r)
                    for r in REACTIONS[:-1]
                ]
                + [pl.when(~rated_end).then(pl.col("abandoned_after_first_refusal")).alias("abandoned")]
            )
            by_type = rate_table(reacted, list(REACTIONS), by="first_refusal_type", min_n=min_n)
            overall = rate_table(reacted, list(REACTIONS), min_n=min_n).with_columns(
                pl.lit(ALL_LABEL).alias("first_refusal_type")
            )
            # an outcome nothing could be observed for (abandonment in HH-RLHF / DICES) has no
            # row rather than a NaN rate
            observed = pl.col("n") > 0
            overall = overall.filter(observed)
            tables["reaction_by_refusal_type"] = pl.concat(
                [by_type.filter(observed), overall.select(by_type.columns)], how="vertical_relaxed"
            )
            # unrounded, as every other value of summary.json (rounded to 4 decimals, 12/63 read
            # 0.1905 there beside the table's 0.190476)
            headline["reactions_after_first_refusal"] = {
                row["outcome"]: row["rate"] for row in overall.iter_rows(named=True)
            }
            # a jailbreak after the refusal cannot be seen where the transcript was cut at it
            # (abandoned_after_first_refusal null: HH-RLHF / DICES); counted as "no attempt", such
            # refusals made this table's n (2,888 on harmless-base) disagree with the reactions'
            # (1,902 who wrote again) about the same "after the first refusal"
            after = pl.when(known).then(pl.col("jailbreak_after_first_refusal").fill_null(value=False))
            tables["jailbreak_after_refusal_by_model"] = grouped_rate(
                refused.with_columns(after.alias("jailbreak_after_first_refusal")),
                "jailbreak_after_first_refusal",
                by="model",
                min_n=min_n,
            ).sort("rate", descending=True)
            around = refused.with_columns(
                pl.col("jailbreak_before_first_refusal").fill_null(value=False).alias("before"),
                after.alias("after"),
            )
            by_model = rate_table(around, ["before", "after"], by="model", min_n=min_n)
            all_models = rate_table(around, ["before", "after"], min_n=min_n).with_columns(
                pl.lit(ALL_LABEL).alias("model")
            )
            tables["jailbreak_around_refusal_by_model"] = pl.concat(
                [by_model, all_models.select(by_model.columns)], how="vertical_relaxed"
            )
            _sentiment_tables(refused, conversations, min_n, tables, headline)

        hazard, hazard_notes = hazard_job.result()
        notes.update(hazard_notes)
        if hazard is not None:
            tables["ending_hazard_by_turn"] = hazard.by_turn
            headline["ending_after_refusal_vs_answer"] = {
                "risk_ratio": _estimate(hazard.risk_ratio),
                "odds_ratio": _estimate(hazard.odds_ratio),
                "note": "conversation ends after a refusal vs after a normal answer at the same turn "
                "(Mantel-Haenszel over turns); the original study's 'abandonment' had no such baseline",
            }
    if notes:
        headline["notes"] = notes
    return BehaviourTables(tables=tables, headline=headline)


def legacy_tables(run_dir: str | Path, *, messages: pl.LazyFrame | None = None) -> BehaviourTables:
    """The original study's CSVs (``seed-study.md`` §8.1–§8.3) from a legacy-profile run.

    ``study1_detailed_results`` is the per-conversation table with the original's columns;
    ``study1_model_breakdown`` groups refused conversations by model; ``study1_summary_table``
    is the Metric/Value sheet with its sections, percentages and tests as the original wrote
    them. They come from the conversations table alone (``messages`` is accepted so every table
    set is called the same way, and not read).
    """
    from chatlens.stats.legacy import legacy_tests

    run_dir = Path(run_dir)
    conv = pl.read_parquet(run_dir / "conversations.parquet", glob=False)
    if "conversation_abandoned" not in conv.columns:
        msg = f"{run_dir}/conversations.parquet has no legacy columns; run analyze with --profile legacy."
        raise ChatlensError(msg)
    for text in ("refusal_text", "user_response_after_refusal"):
        if text not in conv.columns:
            conv = conv.with_columns(pl.lit("").alias(text))
    detailed = conv.select(
        pl.col("conversation_id").alias("conv_id"),
        "model",
        "language",
        "num_turns",
        "refusal_type",
        "refusal_turn",
        "has_jailbreak_attempt",
        "jailbreak_turn",
        "user_sentiment_after_refusal",
        "profanity_count_after_refusal",
        "conversation_abandoned",
        "refusal_text",
        "user_response_after_refusal",
        "moderation_flagged",
    )
    refused = detailed.filter(pl.col("refusal_type") != "none")
    breakdown = (
        refused.group_by("model")
        .agg(
            pl.len().alias("total_refusals"),
            (pl.col("refusal_type") == "instrumental").sum().alias("instrumental_count"),
            pl.col("has_jailbreak_attempt").sum().alias("jailbreak_count"),
            pl.col("conversation_abandoned").sum().alias("abandonment_count"),
        )
        .sort(["total_refusals", "model"], descending=[True, False])
    )
    total = detailed.height
    n_ref = refused.height

    def pct(k: int, n: int) -> str:
        return f"{(100 * k / n if n else 0):.2f}%"

    rows: list[tuple[str, str]] = [
        ("OVERALL STATISTICS", ""),
        ("Total Conversations", f"{total:,}"),
        ("Conversations with Refusals", f"{n_ref:,}"),
        ("Overall Refusal Rate", pct(n_ref, total)),
        ("", ""),
        ("REFUSAL TYPE BREAKDOWN", ""),
    ]
    for label in ("instrumental", "value_based", "mixed"):
        k = int((refused.get_column("refusal_type") == label).sum())
        rows.append((f"{label.title()} Refusals", f"{k:,} ({pct(k, total)} of all conversations)"))
    jb_all = int(detailed.get_column("has_jailbreak_attempt").sum() or 0)
    jb_ref = int(refused.get_column("has_jailbreak_attempt").sum() or 0)
    ab_ref = int(refused.get_column("conversation_abandoned").sum() or 0)
    rows += [
        ("", ""),
        ("BACKLASH BEHAVIORS", ""),
        ("Jailbreak Attempts (Overall)", f"{jb_all:,} ({pct(jb_all, total)})"),
        ("Jailbreak Rate in Refusals", pct(jb_ref, n_ref)),
        ("Abandonment Rate in Refusals", pct(ab_ref, n_ref)),
        ("", ""),
        ("SENTIMENT ANALYSIS", ""),
    ]
    sent = refused.filter(pl.col("user_sentiment_after_refusal").is_not_null())
    for label in ("instrumental", "value_based", "mixed"):
        s = sent.filter(pl.col("refusal_type") == label).get_column("user_sentiment_after_refusal")
        if s.len():
            sd = s.std()
            rows.append(
                (f"{label.title()} - Mean Sentiment", f"{s.mean():.3f} (SD={(sd if sd is not None else float('nan')):.3f}, N={s.len():,})")
            )
    values = sent.get_column("user_sentiment_after_refusal")
    n_s = values.len()
    rows += [
        ("Negative Sentiment Rate", pct(int((values < -0.05).sum()), n_s)),
        ("Neutral Sentiment Rate", pct(int(((values >= -0.05) & (values <= 0.05)).sum()), n_s)),
        ("Positive Sentiment Rate", pct(int((values > 0.05).sum()), n_s)),
        ("", ""),
        ("PROFANITY USAGE", ""),
    ]
    followed = refused.filter(pl.col("user_sentiment_after_refusal").is_not_null())
    prof = followed.get_column("profanity_count_after_refusal")
    rows.append(("Users with Profanity (Overall)", pct(int((prof > 0).sum()), prof.len())))
    for label in ("instrumental", "value_based", "mixed"):
        p = followed.filter(pl.col("refusal_type") == label).get_column("profanity_count_after_refusal")
        if p.len():
            rows.append((f"{label.title()} - Profanity Rate", pct(int((p > 0).sum()), p.len())))
    tests = legacy_tests(detailed)
    rows += [("", ""), ("STATISTICAL SIGNIFICANCE", "")]
    if tests.ttest_instrumental_vs_value is not None:
        t = tests.ttest_instrumental_vs_value
        rows.append(("T-test (Inst vs Value)", f"t={t.t:.3f}, p={t.p_value:.4f}, d={t.cohens_d:.3f}"))
    for name, res in (
        ("Chi² (Refusal×Jailbreak)", tests.chi2_refusal_x_jailbreak),
        ("Chi² (Refusal×Abandonment)", tests.chi2_refusal_x_abandonment),
    ):
        if res is not None:
            rows.append((name, f"χ²={res.chi2:.3f}, p={res.p_value:.4f}, V={res.cramers_v:.3f}"))
    summary = pl.DataFrame(rows, schema={"Metric": pl.String, "Value": pl.String}, orient="row")
    headline = {
        "legacy_refusal_rate": n_ref / total if total else None,
        "legacy_abandonment_rate_in_refusals": ab_ref / n_ref if n_ref else None,
        "legacy_jailbreak_rate_in_refusals": jb_ref / n_ref if n_ref else None,
    }
    return BehaviourTables(
        tables={
            "study1_summary_table": summary,
            "study1_model_breakdown": breakdown,
            "study1_detailed_results": detailed,
        },
        headline=headline,
    )
