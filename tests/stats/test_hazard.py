from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from statsmodels.stats.contingency_tables import StratifiedTable

from chatlens.errors import InvalidParameterError
from chatlens.stats.hazard import ending_hazard, turns_from_messages


def _simulate(n_conv: int, hazard_normal: float, hazard_refusal: float, seed: int) -> pl.DataFrame:
    """Conversations continue turn by turn; refusals happen with p=0.2 and change the stop chance."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {"conversation_id": [], "turn": [], "refused": [], "ended": []}
    alive = np.arange(n_conv)
    turn = 1
    while alive.size and turn <= 15:
        refused = rng.random(alive.size) < 0.2
        h = np.where(refused, hazard_refusal, hazard_normal)
        ended = (rng.random(alive.size) < h) | (turn == 15)
        rows["conversation_id"] += alive.tolist()
        rows["turn"] += [turn] * alive.size
        rows["refused"] += refused.tolist()
        rows["ended"] += ended.tolist()
        alive = alive[~ended]
        turn += 1
    return pl.DataFrame(rows)


def test_matches_statsmodels_stratified_table() -> None:
    df = _simulate(3000, 0.4, 0.6, seed=0)
    r = ending_hazard(df, max_turn=6)
    wide = r.by_turn.sort("turn", "exposed", descending=[False, True])
    tables = []
    for t in wide["turn"].unique().sort().to_list():
        e = wide.filter((pl.col("turn") == t) & pl.col("exposed")).row(0, named=True)
        u = wide.filter((pl.col("turn") == t) & ~pl.col("exposed")).row(0, named=True)
        tables.append([[e["k"], e["n"] - e["k"]], [u["k"], u["n"] - u["k"]]])
    st = StratifiedTable(np.array(tables, dtype=float).transpose(1, 2, 0))
    assert r.risk_ratio.value == pytest.approx(st.riskratio_pooled, rel=1e-10)
    assert r.odds_ratio.value == pytest.approx(st.oddsratio_pooled, rel=1e-10)
    lo, hi = st.oddsratio_pooled_confint()
    assert (r.odds_ratio.ci_low, r.odds_ratio.ci_high) == pytest.approx((lo, hi), rel=1e-10)
    assert r.test.p_value == pytest.approx(st.test_null_odds().pvalue, rel=1e-10)
    assert r.by_turn["turn"].max() == 6
    assert r.n_turns == df.height and r.n_conversations == 3000


def test_detects_effect_and_its_absence() -> None:
    eff = ending_hazard(_simulate(4000, 0.3, 0.45, seed=1), min_n=0)
    assert eff.risk_ratio.ci_low > 1.2 and eff.test.p_value < 1e-6
    assert eff.risk_ratio.contains(1.5)
    covered = 0
    for seed in range(40):
        null = ending_hazard(_simulate(1500, 0.35, 0.35, seed=100 + seed), min_n=0)
        covered += null.risk_ratio.contains(1.0)
    assert covered >= 35


def test_short_conversations_do_not_fake_abandonment() -> None:
    """Single-turn chats end after turn 1 whatever happened: the legacy 'abandonment' is 100 %,
    the hazard ratio is 1."""
    n = 400
    df = pl.DataFrame({"conversation_id": np.arange(n), "turn": np.ones(n, dtype=np.int64),
                       "refused": np.arange(n) % 4 == 0})
    r = ending_hazard(df, ended=None, min_n=0)
    assert r.risk_ratio.value == pytest.approx(1.0)


def test_derived_ended_equals_explicit() -> None:
    df = _simulate(500, 0.4, 0.5, seed=3)
    a = ending_hazard(df, min_n=0)
    b = ending_hazard(df.drop("ended"), ended=None, min_n=0)
    assert a.by_turn.equals(b.by_turn)


def test_errors() -> None:
    dup = pl.DataFrame({"conversation_id": ["a", "a"], "turn": [1, 1], "refused": [True, False]})
    with pytest.raises(InvalidParameterError, match="unique"):
        ending_hazard(dup, ended=None)
    none_refused = pl.DataFrame({"conversation_id": ["a", "b"], "turn": [1, 1], "refused": [False, False]})
    with pytest.raises(InvalidParameterError, match="no turn position has both"):
        ending_hazard(none_refused, ended=None, min_n=0)
    bad_turn = pl.DataFrame({"conversation_id": ["a"], "turn": [1.5], "refused": [True]})
    with pytest.raises(InvalidParameterError, match="integer"):
        ending_hazard(bad_turn, ended=None)
    zero = pl.DataFrame({"conversation_id": ["a", "b"], "turn": [0, 1], "refused": [True, False]})
    with pytest.raises(InvalidParameterError, match=">= 1"):
        ending_hazard(zero, ended=None)


def test_turns_from_messages_multiple_assistant_messages() -> None:
    m = pl.DataFrame({
        "conversation_id": ["c"] * 5,
        "turn": [1, 1, 1, 2, 2],
        "role": ["user", "assistant", "assistant", "user", "assistant"],
        "is_refusal": [None, False, True, None, False],
    })
    assert turns_from_messages(m).rows() == [("c", 1, True, False), ("c", 2, False, True)]


def test_a_user_message_after_the_last_answer_is_not_an_ending() -> None:
    """Reviewed bug: with a user message after every last answer, "abandoned" fell to 0% while
    the ending hazard still counted every last answer as the conversation ending there."""
    m = pl.DataFrame({"conversation_id": ["a"] * 3 + ["b"] * 2,
                      "turn": [1, 1, 2, 1, 1],
                      "role": ["user", "assistant", "user", "user", "assistant"],
                      "is_refusal": [None, True, None, None, False]})
    rows = turns_from_messages(m).rows()
    assert rows == [("a", 1, True, False), ("b", 1, False, True)]
    assistant = m.filter(pl.col("role") == "assistant")
    last_user = m.filter(pl.col("role") == "user").group_by("conversation_id").agg(
        pl.col("turn").max().alias("_last_user"))
    assert turns_from_messages(assistant, last_user_turn=last_user).rows() == rows


def test_a_turn_is_refused_when_its_last_assistant_message_is_a_refusal() -> None:
    """The hazard called a turn refused if ANY assistant message in it refused, while the
    features' abandoned_after_refusal / ended_after_non_refusal read the LAST one: a refusal the
    assistant followed with an answer (one ShareGPT dev turn) was an ending after a refusal in
    the hazard and after an answer in the features. Both read the last message now, in
    message_index order even when the rows come shuffled."""
    m = pl.DataFrame({
        "conversation_id": ["a"] * 3 + ["b"] * 3,
        "message_index": [0, 1, 2, 0, 1, 2],
        "turn": [1] * 6,
        "role": ["user", "assistant", "assistant"] * 2,
        "is_refusal": [None, True, False, None, False, True],
    })
    expected = [("a", 1, False, True), ("b", 1, True, True)]
    assert turns_from_messages(m).rows() == expected
    assert turns_from_messages(m.reverse()).rows() == expected
