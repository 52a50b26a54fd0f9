from __future__ import annotations

import numpy as np
import pytest

from chatlens.errors import InvalidParameterError
from chatlens.ratings.elo import (
    EloConfig,
    elo_bootstrap,
    elo_random_orders,
    elo_replay,
    elo_replay_many,
)


def _games(n: int = 60, m: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    y = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], n)
    return a, b, y, m


def _hal_loop(a, b, y, m, order, k=32.0, init=1500.0):
    """HAL notebook's update, written as plainly as the notebook (reference)."""
    r = {i: init for i in range(m)}
    for idx in order:
        ea = 1.0 / (1.0 + 10.0 ** ((r[b[idx]] - r[a[idx]]) / 400.0))
        r[a[idx]] += k * (y[idx] - ea)
        r[b[idx]] += k * ((1.0 - y[idx]) - (1.0 - ea))
    return np.array([r[i] for i in range(m)])


def test_single_update_by_hand():
    out = elo_replay(np.array([0, 0]), np.array([1, 1]), np.array([1.0, 0.5]), 2)
    first = 1516.0
    e = 1.0 / (1.0 + 10 ** ((1484.0 - first) / 400.0))
    assert out[0] == pytest.approx(first + 32 * (0.5 - e))
    assert out.sum() == pytest.approx(3000.0)  # zero-sum


def test_vectorised_orders_equal_the_plain_loop():
    a, b, y, m = _games()
    rng = np.random.default_rng(5)
    orders = np.stack([rng.permutation(a.size) for _ in range(7)])
    many = elo_replay_many(a, b, y, m, orders)
    for i, order in enumerate(orders):
        np.testing.assert_allclose(many[i], _hal_loop(a, b, y, m, order), rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        elo_replay(a, b, y, m), _hal_loop(a, b, y, m, range(a.size)), atol=1e-9
    )


def test_random_orders_follow_hals_rng_stream():
    a, b, y, m = _games(n=40)
    runs = elo_random_orders(a, b, y, m, n_orders=20, rng=np.random.default_rng(42))
    rng = np.random.default_rng(42)
    for i in range(20):
        np.testing.assert_allclose(
            runs[i], _hal_loop(a, b, y, m, rng.permutation(a.size)), atol=1e-9
        )


def test_chunked_orders_match_unchunked(monkeypatch):
    import chatlens.ratings.elo as elo

    a, b, y, m = _games(n=50)
    full = elo_random_orders(a, b, y, m, n_orders=9, rng=np.random.default_rng(1))
    monkeypatch.setattr(elo, "_CHUNK_ELEMENTS", 120)  # 2 orders per chunk
    chunked = elo_random_orders(a, b, y, m, n_orders=9, rng=np.random.default_rng(1))
    np.testing.assert_allclose(full, chunked, atol=1e-12)


def test_config_and_bootstrap():
    a, b, y, m = _games(n=30)
    cfg = EloConfig(k=4, init=1000)
    assert elo_replay(a, b, y, m, cfg).mean() == pytest.approx(1000.0)
    boot = elo_bootstrap(a, b, y, m, rounds=11, rng=np.random.default_rng(0), config=cfg)
    assert boot.shape == (11, m)
    assert np.allclose(boot.mean(axis=1), 1000.0)
    with pytest.raises(InvalidParameterError):
        EloConfig(k=0)
    with pytest.raises(InvalidParameterError):
        elo_random_orders(a, b, y, m, n_orders=0, rng=np.random.default_rng(0))


def test_cluster_bootstrap_pads_with_a_no_op_game():
    from chatlens.ratings.elo import _cluster_orders

    a, b, y, m = _games(n=30)
    clusters = np.repeat(np.arange(6), 5)
    orders = _cluster_orders(clusters, 4, np.random.default_rng(0), pad=30)
    for row in orders:
        real = row[row < 30]
        # whole clusters only: every chosen cluster contributes all 5 of its games
        assert all(np.bincount(clusters[real], minlength=6) % 5 == 0)
        assert real.size == 30  # G clusters of equal size drawn G times
    boot = elo_bootstrap(a, b, y, m, rounds=5, rng=np.random.default_rng(0), clusters=clusters)
    assert boot.shape == (5, m) and np.allclose(boot.mean(axis=1), 1500.0)
    pad_only = elo_replay_many(
        np.append(a, 0), np.append(b, 0), np.append(y, 0.5), m, np.full((1, 10), 30)
    )
    assert np.allclose(pad_only, 1500.0)


def test_bootstrap_gives_no_rating_to_a_model_absent_from_the_round():
    """A model with 2 games (both won) beside 200 games of two others was absent from 138 of
    1,000 resamples and kept the starting 1500 there, so its interval's lower end was exactly
    1500, a rating it never had. Absent rounds are NaN now (left out of the interval)."""
    rng = np.random.default_rng(0)
    a = np.concatenate([np.zeros(200, dtype=np.int64), [2, 2]])
    b = np.concatenate([np.ones(200, dtype=np.int64), [1, 0]])
    y = np.concatenate([(rng.random(200) < 0.6).astype(float), [1.0, 1.0]])
    boot = elo_bootstrap(a, b, y, 3, rounds=1000, rng=np.random.default_rng([42, 2]))
    absent = np.isnan(boot[:, 2])
    assert 100 < absent.sum() < 180 and not np.isnan(boot[:, :2]).any()
    assert (boot[~absent, 2] > 1500).all()  # two wins: above the start in every round it played
    clusters = np.arange(202) % 7
    cboot = elo_bootstrap(a, b, y, 3, rounds=200, rng=np.random.default_rng(1), clusters=clusters)
    drawn = np.isfinite(cboot[:, 2])
    assert 0 < (~drawn).sum() and (cboot[drawn, 2] > 1500).all()
