"""Step 5: the clusters' representatives become N deduplicated questionnaire items in themes.

Two ways, both recorded in ``items.json`` (``method``):

* ``llm`` (HAL's way, hal.md 1.1): one request lists every cluster with its representatives and
  asks for at most N distinct statements grouped in at most M themes
  (prompt ``instrument/condense.yaml``). An answer over either limit is re-asked with the
  reason; exact duplicates the model still writes are dropped and listed under ``dropped``.
* ``nearest`` (no LLM): each cluster, largest first, contributes its most central statement,
  skipped when it is a near-duplicate (cosine > ``dedupe_similarity``) of one already taken,
  until N items; the items are grouped into M themes by agglomerative clustering of their
  vectors, each theme titled by its most distinctive words (TF-IDF). The items are the
  statements the data wrote, unedited: faithful, but less polished than an LLM's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from chatlens.errors import BadLLMResponse, LLMError
from chatlens.instrument.characteristics import one_line
from chatlens.instrument.prompts import Prompt
from chatlens.llm.client import make_client, run_sync
from chatlens.llm.config import LLMConfig
from chatlens.llm.jsonout import complete_json, json_validator

__all__ = ["clusters_block", "condense_llm", "condense_nearest"]


def clusters_block(reps: pl.DataFrame) -> str:
    """The cluster listing the condense prompt shows (cluster number, size, representatives)."""
    blocks = []
    for (cid, size), group in reps.group_by(["cluster", "size"], maintain_order=True):
        lines = "\n".join(f"- {s}" for s in group.sort("rank")["statement"].to_list())
        blocks.append(f"Cluster {cid} ({size} statements):\n{lines}")
    return "\n\n".join(blocks)


def _package(
    themes: list[tuple[str, list[tuple[str, list[int]]]]], method: str, n_items: int
) -> dict[str, Any]:
    """Number the themes (``Group 1``..) and items (``1``..), dropping repeats, at most ``n_items``.

    Every statement left out (empty, a repeat, past ``n_items``) is listed under ``dropped`` with
    its reason. Statements and titles are made one line
    (:func:`~chatlens.instrument.characteristics.one_line`): the judge prompt lists items as
    ``N. ...`` lines, so a newline in an item would add items.
    """
    seen: set[str] = set()
    out_themes, out_items = [], []
    dropped: list[dict[str, str]] = []
    for title, items in themes:
        key = f"Group {len(out_themes) + 1}"
        kept = []
        for statement, clusters in items:
            statement = one_line(statement)
            norm = statement.lower().rstrip(".")
            why = None
            if not norm:
                why = "empty"
            elif norm in seen:
                why = "repeats an item"
            elif len(out_items) + len(kept) >= n_items:
                why = f"over n_items={n_items}"
            if why:  # recorded, never silently lost
                dropped.append({"statement": statement, "reason": why})
                continue
            seen.add(norm)
            kept.append(
                {
                    "key": str(len(out_items) + len(kept) + 1),
                    "statement": statement,
                    "theme": key,
                    "clusters": sorted(set(clusters)),
                }
            )
        if kept:
            out_themes.append({"key": key, "title": one_line(title)})
            out_items.extend(kept)
    return {"method": method, "themes": out_themes, "items": out_items, "dropped": dropped}


def _counts_checked(
    validate: Callable[[str], dict[str, Any]],
    *,
    n_items: int,
    n_themes: int,
    clusters: set[int],
) -> Callable[[str], dict[str, Any]]:
    """``validate``, then what the prompt states: at most ``n_themes`` themes and ``n_items``
    non-empty statements, citing only the listed ``clusters``. An answer over the limits is
    re-asked with the reason (cutting it would drop whole themes or the last items by their
    position in the answer), and so is one with a blank statement or citing a cluster that was
    never listed (the report would show it as covered)."""

    def check(text: str) -> dict[str, Any]:
        value = validate(text)
        themes = value["themes"]
        n = sum(len(t["items"]) for t in themes)
        if len(themes) > n_themes:
            msg = f"$.themes: expected at most {n_themes} themes, got {len(themes)}"
            raise BadLLMResponse(msg)
        if n > n_items:
            msg = f"$.themes[].items: expected at most {n_items} statements in all, got {n}"
            raise BadLLMResponse(msg)
        blank = [
            f"$.themes[{j}].items[{k}].statement"
            for j, t in enumerate(themes)
            for k, i in enumerate(t["items"])
            if not i["statement"].strip()
        ]
        if blank:  # an instrument of no items failed later as an 'invalid data file'
            msg = f"{blank[0]}: expected a statement, got an empty one ({len(blank)} in all)"
            raise BadLLMResponse(msg)
        cited = {int(c) for t in themes for i in t["items"] for c in i.get("clusters") or []}
        unknown = sorted(cited - clusters)
        if unknown:
            msg = (
                f"$.themes[].items[].clusters: cluster(s) {unknown[:5]} are not among the "
                f"{len(clusters)} clusters listed ({min(clusters)} to {max(clusters)})"
            )
            raise BadLLMResponse(msg)
        return value

    return check


def condense_llm(
    reps: pl.DataFrame,
    *,
    prompt: Prompt,
    target: str,
    n_items: int,
    n_themes: int,
    config: LLMConfig | None = None,
    client: Any = None,
) -> dict[str, Any]:
    """One LLM request turns the representatives into at most ``n_items`` items in themes."""
    values = {
        "property": target,
        "n_items": str(n_items),
        "n_themes": str(n_themes),
        "n_clusters": str(reps["cluster"].n_unique()),
        "clusters": clusters_block(reps),
    }
    validate = _counts_checked(
        json_validator(prompt.output),
        n_items=n_items,
        n_themes=n_themes,
        clusters=set(reps["cluster"].to_list()),
    )

    async def run() -> Any:
        own = client is None
        c = make_client(config) if own else client  # type: ignore[arg-type]
        try:
            return await complete_json(c, prompt.render(values), validate)
        finally:
            if own:
                await c.aclose()

    result = run_sync(run())
    if result.failed_request:
        msg = f"the condense request failed: {result.error}. Rerun the same command to resume."
        raise LLMError(msg)
    if not result.ok:
        msg = (
            f"the condense answer stayed invalid: {result.error}. Try another --model, or "
            "--condense nearest (no LLM)."
        )
        raise BadLLMResponse(msg)
    themes = [
        (
            t["title"],
            [(i["statement"], [int(c) for c in i.get("clusters") or []]) for i in t["items"]],
        )
        for t in result.value["themes"]
    ]
    return _package(themes, "llm", n_items)


def _theme_titles(texts: list[list[str]]) -> list[str]:
    """Three most distinctive words of each theme's statements (TF-IDF over the themes)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = [" ".join(t) for t in texts]
    try:
        vec = TfidfVectorizer(stop_words="english", token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z-]+\b")
        tf = vec.fit_transform(docs).toarray()
    except ValueError:  # only stop words
        return [f"Theme {i + 1}" for i in range(len(docs))]
    vocab = np.array(vec.get_feature_names_out())
    titles = []
    for row in tf:
        top = [vocab[j] for j in np.lexsort((vocab, -row))[:3] if row[j] > 0]
        titles.append(", ".join(top) if top else "other")
    return titles


def condense_nearest(
    reps: pl.DataFrame,
    embeddings: np.ndarray,
    *,
    n_items: int,
    n_themes: int,
    dedupe_similarity: float,
) -> dict[str, Any]:
    """No-LLM condense: each cluster's most central statement, deduplicated, grouped in themes."""
    firsts = reps.filter(pl.col("rank") == 1).sort("cluster")
    chosen: list[int] = []
    for pos, sid in enumerate(firsts["statement_id"].to_list()):
        v = embeddings[sid]
        if (
            chosen
            and float(np.max(embeddings[[firsts["statement_id"][c] for c in chosen]] @ v))
            > dedupe_similarity
        ):
            continue
        chosen.append(pos)
        if len(chosen) == n_items:
            break
    picked = firsts[chosen]
    vecs = embeddings[picked["statement_id"].to_list()].astype(np.float64)
    m = min(n_themes, len(chosen))
    if m >= 2:
        from sklearn.cluster import AgglomerativeClustering

        theme_of = AgglomerativeClustering(
            n_clusters=m, metric="cosine", linkage="average"
        ).fit_predict(vecs)
    else:
        theme_of = np.zeros(len(chosen), dtype=int)
    # themes in order of their first (largest-cluster) item
    order = list(dict.fromkeys(theme_of.tolist()))
    texts = [
        reps.filter(pl.col("cluster").is_in(picked["cluster"].filter(theme_of == t).to_list()))[
            "statement"
        ].to_list()
        for t in order
    ]
    titles = _theme_titles(texts)
    themes = [
        (
            title,
            [
                (s, [c])
                for s, c, t2 in zip(picked["statement"], picked["cluster"], theme_of, strict=True)
                if t2 == t
            ],
        )
        for title, t in zip(titles, order, strict=True)
    ]
    return _package(themes, "nearest", n_items)
