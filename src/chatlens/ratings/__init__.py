"""chatlens.ratings: win rates, Elo and Bradley–Terry with bootstrap CIs from pairwise ratings.

``rate(data, ...)`` is the one-call API behind ``chatlens ratings``; the pieces are public too:
``prepare_battles`` (validation + quarantine), ``build_cells`` (weighted aggregation),
``solve_bt`` (batched Newton BT), ``elo_random_orders`` / ``elo_replay``, ``tally`` /
``pairwise_matrices`` (win rates) and ``pair_test`` (sign test + soft-score CI).
"""

from __future__ import annotations

from chatlens._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "rate": "chatlens.ratings.api:rate",
    "rate_battles": "chatlens.ratings.api:rate_battles",
    "RatingResult": "chatlens.ratings.result:RatingResult",
    "BTConfig": "chatlens.ratings.api:BTConfig",
    "EloConfig": "chatlens.ratings.elo:EloConfig",
    "Battles": "chatlens.ratings.battles:Battles",
    "prepare_battles": "chatlens.ratings.battles:prepare_battles",
    "Cells": "chatlens.ratings.cells:Cells",
    "build_cells": "chatlens.ratings.cells:build_cells",
    "solve_bt": "chatlens.ratings.bt:solve_bt",
    "elo_replay": "chatlens.ratings.elo:elo_replay",
    "elo_random_orders": "chatlens.ratings.elo:elo_random_orders",
    "elo_bootstrap": "chatlens.ratings.elo:elo_bootstrap",
    "tally": "chatlens.ratings.winrate:tally",
    "pairwise_matrices": "chatlens.ratings.winrate:pairwise_matrices",
    "pair_test": "chatlens.ratings.significance:pair_test",
    "PairTest": "chatlens.ratings.significance:PairTest",
    "load_outcome_scale": "chatlens.ratings.outcomes:load_outcome_scale",
    "OutcomeScale": "chatlens.ratings.outcomes:OutcomeScale",
    "read_table": "chatlens.ratings.io:read_table",
    "write_result": "chatlens.ratings.io:write_result",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports("chatlens.ratings", globals(), _LAZY)
