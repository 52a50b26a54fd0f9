"""Online Elo: in the given order, over many random orders (HAL), or over bootstrap resamples.

Update (HAL §4.2, FastChat ``compute_elo``): E_A = 1 / (1 + base^((R_B − R_A)/scale));
R_A += K·(S_A − E_A); R_B −= K·(S_A − E_A). Soft scores (0.75, …) and ties (0.5) enter as S_A.

Online Elo depends on the order of the games; HAL therefore replays its games over 500 random
permutations and reports mean ± SD. The replays here are vectorised across orders: one Python
step per game updates all orders at once with numpy (an (n_orders,) vector per step), so 500
orders cost about as much as a few single replays. Permutations are drawn as successive
``rng.permutation(n)`` calls of ``numpy.random.default_rng(seed)``, the same stream as HAL's
notebook; orders are generated and replayed in chunks so memory stays bounded.

Cost: one replay of 1M games takes ~0.2 s; many orders cost ~5–15 µs per game per chunk of
orders (100 orders × 100k games ≈ 1.3 s), so 500 orders of a 1M-game Arena dump take minutes —
use Bradley–Terry (order-free, seconds) for Arena-sized inputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from chatlens._progress import track
from chatlens.errors import InvalidParameterError

#: max (orders × games) index elements held at once.
_CHUNK_ELEMENTS = 10_000_000


@dataclass(frozen=True)
class EloConfig:
    """Online Elo parameters (defaults: HAL's K = 32, start 1500; Arena uses K = 4, 1000)."""

    k: float = 32.0
    base: float = 10.0
    scale: float = 400.0
    init: float = 1500.0

    def __post_init__(self) -> None:
        if self.k <= 0 or self.scale <= 0 or self.base <= 1:
            msg = (
                "EloConfig needs k > 0, scale > 0 and base > 1. "
                f"Got k={self.k}, scale={self.scale}, base={self.base} instead."
            )
            raise InvalidParameterError(msg)


def elo_replay(
    a: np.ndarray, b: np.ndarray, y: np.ndarray, n_models: int, config: EloConfig = EloConfig()
) -> np.ndarray:
    """Replay games once, in the given order. Returns (n_models,) final ratings.

    Examples
    --------
    >>> import numpy as np
    >>> elo_replay(np.array([0]), np.array([1]), np.array([1.0]), 2).tolist()
    [1516.0, 1484.0]
    """
    ratings = [float(config.init)] * n_models
    k, base, scale = config.k, config.base, config.scale
    for ia, ib, s in zip(a.tolist(), b.tolist(), y.tolist(), strict=True):
        e = 1.0 / (1.0 + base ** ((ratings[ib] - ratings[ia]) / scale))
        d = k * (s - e)
        ratings[ia] += d
        ratings[ib] -= d
    return np.asarray(ratings)


def elo_replay_many(
    a: np.ndarray,
    b: np.ndarray,
    y: np.ndarray,
    n_models: int,
    orders: np.ndarray,
    config: EloConfig = EloConfig(),
) -> np.ndarray:
    """Replay games in many orders at once.

    Parameters
    ----------
    a, b, y
        Game arrays (model indices and score of A).
    orders
        (R, L) integer indices into the games: permutations (random orders) or draws with
        replacement (bootstrap); each row is one replay.

    Returns
    -------
    numpy.ndarray
        (R, n_models) final ratings.
    """
    rounds, length = orders.shape
    ratings = np.full(rounds * n_models, float(config.init))
    offset = (np.arange(rounds) * n_models)[:, None]
    fa = np.ascontiguousarray((a[orders] + offset).T)  # (L, R) flat indices
    fb = np.ascontiguousarray((b[orders] + offset).T)
    sy = np.ascontiguousarray(y[orders].T)
    k, lb, scale = config.k, np.log(config.base), config.scale
    for t in range(length):
        ia, ib = fa[t], fb[t]
        e = 1.0 / (1.0 + np.exp(lb * (ratings[ib] - ratings[ia]) / scale))
        d = k * (sy[t] - e)
        ratings[ia] += d
        ratings[ib] -= d
    return ratings.reshape(rounds, n_models)


def _chunks(total: int, length: int) -> Iterator[int]:
    size = max(1, _CHUNK_ELEMENTS // max(length, 1))
    done = 0
    while done < total:
        step = min(size, total - done)
        yield step
        done += step


def elo_random_orders(
    a: np.ndarray,
    b: np.ndarray,
    y: np.ndarray,
    n_models: int,
    *,
    n_orders: int,
    rng: np.random.Generator,
    config: EloConfig = EloConfig(),
) -> np.ndarray:
    """Final ratings after each of ``n_orders`` random permutations (HAL). Shape (R, n_models)."""
    if n_orders < 1:
        msg = f"n_orders must be >= 1. Got {n_orders} instead."
        raise InvalidParameterError(msg)
    n = a.shape[0]
    out = []
    sizes = list(_chunks(n_orders, n))
    for size in track(sizes, description=f"Elo over {n_orders} orders", total=len(sizes)):
        orders = np.stack([rng.permutation(n) for _ in range(size)])
        out.append(elo_replay_many(a, b, y, n_models, orders, config))
    return np.concatenate(out)


def _cluster_orders(
    clusters: np.ndarray, size: int, rng: np.random.Generator, pad: int
) -> np.ndarray:
    """Rows of game indices from resampled clusters, shuffled, padded with the no-op ``pad``."""
    uniq, cid = np.unique(clusters, return_inverse=True)
    g = uniq.shape[0]
    by_cluster = np.argsort(cid, kind="stable")
    counts = np.bincount(cid, minlength=g)
    rows = []
    for _ in range(size):
        mult = rng.multinomial(g, np.full(g, 1.0 / g))
        rows.append(np.repeat(by_cluster, np.repeat(mult, counts)))
    length = max(r.shape[0] for r in rows)
    out = np.full((size, length), pad, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : r.shape[0]] = r
    return rng.permuted(out, axis=1)


def elo_bootstrap(
    a: np.ndarray,
    b: np.ndarray,
    y: np.ndarray,
    n_models: int,
    *,
    rounds: int,
    rng: np.random.Generator,
    config: EloConfig = EloConfig(),
    clusters: np.ndarray | None = None,
) -> np.ndarray:
    """Arena's bootstrap Elo: each round replays n games drawn with replacement. (R, n_models).

    With ``clusters`` (a rater or prompt id per game), each round resamples whole clusters and
    replays their games in a random order; rounds of unequal length are padded with a no-op
    self-game (a model against itself scores exactly its expectation, so nothing moves).

    A model none of whose games was drawn in a round has no rating there (NaN, as in Arena's
    bootstrap and in BT's): it kept the starting rating, which the percentile interval read as
    an outcome (a model with 2 games, both won, was absent from 138 of 1,000 rounds and its
    interval's lower end was exactly 1500).
    """
    n = a.shape[0]
    if clusters is not None:
        a, b, y = np.append(a, 0), np.append(b, 0), np.append(y, 0.5)
    out = []
    sizes = list(_chunks(rounds, n))
    for size in track(sizes, description=f"Elo bootstrap ({rounds} rounds)", total=len(sizes)):
        if clusters is None:
            orders = rng.integers(0, n, size=(size, n))
        else:
            orders = _cluster_orders(clusters, size, rng, pad=n)
        ratings = elo_replay_many(a, b, y, n_models, orders, config)
        real = orders < n  # the padding self-game is no game
        row = np.broadcast_to(np.arange(size)[:, None], orders.shape)[real]
        present = np.zeros((size, n_models), dtype=bool)
        present[row, a[orders[real]]] = True
        present[row, b[orders[real]]] = True
        ratings[~present] = np.nan
        out.append(ratings)
    return np.concatenate(out) if out else np.empty((0, n_models))
