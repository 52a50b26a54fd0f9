"""The discovery run directory: six steps, each writing its artefact, resumable and re-runnable.

==============  ===========================================  ======================================
step            artefacts                                    what
==============  ===========================================  ======================================
statements      ``statements.parquet``, ``characteristics``  one row per statement; verdicts and
                ``.json``                                    the judge's verdict accuracy
embed           ``embeddings.npy``, ``embed.json``           one unit vector per statement
cluster         ``assignments.parquet``, ``clusters.json``   cluster per statement (0 = noise)
represent       ``representatives.parquet``                  members nearest each centroid
condense        ``items.json``                               N items in themes
instrument      ``instrument.yaml``                          the questionnaire (HAL32Q schema)
==============  ===========================================  ======================================

``manifest.json`` records, per step, a key (the sha256 of its parameters and of the artefacts it
reads) and the sha256 of every file it wrote. A rerun skips a step whose key matches and whose
files are intact, so a run killed anywhere resumes where it stopped (the LLM steps also resume
request by request from the response cache in ``llm-cache/``); changing a parameter reruns the
step that uses it and, when its output changes, the steps after it. ``from_step`` forces a step
and all after it to run. Files are written to a temporary name and renamed, so a killed step
never leaves a half-written artefact behind; artefacts hold no timestamps, so a resumed run's
files are byte-identical to an uninterrupted one's (timings live in the manifest only).
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from chatlens._json import strict_json
from chatlens._progress import status
from chatlens.errors import IncompleteRunError, InvalidParameterError
from chatlens.instrument import build, characteristics, cluster, condense, embed
from chatlens.instrument.config import DiscoveryConfig
from chatlens.instrument.inputs import read_pairs
from chatlens.instrument.prompts import load_defaults, load_prompt
from chatlens.llm.cache import canonical_json

__all__ = ["ARTEFACTS", "STEPS", "DiscoveryResult", "discover", "read_manifest"]

STEPS: tuple[str, ...] = ("statements", "embed", "cluster", "represent", "condense", "instrument")
ARTEFACTS: dict[str, tuple[str, ...]] = {
    "statements": ("statements.parquet", "characteristics.json"),
    "embed": ("embeddings.npy", "embed.json"),
    "cluster": ("assignments.parquet", "clusters.json"),
    "represent": ("representatives.parquet",),
    "condense": ("items.json",),
    "instrument": ("instrument.yaml",),
}
MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _write_json(path: Path, obj: Any) -> None:
    _write_bytes(
        path,
        (json.dumps(strict_json(obj), indent=2, ensure_ascii=False, sort_keys=False, allow_nan=False)
         + "\n").encode("utf-8"),
    )


def _write_parquet(path: Path, frame: pl.DataFrame) -> None:
    buf = io.BytesIO()
    frame.write_parquet(buf, compression="zstd", statistics=False)
    _write_bytes(path, buf.getvalue())


def read_manifest(out: Path) -> dict[str, Any]:
    """The run's manifest (empty when there is none yet)."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        msg = f"{path}: not a readable discovery manifest ({exc}); delete it to start over."
        raise IncompleteRunError(msg) from None


@dataclass
class _Context:
    out: Path
    cfg: DiscoveryConfig
    pairs: pl.DataFrame
    client: Any

    def read(self, name: str) -> Any:
        path = self.out / name
        if name.endswith(".parquet"):
            return pl.read_parquet(path, glob=False)
        if name.endswith(".npy"):
            return np.load(path)
        return json.loads(path.read_text(encoding="utf-8"))


def _llm_params(cfg: DiscoveryConfig) -> dict[str, Any] | None:
    """What of the LLM settings shapes an LLM step's result (its key and the provenance).

    ``max_reasks`` belongs here: an answer that is invalid after 0 re-asks may be valid after 2,
    so the number decides which pairs are excluded (and whether condense succeeds).
    """
    if cfg.llm is None:
        return None
    return {
        "model": cfg.llm.model,
        "endpoint": cfg.llm.endpoint_id,
        "params": cfg.llm.sampling_params(),
        "max_reasks": cfg.llm.max_reasks,
    }


def _step_params(step: str, ctx: _Context, fingerprint: str) -> dict[str, Any]:
    cfg = ctx.cfg
    given = cfg.columns.statements is not None
    if step == "statements":
        p: dict[str, Any] = {"data": fingerprint, "source": "given" if given else "llm"}
        if not given:
            p |= {
                "target": cfg.target,
                "llm": _llm_params(cfg),
                "prompt": load_prompt("characteristics", cfg.characteristics_prompt).sha256,
            }
        return p
    if step == "embed":
        return embed.describe_embedder(
            embed.make_embedder(cfg.embedder, tfidf=cfg.tfidf, seed=cfg.cluster.seed)
        )
    if step == "cluster":
        return cfg.cluster.describe()
    if step == "represent":
        return {"n_representatives": cfg.n_representatives}
    if step == "condense":
        p = {"method": cfg.condense, "n_items": cfg.n_items, "n_themes": cfg.n_themes}
        if cfg.condense == "llm":
            p |= {
                "target": cfg.target,
                "llm": _llm_params(cfg),
                "prompt": load_prompt("condense", cfg.condense_prompt).sha256,
            }
        else:
            p |= {"dedupe_similarity": cfg.dedupe_similarity}
        return p
    return {
        "name": cfg.name,
        "target": cfg.target,
        "template": hashlib.sha256(canonical_json(load_defaults().instrument).encode()).hexdigest(),
    }


def _run_statements(ctx: _Context) -> dict[str, Any]:
    if ctx.cfg.columns.statements is not None:
        res = characteristics.given_characteristics(ctx.pairs)
    else:
        res = characteristics.find_characteristics(
            ctx.pairs,
            prompt=load_prompt("characteristics", ctx.cfg.characteristics_prompt),
            target=ctx.cfg.target,
            config=ctx.cfg.llm,
            client=ctx.client,
        )
    frame = res.statements.with_row_index("statement_id").with_columns(
        pl.col("statement_id").cast(pl.Int64)
    )
    if frame.height < 2:
        msg = f"only {frame.height} statement(s) to cluster; discovery needs many pairs (dozens at least)."
        raise InvalidParameterError(msg)
    summary = res.summary()
    usage = summary.pop(
        "usage"
    )  # run-dependent (cache hits): the manifest keeps it, not the artefact
    summary["verdicts"] = res.verdicts.to_dicts()
    _write_parquet(ctx.out / "statements.parquet", frame)
    _write_json(ctx.out / "characteristics.json", summary)
    acc = summary["verdict_accuracy"]
    return {
        "statements": frame.height,
        "pairs": res.verdicts.height,
        "verdict_accuracy": None if acc is None else acc["value"],
        "llm_usage": usage,
    }


def _run_embed(ctx: _Context) -> dict[str, Any]:
    texts = ctx.read("statements.parquet")["statement"].to_list()
    embedder = embed.make_embedder(ctx.cfg.embedder, tfidf=ctx.cfg.tfidf, seed=ctx.cfg.cluster.seed)
    # rounded to 6 decimals (float32 keeps ~7): the last bits of a BLAS reduction may differ
    # between runs, and a resumed run must write the same bytes as an uninterrupted one
    x = np.round(embed.normalise(embedder(texts)), 6)
    if x.shape[0] != len(texts):
        msg = f"the embedder returned {x.shape[0]} vectors for {len(texts)} statements."
        raise InvalidParameterError(msg)
    buf = io.BytesIO()
    np.save(buf, x, allow_pickle=False)
    _write_bytes(ctx.out / "embeddings.npy", buf.getvalue())
    info = {**embed.describe_embedder(embedder), "n": int(x.shape[0]), "dims": int(x.shape[1])}
    _write_json(ctx.out / "embed.json", info)
    return {"dims": int(x.shape[1])}


def _run_cluster(ctx: _Context) -> dict[str, Any]:
    x = ctx.read("embeddings.npy")
    labels = cluster.assign_clusters(x, ctx.cfg.cluster)
    _, sim = cluster.centroid_similarity(x, labels)
    frame = pl.DataFrame(
        {
            "statement_id": np.arange(len(labels), dtype=np.int64),
            "cluster": labels,
            "centroid_similarity": np.round(sim, 6),
        }
    )
    sizes = cluster.cluster_sizes(labels)
    info = {
        "method": ctx.cfg.cluster.describe(),
        "n_statements": len(labels),
        "n_clusters": len(sizes),
        "noise": int((labels == 0).sum()),
        # statements with a zero vector (nothing the embedder knows) are noise, counted apart
        "zero_vectors": int(cluster.zero_rows(x).sum()),
        "sizes": {str(k): v for k, v in sizes.items()},
    }
    _write_parquet(ctx.out / "assignments.parquet", frame)
    _write_json(ctx.out / "clusters.json", info)
    return {"clusters": len(sizes), "noise": info["noise"]}


def _run_represent(ctx: _Context) -> dict[str, Any]:
    st = ctx.read("statements.parquet")
    asg = ctx.read("assignments.parquet")
    reps = cluster.representatives(
        st,
        asg["cluster"].to_numpy(),
        asg["centroid_similarity"].to_numpy(),
        ctx.cfg.n_representatives,
    )
    _write_parquet(ctx.out / "representatives.parquet", reps)
    return {"representatives": reps.height}


def _run_condense(ctx: _Context) -> dict[str, Any]:
    reps = ctx.read("representatives.parquet")
    cfg = ctx.cfg
    if cfg.condense == "llm":
        items = condense.condense_llm(
            reps,
            prompt=load_prompt("condense", cfg.condense_prompt),
            target=cfg.target,
            n_items=cfg.n_items,
            n_themes=cfg.n_themes,
            config=cfg.llm,
            client=ctx.client,
        )
    else:
        items = condense.condense_nearest(
            reps,
            ctx.read("embeddings.npy"),
            n_items=cfg.n_items,
            n_themes=cfg.n_themes,
            dedupe_similarity=cfg.dedupe_similarity,
        )
    _write_json(ctx.out / "items.json", items)
    return {
        "items": len(items["items"]),
        "themes": len(items["themes"]),
        "dropped": len(items["dropped"]),
    }


def _run_instrument(ctx: _Context) -> dict[str, Any]:
    manifest = read_manifest(ctx.out)
    prov = {
        "data": manifest.get("input", {}),
        "statements": ctx.read("characteristics.json")["source"],
        "models": {
            "characteristics": _llm_params(ctx.cfg) if ctx.cfg.columns.statements is None else None,
            "embedding": ctx.read("embed.json"),
            "condense": _llm_params(ctx.cfg) if ctx.cfg.condense == "llm" else None,
        },
        "parameters": {
            s: manifest["steps"][s]["params"] for s in STEPS[:-1] if s in manifest.get("steps", {})
        },
    }
    doc = build.instrument_document(
        ctx.read("items.json"),
        load_defaults().instrument,
        name=ctx.cfg.name,
        target=ctx.cfg.target,
        provenance=prov,
    )
    inst = build.write_instrument(doc, ctx.out / "instrument.yaml")
    return {"items": len(inst.items)}


#: Step name -> function (looked up at run time, so tests can interrupt a step).
STEP_FUNCTIONS: dict[str, Callable[[_Context], dict[str, Any]]] = {
    "statements": _run_statements,
    "embed": _run_embed,
    "cluster": _run_cluster,
    "represent": _run_represent,
    "condense": _run_condense,
    "instrument": _run_instrument,
}


@dataclass(frozen=True)
class DiscoveryResult:
    """Where the run is, which steps ran and which were reused, and the manifest."""

    out: Path
    ran: tuple[str, ...]
    reused: tuple[str, ...]
    manifest: dict[str, Any]

    @property
    def instrument_path(self) -> Path:
        return self.out / "instrument.yaml"


def _intact(out: Path, record: dict[str, Any]) -> bool:
    files = record.get("outputs", {})
    return bool(files) and all(
        (out / f).is_file() and sha256_file(out / f) == h for f, h in files.items()
    )


def discover(
    frame: pl.DataFrame,
    out: str | Path,
    config: DiscoveryConfig,
    *,
    source: str = "<frame>",
    input_sha256: str | None = None,
    from_step: str | None = None,
    client: Any = None,
) -> DiscoveryResult:
    """Run (or resume) discovery on ``frame``'s pairs into the directory ``out``.

    ``client``: a ready LLM client for both LLM steps (tests); otherwise one is made from
    ``config.llm`` per step. ``from_step`` reruns that step and every step after it.
    """
    if from_step is not None and from_step not in STEPS:
        msg = f"The 'from_step' parameter must be one of {list(STEPS)}. Got {from_step!r} instead."
        raise InvalidParameterError(msg)
    config.check()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    given = config.columns.statements is not None
    pairs = read_pairs(frame, config.columns, source=source, need_text=not given)
    fingerprint = hashlib.sha256(canonical_json(pairs.rows()).encode("utf-8")).hexdigest()
    manifest = read_manifest(out)
    manifest["input"] = {
        "source": source,
        "file_sha256": input_sha256,
        "rows": pairs.height,
        "data_fingerprint": fingerprint,
        "fingerprint_method": "sha256 of the canonical JSON of the pairs read",
    }
    manifest.setdefault("steps", {})
    ctx = _Context(out, config, pairs, client)
    forced = False
    ran, reused = [], []
    upstream: list[str] = []
    for i, step in enumerate(STEPS, start=1):
        forced = forced or step == from_step
        params = _step_params(step, ctx, fingerprint)
        key = hashlib.sha256(
            canonical_json({"step": step, "params": params, "upstream": upstream}).encode()
        ).hexdigest()
        record = manifest["steps"].get(step, {})
        if not forced and record.get("key") == key and _intact(out, record):
            reused.append(step)
            status(f"[{i}/{len(STEPS)}] {step}: reused ({', '.join(ARTEFACTS[step])})")
        else:
            manifest["steps"].pop(step, None)
            _write_json(out / MANIFEST, manifest)
            t0 = time.perf_counter()
            summary = STEP_FUNCTIONS[step](ctx)
            seconds = round(time.perf_counter() - t0, 3)
            outputs = {f: sha256_file(out / f) for f in ARTEFACTS[step]}
            record = {
                "key": key,
                "params": params,
                "outputs": outputs,
                "summary": summary,
                "seconds": seconds,
            }
            manifest["steps"][step] = record
            _write_json(out / MANIFEST, manifest)
            ran.append(step)
            said = ", ".join(f"{k} {v}" for k, v in summary.items() if not isinstance(v, dict))
            status(f"[{i}/{len(STEPS)}] {step}: {said} ({seconds:.1f} s)")
        upstream = upstream + sorted(record["outputs"].values())
    return DiscoveryResult(out, tuple(ran), tuple(reused), manifest)
