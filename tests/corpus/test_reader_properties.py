"""Property tests: every reader, fed mutated valid files, fails cleanly or accounts for every row.

One test per reader format and container (the seeds of :mod:`chatlens.corpus.fuzz`). Hypothesis
picks the mutations (byte flips, truncation, deletions, duplicated lines, structure characters,
deep nesting, multi-megabyte strings, UTF-16/Latin-1/broken UTF-8, values of another type) and
the property is the fuzz verdict: no exception escapes except chatlens's own error types with a
message, and rows in (counted here, independently of the reader) = analysed + quarantined.

Fast by default (a few examples per reader); ``CHATLENS_FUZZ_EXAMPLES=500`` runs more, and
``benchmarks/fuzz_readers.py`` runs seeded batches of hundreds with crash isolation.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatlens.corpus import fuzz

EXAMPLES = int(os.environ.get("CHATLENS_FUZZ_EXAMPLES", "6"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MUTATIONS = st.builds(
    fuzz.Mutation,
    ops=st.lists(st.sampled_from(sorted(fuzz.BYTE_OPS)), max_size=3).map(tuple),
    rng_seed=st.integers(0, 2**32 - 1),
    detect=st.booleans(),
)


@pytest.mark.parametrize("name", sorted(fuzz.SEEDS))
@SETTINGS
@given(mutation=MUTATIONS)
def test_a_mutated_file_fails_cleanly_or_accounts_for_every_row(name, mutation, tmp_path_factory):
    seed = fuzz.SEEDS[name]
    path = fuzz.apply(seed, mutation, tmp_path_factory.mktemp(name))
    verdict = fuzz.check(path, seed, detect=mutation.detect)
    assert verdict.outcome in ("ok", "clean_error"), f"{mutation}: {verdict.detail}"


@pytest.mark.parametrize("name", sorted(fuzz.SEEDS))
def test_every_seed_reads_whole(name, tmp_path):
    seed = fuzz.SEEDS[name]
    path = fuzz.apply(seed, fuzz.Mutation((), 0), tmp_path)
    assert fuzz.check(path, seed) == fuzz.Verdict("ok")
    assert fuzz.check(path, seed, detect=True).outcome == "ok"


def test_the_verdict_sees_a_lost_line(tmp_path, monkeypatch):
    """The property can fail: a reader that skips a line is a silent loss, not 'ok'."""
    from chatlens.corpus.readers import _io

    real = _io.iter_line_chunks

    def skip_first(file, max_lines):
        for chunk in real(file, max_lines):
            yield _io.LineChunk(chunk.lines[1:], chunk.rows[1:])

    monkeypatch.setattr(_io, "iter_line_chunks", skip_first)
    seed = fuzz.SEEDS["openai-jsonl"]
    verdict = fuzz.check(fuzz.apply(seed, fuzz.Mutation((), 0), tmp_path), seed)
    assert (
        verdict.outcome == "silent_loss"
        and "6 source records in the file, 5 read" in verdict.detail
    )


def test_the_verdict_sees_an_escaping_exception(tmp_path, monkeypatch):
    from chatlens.corpus import api

    def boom(*args, **kwargs):
        raise KeyError("oops")

    monkeypatch.setattr(api, "canonicalize", boom)
    seed = fuzz.SEEDS["sharegpt-json"]
    verdict = fuzz.check(fuzz.apply(seed, fuzz.Mutation((), 0), tmp_path), seed)
    assert verdict == fuzz.Verdict("crash", "KeyError: 'oops'")


def test_a_deep_first_line_of_a_json_file_is_not_a_crash(tmp_path):
    """Found by the property test: container sniffing parsed the first line with the recursive
    stdlib parser (RecursionError escaped)."""
    seed = fuzz.SEEDS["sharegpt-json"]
    verdict = fuzz.check(
        fuzz.apply(seed, fuzz.Mutation(("delete", "nest", "duplicate_line"), 6), tmp_path), seed
    )
    assert verdict.outcome in ("ok", "clean_error"), verdict.detail
