"""The rated speaker's turns in a transcript, found with vectorised polars expressions.

Turns are found in transcripts with line prefixes (``I:``/``W:``, ``P:``/``D:``,
``user:``/``assistant:``; unprefixed lines continue the previous turn) and in role lists (a list
of ``{role, content}`` structs, or the same as JSON text; ``from``/``value`` and
``speaker``/``text`` keys are accepted too).
"""

from __future__ import annotations

import polars as pl

from chatlens.errors import InvalidParameterError, MissingColumnError

__all__ = ["speaker_turns", "transcript_text"]


# A line starts a new turn when it begins with a short speaker label and a colon.
_PREFIX = (r"^\s*([A-Z]{1,3}|(?i:user|assistant|human|ai|bot|system|patient|doctor|witness|"
           r"interrogator|investigator|model|gpt|chatbot))\s*:\s?")


def _role_list_dtype(col: pl.Series) -> tuple[pl.Series, str, str] | None:
    """A role-list column as List(Struct), with its (role, text) field names; None otherwise."""
    if isinstance(col.dtype, pl.String):
        first = col.drop_nulls().str.strip_chars()
        first = first.filter(first.str.len_chars() > 0)
        if not len(first) or not first[0].startswith("["):
            return None
        try:
            col = col.str.json_decode(infer_schema_length=1000)
        except pl.exceptions.PolarsError as exc:
            msg = f"transcript column {col.name!r}: JSON role list could not be decoded ({exc})"
            raise InvalidParameterError(msg) from None
    if not isinstance(col.dtype, pl.List) or not isinstance(col.dtype.inner, pl.Struct):
        return None
    role, text = _role_fields(col)
    return col, role, text


def _role_fields(col: pl.Series) -> tuple[str, str]:
    """The (role, text) field names of a List(Struct) role-list column; an error otherwise."""
    fields = {f.name for f in col.dtype.inner.fields}  # type: ignore[attr-defined]
    for role, text in (("role", "content"), ("from", "value"), ("speaker", "text")):
        if {role, text} <= fields:
            return role, text
    msg = (f"transcript column {col.name!r}: role-list entries need role/content, from/value or "
           f"speaker/text fields; got {sorted(fields)}")
    raise InvalidParameterError(msg)


def transcript_text(col: pl.Series) -> pl.Series:
    """Transcripts as text: text stays as it is, a role-list column becomes ``role: content`` lines.

    Why: the LLM judge sends text, and role lists (JSONL ``[{role, content}, ...]``) are a
    transcript form HL-lite already reads; the lines are the form :func:`speaker_turns` parses
    (``user:``/``assistant:`` prefixes, continuation lines kept in their turn). Any other column
    type is an error naming the column and its type. An empty or missing list gives null.

    Examples
    --------
    >>> col = pl.Series("d", [[{"role": "user", "content": "hi"},
    ...                        {"role": "assistant", "content": "hey\\nthere"}], []])
    >>> transcript_text(col).to_list()
    ['user: hi\\nassistant: hey\\nthere', None]
    """
    if isinstance(col.dtype, pl.String):
        return col
    if isinstance(col.dtype, pl.List) and isinstance(col.dtype.inner, pl.Struct):
        role, text = _role_fields(col)

        def render(messages: list[dict[str, object]] | None) -> str | None:
            lines = [f"{m.get(role) or ''}: {m.get(text) or ''}" for m in messages or [] if m]
            return "\n".join(lines) or None

        return pl.Series(col.name, [render(m) for m in col.to_list()], dtype=pl.String)
    msg = (f"text column {col.name!r} must hold transcripts (text) or role lists "
           f"([{{role, content}}, ...]), got {col.dtype}")
    raise InvalidParameterError(msg)


def speaker_turns(frame: pl.DataFrame, *, text_column: str, speaker: str) -> pl.DataFrame:
    """The rated speaker's turns: columns ``_row`` (input row index) and ``turn`` (text).

    Line-prefixed transcripts are split into lines, each line takes the label of the last prefix
    seen (continuation lines stay in their turn), and consecutive lines of one turn are joined.
    Role lists are exploded and filtered on the role. Rows without any turn of ``speaker``
    simply have no entry.
    """
    if text_column not in frame.columns:
        msg = f"text column {text_column!r} not found; columns are {frame.columns}"
        raise MissingColumnError(msg)
    col = frame.get_column(text_column)
    roles = _role_list_dtype(col)
    if roles is not None:
        lst, role, text = roles
        return (
            pl.DataFrame({"_row": pl.int_range(0, frame.height, eager=True, dtype=pl.UInt32),
                          "_m": lst})
            .explode("_m")
            .unnest("_m")
            .filter(pl.col(role).cast(pl.String).str.to_lowercase() == speaker.lower())
            .select("_row", pl.col(text).cast(pl.String).fill_null("").alias("turn"))
        )
    if not isinstance(col.dtype, pl.String):
        msg = f"text column {text_column!r} must hold text or role lists, got {col.dtype}"
        raise InvalidParameterError(msg)
    lines = (
        pl.DataFrame({"_row": pl.int_range(0, frame.height, eager=True, dtype=pl.UInt32),
                      "_line": col.fill_null("").str.replace_all("\r\n", "\n").str.split("\n")})
        .explode("_line")
        .with_columns(pl.col("_line").str.extract(_PREFIX, 1).alias("_who"))
        .with_columns(
            pl.col("_who").is_not_null().cum_sum().over("_row").alias("_turn"),
            pl.col("_who").forward_fill().over("_row").alias("_who"),
        )
        .filter(pl.col("_who").str.to_lowercase() == speaker.lower())
        .with_columns(pl.col("_line").str.replace(_PREFIX, ""))
    )
    return (
        lines.group_by("_row", "_turn", maintain_order=True)
        .agg(pl.col("_line").str.join("\n").alias("turn"))
        .select("_row", "turn")
    )
