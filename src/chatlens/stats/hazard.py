"""Does a refusal make a conversation end? A per-turn hazard comparison, fair to short chats.

The original study called a conversation "abandoned" when its refusal was the last message. In
LMSYS most conversations have one or two turns, so most refusals are "last" whatever the user
felt, and nothing was compared with how often conversations end after a *normal* answer.

The fair version treats each assistant turn as a moment at risk of being the last one
(discrete-time survival analysis): the **hazard** at turn t is P(conversation ends after turn t |
it reached turn t). We compare the hazard after a refusal with the hazard after a normal answer
*at the same turn position* (strata = turns), pooled with the Mantel–Haenszel estimators
(``statsmodels.stats.contingency_tables.StratifiedTable``) and tested with the
Cochran–Mantel–Haenszel test. A risk ratio of 1 means refusals do not change the chance of
stopping.

Caveat written into the method: some sources end sessions for reasons unrelated to the user
(Chatbot Arena votes, model switches); the hazard measures "ended", not "gave up".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats
from statsmodels.stats.contingency_tables import StratifiedTable

from chatlens.errors import InvalidParameterError
from chatlens.stats._validate import (
    binary_column,
    check_columns,
    check_confidence,
    check_frame,
    check_int,
)
from chatlens.stats.estimate import Estimate, TestResult
from chatlens.stats.grouped import grouped_rate

BY_TURN_COLUMNS = (
    "turn", "exposed", "n", "k", "rate", "ci_low", "ci_high", "method", "small_sample"
)


@dataclass(frozen=True, eq=False)
class HazardResult:
    """Result of :func:`ending_hazard`.

    Attributes
    ----------
    by_turn
        ``turn: Int64`` (the last stratum pools turns >= ``max_turn``), ``exposed: Boolean``,
        ``n`` (turns at risk), ``k`` (conversations that ended after this turn), ``rate`` (the
        hazard), ``ci_low``, ``ci_high`` (Wilson), ``method``, ``small_sample``.
    risk_ratio
        Mantel–Haenszel pooled hazard ratio exposed / unexposed over turn strata, with the
        Greenland–Robins (1985) interval.
    odds_ratio
        Mantel–Haenszel pooled odds ratio (statsmodels ``oddsratio_pooled_confint``,
        Robins–Breslow–Greenland variance).
    test
        Cochran–Mantel–Haenszel test of no association (``test_null_odds``, no continuity
        correction).
    n_conversations, n_turns
        Conversations and turns at risk used.
    """

    by_turn: pl.DataFrame
    risk_ratio: Estimate
    odds_ratio: Estimate
    test: TestResult
    n_conversations: int
    n_turns: int


def last_user_turns(messages: pl.DataFrame | pl.LazyFrame, *, conversation: str = "conversation_id",
                    turn: str = "turn", role: str = "role") -> pl.DataFrame | pl.LazyFrame:
    """``conversation, _last_user``: each conversation's last user turn (lazy in, lazy out), the
    ``last_user_turn`` of :func:`turns_from_messages`."""
    return (messages.filter(pl.col(role) == "user").group_by(conversation)
            .agg(pl.col(turn).max().alias("_last_user")))


def turns_from_messages(
    messages: pl.DataFrame | pl.LazyFrame,
    *,
    refusal: str = "is_refusal",
    conversation: str = "conversation_id",
    turn: str = "turn",
    role: str = "role",
    order: str = "message_index",
    last_user_turn: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Reduce a per-message frame to one row per assistant turn: ``conversation_id, turn,
    refused, ended``.

    ``refused`` is true when the turn's last assistant message is a refusal (in ``order`` when
    the frame has that column, else in row order): the message the user read last before writing
    again or leaving, as the features' ``abandoned_after_refusal`` and ``ended_after_non_refusal``
    read it. (Any refused message of the turn made a refusal followed by an answer a refused turn,
    so the hazard and the features disagreed on such a turn.) ``ended`` is true on
    the conversation's last assistant turn unless a user message follows it (the user wrote
    again: they did not leave; the log stops at an unanswered message, and the conversation has
    no ending event, as ``abandoned`` reads it). User-only trailing turns do not count as answers.
    ``last_user_turn`` (``conversation``, ``_last_user``): each conversation's last user turn,
    when ``messages`` holds the assistant rows only (a caller that scans a large table).

    Examples
    --------
    >>> import polars as pl
    >>> m = pl.DataFrame({"conversation_id": ["c1"] * 4 + ["c2"] * 3,
    ...                   "turn": [1, 1, 2, 2, 1, 1, 2],
    ...                   "role": ["user", "assistant"] * 3 + ["user"],
    ...                   "is_refusal": [None, True, None, False, None, True, None]})
    >>> turns_from_messages(m).rows()
    [('c1', 1, True, False), ('c1', 2, False, True), ('c2', 1, True, False)]
    """
    func = "turns_from_messages"
    df = check_frame(messages, func)
    check_columns(df, [refusal, conversation, turn, role], func)
    asst = df.filter(pl.col(role) == "assistant")
    if order in asst.columns:
        asst = asst.sort(conversation, order, maintain_order=True)
    y = binary_column(asst, refusal, func)
    # the last user turn of each conversation: a user message after the last answer means the
    # user did not leave there (the log stops at an unanswered message), as "abandoned" reads it
    last_user = (last_user_turns(df, conversation=conversation, turn=turn, role=role)
                 if last_user_turn is None else last_user_turn)
    out = (
        asst.group_by(conversation, turn)
        .agg((y.fill_null(0).last() == 1).alias("refused"))
        .join(last_user, on=conversation, how="left")
        .with_columns(
            ((pl.col(turn) == pl.col(turn).max().over(conversation))
             & (pl.col("_last_user").fill_null(pl.col(turn)) <= pl.col(turn))).alias("ended"))
        .drop("_last_user")
        .sort(conversation, turn)
    )
    return out.rename({conversation: "conversation_id", turn: "turn"}, strict=False)


def ending_hazard(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    exposure: str = "refused",
    conversation: str = "conversation_id",
    turn: str = "turn",
    ended: str | None = "ended",
    max_turn: int = 10,
    confidence: float = 0.95,
    min_n: int = 30,
) -> HazardResult:
    """Hazard of the conversation ending after a refusal vs after a normal answer, per turn.

    Parameters
    ----------
    frame
        One row per (conversation, assistant turn), e.g. from :func:`turns_from_messages`.
    exposure
        Boolean/0-1 column: the assistant refused at this turn.
    conversation, turn
        Conversation id and 1-based turn number columns; (conversation, turn) must be unique.
    ended
        Boolean/0-1 column: the conversation ended after this turn. ``None`` derives it as
        "this is the conversation's last turn in the frame".
    max_turn
        Turns >= ``max_turn`` form one stratum (late turns are sparse).
    confidence
        Level of all intervals.
    min_n
        Per-turn cells with fewer turns at risk are flagged ``small_sample`` (and warned about).

    Returns
    -------
    HazardResult

    Examples
    --------
    >>> import polars as pl
    >>> t = pl.DataFrame({
    ...     "conversation_id": ["a", "a", "b", "c", "c", "d", "e", "e", "f", "g"],
    ...     "turn": [1, 2, 1, 1, 2, 1, 1, 2, 1, 1],
    ...     "refused": [False, True, True, False, False, True, True, False, False, False],
    ... })
    >>> r = ending_hazard(t, ended=None, min_n=1)
    >>> r.by_turn.select("turn", "exposed", "n", "k").rows()
    [(1, False, 4, 2), (1, True, 3, 2), (2, False, 2, 2), (2, True, 1, 1)]
    >>> round(r.risk_ratio.value, 3), r.n_conversations
    (1.188, 7)
    """
    func = "ending_hazard"
    df = check_frame(frame, func)
    need = [exposure, conversation, turn] + ([ended] if ended else [])
    check_columns(df, need, func)
    check_int(max_turn, "max_turn", func, minimum=1)
    check_confidence(confidence, func)
    check_int(min_n, "min_n", func, minimum=0)
    if not df.schema[turn].is_integer():
        msg = f"{func}: turn column {turn!r} must be integer. Got dtype {df.schema[turn]}."
        raise InvalidParameterError(msg)
    x = binary_column(df, exposure, func)
    end_expr = (
        binary_column(df, ended, func)
        if ended
        else (pl.col(turn) == pl.col(turn).max().over(conversation)).cast(pl.Int64)
    )
    data = df.select(
        pl.col(conversation).alias("_conv"), pl.col(turn).alias("_turn"),
        x.alias("_x"), end_expr.alias("_end"),
    ).drop_nulls()
    if data.height == 0:
        msg = f"{func}: no complete (conversation, turn, {exposure}) rows. Got {df.height} rows."
        raise InvalidParameterError(msg)
    dup = data.select(pl.struct("_conv", "_turn").is_duplicated().sum()).item()
    if dup:
        msg = (
            f"{func}: (conversation, turn) must be unique, one row per assistant turn. Got {dup} "
            "duplicated rows; reduce messages with turns_from_messages first."
        )
        raise InvalidParameterError(msg)
    if int(data["_turn"].min()) < 1:
        msg = f"{func}: turns must be >= 1. Got {int(data['_turn'].min())}."
        raise InvalidParameterError(msg)
    data = data.with_columns(
        pl.min_horizontal(pl.col("_turn"), pl.lit(max_turn)).alias("turn"),
        (pl.col("_x") == 1).alias("exposed"),
    )
    by_turn = grouped_rate(
        data, "_end", ["turn", "exposed"], confidence=confidence, min_n=min_n
    ).select(BY_TURN_COLUMNS)
    # 2 × 2 × K tables: rows exposed / unexposed, columns ended / continued.
    wide = by_turn.pivot(on="exposed", index="turn", values=["n", "k"]).fill_null(0).sort("turn")
    for c in ("n_true", "n_false", "k_true", "k_false"):
        if c not in wide.columns:
            wide = wide.with_columns(pl.lit(0, dtype=pl.Int64).alias(c))
    a = wide["k_true"].to_numpy().astype(float)
    n1 = wide["n_true"].to_numpy().astype(float)
    c = wide["k_false"].to_numpy().astype(float)
    n0 = wide["n_false"].to_numpy().astype(float)
    informative = (n1 > 0) & (n0 > 0)
    if not informative.any():
        msg = (
            f"{func}: no turn position has both refused and non-refused turns, so no comparison "
            f"is possible. Got {int(n1.sum())} refused and {int(n0.sum())} other turns."
        )
        raise InvalidParameterError(msg)
    a, n1, c, n0 = a[informative], n1[informative], c[informative], n0[informative]
    tables = np.stack([np.stack([a, n1 - a]), np.stack([c, n0 - c])])  # (2, 2, K)
    st = StratifiedTable(tables)
    alpha = 1.0 - confidence
    zc = stats.norm.ppf(1.0 - alpha / 2.0)
    n_tot = n1 + n0
    r_sum = float(np.sum(a * n0 / n_tot))
    s_sum = float(np.sum(c * n1 / n_tot))
    nan = float("nan")
    if r_sum > 0 and s_sum > 0:
        rr = r_sum / s_sum
        var = float(np.sum((n1 * n0 * (a + c) - a * c * n_tot) / n_tot**2)) / (r_sum * s_sum)
        rr_lo, rr_hi = rr * math.exp(-zc * math.sqrt(var)), rr * math.exp(zc * math.sqrt(var))
    else:
        rr, rr_lo, rr_hi = (r_sum / s_sum if s_sum > 0 else nan), nan, nan
    n_turns = int(n_tot.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        or_lo, or_hi = st.oddsratio_pooled_confint(alpha=alpha)
        cmh = st.test_null_odds(correction=False)
    return HazardResult(
        by_turn=by_turn,
        risk_ratio=Estimate(float(rr), float(rr_lo), float(rr_hi), n_turns,
                            "mantel-haenszel hazard ratio over turns, greenland-robins CI",
                            confidence),
        odds_ratio=Estimate(float(st.oddsratio_pooled), float(or_lo), float(or_hi), n_turns,
                            "mantel-haenszel odds ratio over turns (statsmodels StratifiedTable)",
                            confidence),
        test=TestResult(float(cmh.statistic), float(cmh.pvalue), 1.0, n_turns,
                        "cochran-mantel-haenszel (statsmodels test_null_odds, no correction)"),
        n_conversations=int(data["_conv"].n_unique()),
        n_turns=n_turns,
    )
