"""A few example excerpts of what was counted, per refusal type and per user reaction.

Why: a reader trusts "29% refusals" more after seeing three messages that were counted as
refusals (and notices faster when the detector counts the wrong thing). Conversation text is
hostile: each excerpt has control and bidirectional-override characters removed, whitespace
collapsed, is cut to ``excerpt_chars`` (``report/presentation.yaml``) and is HTML-escaped when
rendered. Text is shown only when the run has it: the demo corpus (synthetic) or a run with
``--keep-text``; otherwise the section says how to get it (message text is personal data).
The sample is deterministic (the first conversations by a hash of their id), not cherry-picked.
"""

from __future__ import annotations

import polars as pl

from chatlens.report.formatting import esc, presentation
from chatlens.vocabulary import UNSAFE_CHARS


def clean(text: pl.Expr, limit: int) -> pl.Expr:
    """Control characters removed, whitespace collapsed, cut to ``limit`` characters with "…"."""
    flat = text.str.replace_all(UNSAFE_CHARS, "").str.replace_all(r"\s+", " ").str.strip_chars()
    return (
        pl.when(flat.str.len_chars() > limit)
        .then(flat.str.slice(0, limit - 1) + "…")
        .otherwise(flat)
    )


def sample_excerpts(
    messages: pl.DataFrame, *, per_group: int | None = None, chars: int | None = None
) -> dict[str, pl.DataFrame]:
    """Excerpts per refusal type (``refusals``) and per reaction (``reactions``: refusal → reply).

    ``messages`` needs ``conversation_id``, ``message_index``, ``role``, ``content``, ``refusal``,
    ``refusal_type`` and, for reactions, ``reaction``.
    """
    doc = presentation()
    per_group = per_group or doc.excerpts_per_group
    chars = chars or doc.excerpt_chars
    frame = messages.sort("conversation_id", "message_index").with_columns(
        _key=pl.col("conversation_id").hash(seed=13),
        _prev=pl.col("content").shift(1).over("conversation_id"),
    )
    refusals = (
        frame.filter((pl.col("role") == "assistant") & pl.col("refusal").fill_null(value=False))
        .sort("_key")
        .group_by("refusal_type", maintain_order=True)
        .head(per_group)
        .select(
            pl.col("refusal_type").alias("group"), clean(pl.col("content"), chars).alias("text")
        )
        .sort("group", maintain_order=True)
    )
    out = {"refusals": refusals}
    if "reaction" in frame.columns:
        out["reactions"] = (
            frame.filter((pl.col("role") == "user") & pl.col("reaction").is_not_null())
            .sort("_key")
            .group_by("reaction", maintain_order=True)
            .head(per_group)
            .select(
                pl.col("reaction").alias("group"),
                clean(pl.col("_prev"), chars // 2).alias("context"),
                clean(pl.col("content"), chars).alias("text"),
            )
            .sort("group", maintain_order=True)
        )
    return out


def excerpts_section(samples: dict[str, pl.DataFrame] | None) -> str:
    """The "Examples" section (escaped); a note instead when the run kept no text."""
    head = "<section id='examples'><h2>Examples of what was counted</h2>"
    if samples is None:
        return (
            head + "<p>This run kept no message text (the default: conversation text is personal "
            "data). Run <code>chatlens analyze … --keep-text</code> to see example excerpts here.</p></section>"
        )
    parts = [
        head,
        "<p class='note'>A deterministic sample (by a hash of the conversation id), cut to "
        f"{presentation().excerpt_chars} characters; text as written by users and models.</p>",
    ]
    for kind, title in (
        ("refusals", "Refusals, by type"),
        ("reactions", "Replies to a refusal, by reaction"),
    ):
        frame = samples.get(kind)
        if frame is None or frame.height == 0:
            continue
        parts.append(f"<h3>{esc(title)}</h3><div class='excerpts'>")
        for (group,), part in frame.group_by("group", maintain_order=True):
            items = "".join(
                "<li>"
                + (
                    f"<span class='ctx'>assistant: {esc(r['context'])}</span><br>user: "
                    if r.get("context") is not None
                    else ""
                )
                + f"{esc(r['text'])}</li>"
                for r in part.iter_rows(named=True)
            )
            parts.append(
                f"<div class='group'><h4>{esc(str(group).replace('_', ' '))}</h4><ul>{items}</ul></div>"
            )
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)


__all__ = ["clean", "excerpts_section", "sample_excerpts"]
