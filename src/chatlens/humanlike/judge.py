"""Rate dialogues with an LLM judge on a questionnaire instrument (``chatlens humanlike judge``).

One request per dialogue (``samples`` > 1 averages several sampled answers, as hal.md §8
recommends against single stochastic calls). A row's ratings are the mean of its *valid* samples
only, so how many there were is recorded (``hl_n_valid_samples``, and in the summary): a mean of
one answer out of five is not the measurement that was asked for. Answers are parsed **by item key** with the
instrument's own parser; an answer that cannot be parsed is sent back with the reason at most
``config.max_reasks`` times, and is then recorded as invalid with that reason (column
``hl_error``), never an exception. Requests that fail for good (server down, rate limit that
never lifts) are recorded the same way and are *not* cached, so a rerun retries only them;
everything answered is cached, so a killed job resumes where it stopped.

Output schema (added to the input columns):

========================  =======  ====================================================================
column                    dtype    meaning
========================  =======  ====================================================================
``hl_item_<key>``         Int64    rating of item ``<key>`` (Float64: mean of the valid samples if > 1)
``hl_logit``              Float64  ``w·x + b`` with the instrument's weights (null if invalid/unweighted)
``hl_prob``               Float64  logistic of ``hl_logit``
``hl_error``              String   why the row is invalid (null when valid)
``hl_n_reasks``           Int64    re-asks used (summed over samples)
``hl_raw``                String   the last raw answer of an invalid row (first 2,000 chars), else null
``hl_n_valid_samples``    Int64    valid answers averaged into the row (0 to ``samples``)
========================  =======  ====================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from chatlens._progress import status
from chatlens._repr import short_repr
from chatlens.errors import BadLLMResponse, InvalidParameterError, MissingColumnError
from chatlens.humanlike.instruments import Instrument, ParsedRatings, load_instrument, score_ratings
from chatlens.humanlike.turns import transcript_text
from chatlens.llm.client import make_client, map_async, run_sync
from chatlens.llm.config import LLMConfig
from chatlens.llm.jsonout import JsonResult, complete_json
from chatlens.llm.openai_transport import mask_secrets
from chatlens.llm.usage import UsageReport

#: Characters of an invalid answer kept in ``hl_raw`` for auditing.
RAW_KEEP_CHARS = 2000


@dataclass(frozen=True)
class JudgeResult:
    """The rated frame plus what it took to produce it (counts, tokens, cost, configuration)."""

    frame: pl.DataFrame
    instrument: str
    instrument_version: str
    n_rows: int
    n_valid: int
    n_invalid: int
    n_failed_requests: int
    usage: UsageReport
    #: answers asked per dialogue; answers asked in all (empty dialogues are not sent) and
    #: the valid ones among them (the sum of ``hl_n_valid_samples``)
    samples: int = 1
    n_asked_samples: int = 0
    n_valid_samples: int = 0
    #: rows averaged over fewer valid answers than ``samples`` (but at least one)
    n_partial: int = 0
    config: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return short_repr(self)

    def summary(self) -> dict[str, Any]:
        """A JSON-safe summary (no credentials: the config is :meth:`LLMConfig.describe`)."""
        reasons = (
            self.frame.filter(pl.col("hl_error").is_not_null())
            .group_by(pl.col("hl_error").str.slice(0, 80).alias("reason"))
            .len()
            .sort("len", descending=True)
            .head(10)
        )
        return {
            "instrument": {"name": self.instrument, "version": self.instrument_version},
            "rows": self.n_rows,
            "valid": self.n_valid,
            "invalid": self.n_invalid,
            "failed_requests": self.n_failed_requests,
            "samples": {
                "per_dialogue": self.samples,
                "answers_asked": self.n_asked_samples,
                "answers_valid": self.n_valid_samples,
                "dialogues_with_fewer_valid": self.n_partial,
            },
            "top_invalid_reasons": [
                {"reason": r, "count": int(n)} for r, n in reasons.iter_rows()
            ],
            "usage": self.usage.to_dict(),
            "llm": self.config,
        }


def _validator(inst: Instrument) -> Any:
    """Parse by key; a judge's own ``{"error": ...}`` is an answer (kept, not re-asked)."""

    def validate(text: str) -> ParsedRatings:
        parsed = inst.parse_answer(text)
        if parsed.ok or (parsed.error or "").startswith("judge returned error"):
            return parsed
        raise BadLLMResponse(parsed.reason or "invalid answer")

    return validate


def _row_outcome(results: list[JsonResult[ParsedRatings]], keys: tuple[str, ...],
                 api_key: str | None = None) -> tuple[
    np.ndarray, str | None, int, str | None, bool, int
]:
    """Mean ratings over the valid samples, the error (if none valid), re-asks, raw, failed?,
    and the number of valid samples.

    The raw answer kept for auditing is masked for ``api_key`` and key-shaped tokens: it goes
    to the output file, and a server may echo the request's key in a normal answer.
    """
    good = [r.value for r in results if r.ok and r.value is not None and r.value.ok]
    reasks = sum(r.n_reasks for r in results)
    if good:
        mat = np.array([[p.values[k] for k in keys] for p in good], dtype=np.float64)
        return mat.mean(axis=0), None, reasks, None, False, len(good)
    last = results[-1]
    if last.ok and last.value is not None:  # the judge declined ({"error": ...})
        error = last.value.reason
    else:
        error = last.error
    raw = None if last.raw is None else mask_secrets(last.raw, api_key)[:RAW_KEEP_CHARS]
    failed = all(r.failed_request for r in results)
    return np.full(len(keys), np.nan), error, reasks, raw, failed, 0


async def _judge_async(
    texts: list[str | None],
    inst: Instrument,
    speaker: str | None,
    config: LLMConfig,
    client: Any,
    samples: int,
) -> tuple[list[Any], UsageReport]:
    own = client is None
    client = make_client(config) if own else client
    validate = _validator(inst)

    async def rate(text: str | None) -> Any:
        if text is None or not str(text).strip():
            return np.full(len(inst.keys), np.nan), "empty dialogue", 0, None, False, 0
        messages = inst.render_prompt(str(text), speaker)
        results = [
            await complete_json(client, messages, validate, sample_index=s) for s in range(samples)
        ]
        return _row_outcome(results, inst.keys, config.api_key())

    try:
        rows = await map_async(
            rate, texts, description=f"judging with {config.model}", total=len(texts)
        )
    finally:
        if own:
            await client.aclose()
    return rows, client.usage.report()


def judge(
    frame: pl.DataFrame,
    *,
    instrument: str | Instrument = "hal16q",
    text_column: str = "dialogue",
    speaker: str | None = None,
    config: LLMConfig | None = None,
    client: Any = None,
    samples: int = 1,
) -> JudgeResult:
    """Rate each row's dialogue with an LLM judge and score it with the instrument's weights.

    Parameters
    ----------
    frame
        One dialogue per row in ``text_column``: a transcript such as ``I: …\\nW: …``, or a
        role list (``[{role, content}, …]``), sent as ``role: content`` lines.
    instrument
        A bundled instrument name (``hal16q``, ``hal16q-published``, ``hal32q``), a YAML path or
        an :class:`Instrument`.
    speaker
        The transcript label of the rated party (``W``, ``P``, …); selects the role wording.
    config
        LLM settings; required unless ``client`` is given (then it is ``client.config``).
    client
        A ready client (e.g. built with a ``MockTransport``); closed by the caller.
    samples
        Answers per dialogue, averaged item by item (use with ``temperature > 0``). Only the
        valid answers are averaged; ``hl_n_valid_samples`` says how many a row had.

    Returns
    -------
    JudgeResult
        ``frame`` has the input columns plus the columns in the module docstring.

    Examples
    --------
    A stub judge that rates every statement 1 (real runs pass ``config=LLMConfig(...)``):

    >>> import json
    >>> from chatlens.llm import LLMConfig, MockTransport, make_client
    >>> inst = load_instrument("hal16q")
    >>> answer = json.dumps({"likert_evaluation": {k: 1 for k in inst.keys}})
    >>> client = make_client(LLMConfig(model="stub"), transport=MockTransport(lambda r: answer))
    >>> df = pl.DataFrame({"dialogue": ["I: hi\\nW: hey", "I: where from?\\nW: ohio lol", None]})
    >>> res = judge(df, instrument=inst, speaker="W", client=client)
    >>> res.frame.select("hl_item_1", "hl_error").rows()
    [(1, None), (1, None), (None, 'empty dialogue')]
    >>> round(res.frame["hl_logit"][0], 4), res.n_invalid
    (-2.2378, 1)
    """
    if text_column not in frame.columns:
        msg = f"text column {text_column!r} not found; columns are {frame.columns}"
        raise MissingColumnError(msg)
    if samples < 1:
        msg = f"The 'samples' parameter of judge must be >= 1. Got {samples} instead."
        raise InvalidParameterError(msg)
    if config is None:
        if client is None:
            msg = "judge needs an LLMConfig (config=...) or a ready client (client=...)."
            raise InvalidParameterError(msg)
        config = client.config
    inst = load_instrument(instrument)
    texts = transcript_text(frame.get_column(text_column)).to_list()
    rows, usage = run_sync(_judge_async(texts, inst, speaker, config, client, samples))

    n, k = len(rows), len(inst.keys)
    ratings = np.vstack([r[0] for r in rows]) if rows else np.empty((0, k))
    errors = [r[1] for r in rows]
    if inst.has_weights and n:
        logit, prob = score_ratings(ratings, inst)
        logit, prob = np.asarray(logit, dtype=np.float64), np.asarray(prob, dtype=np.float64)
    else:
        logit = prob = np.full(n, np.nan)
    item_dtype = pl.Float64 if samples > 1 else pl.Int64
    columns = [
        pl.Series(name, ratings[:, j], dtype=pl.Float64).fill_nan(None).cast(item_dtype)
        for j, name in enumerate(inst.item_columns().values())
    ]
    columns += [
        pl.Series("hl_logit", logit, dtype=pl.Float64).fill_nan(None),
        pl.Series("hl_prob", prob, dtype=pl.Float64).fill_nan(None),
        pl.Series("hl_error", errors, dtype=pl.String),
        pl.Series("hl_n_reasks", [r[2] for r in rows], dtype=pl.Int64),
        pl.Series("hl_raw", [r[3] for r in rows], dtype=pl.String),
        pl.Series("hl_n_valid_samples", [r[5] for r in rows], dtype=pl.Int64),
    ]
    out = frame.with_columns(columns)
    n_invalid = sum(e is not None for e in errors)
    n_failed = sum(bool(r[4]) for r in rows)
    n_partial = sum(0 < r[5] < samples for r in rows)
    if n_invalid:
        status(f"{n_invalid} of {n} dialogues have no valid rating (see column hl_error).")
    if n_partial:
        status(f"{n_partial} of {n} dialogues are rated from fewer than {samples} valid answers "
               "(see column hl_n_valid_samples).")
    return JudgeResult(
        frame=out,
        instrument=inst.name,
        instrument_version=inst.version,
        n_rows=n,
        n_valid=n - n_invalid,
        n_invalid=n_invalid,
        n_failed_requests=n_failed,
        usage=usage,
        samples=samples,
        n_asked_samples=samples * sum(t is not None and bool(str(t).strip()) for t in texts),
        n_valid_samples=sum(r[5] for r in rows),
        n_partial=n_partial,
        config=config.describe(),
    )
