"""``chatlens align evaluate``: the reward curve over epochs, against the base, with what moved.

For the base model (epoch 0) and every checkpoint of a training run: generate for the held-out
prompts (``generations/epoch_NN.parquet``), score with HL-lite always and with an LLM judge when
one is given (``scores/epoch_NN.parquet``), then compare each epoch with the base **paired by
prompt** (mean difference, percentile bootstrap over prompts) and report what moved: per-item
judge means, HL-lite, words per turn, questions per turn and informal spelling (HL-lite's
dropped-apostrophe and lowercase-"i" rates, a typo proxy), so a gain bought with brevity or fewer
questions is visible (HAL's was, hal.md §5.3).

Provenance: every generations file records the checkpoint directory and its weights fingerprint;
before anything is scored or summarised, :func:`~chatlens.align.provenance.verify_artefact`
re-hashes the checkpoint. A file attributed to a checkpoint that did not produce it stops the run
(:class:`~chatlens.errors.ProvenanceError`) — HAL's 3B/8B/32B/72B curves were another model's
outputs (§5.2). Existing files that verify, answer the same held-out prompts and were made
with the same generation settings are reused, so a killed evaluation resumes.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import polars as pl

from chatlens._progress import status
from chatlens.align.provenance import Provenance, file_sha256, verify_artefact, weights_fingerprint
from chatlens.align.rewards import length_columns, normalise_transcript
from chatlens.align.tables import write_artefact, write_json_artefact
from chatlens.align.train import MANIFEST, list_checkpoints
from chatlens.corpus.tablefile import read_table
from chatlens.errors import InvalidParameterError, ProvenanceError, SchemaError
from chatlens.humanlike.lite import lite_score
from chatlens.stats.bootstrap import bootstrap_mean

#: Measures compared per epoch (column -> description); judge items are added when judged.
MEASURES = {
    "hl_lite_logit": "HL-lite logit",
    "scorable": "share of completions with a rated-speaker turn (format kept)",
    "format_drift": "share of completions with numbered/bulleted turn labels",
    "words_per_turn": "words per rated-speaker turn",
    "question_share": "share of rated-speaker turns with a question",
    "informal_spelling": "dropped apostrophes + lowercase 'i' per word (typo proxy)",
}


#: What the curve's intervals resample when the held-out file names no parent persona.
NO_PARENT_NOTE = (
    "the held-out file has no parent_id: prompts are resampled as if independent, but "
    "sub-personas of one person answer alike, so the intervals may be too narrow"
)


def load_heldout(path: str | Path) -> pl.DataFrame:
    """Held-out prompts (``persona_id``, ``prompt``, and ``parent_id`` when the file has it), as
    written by ``align pairs``."""
    f = read_table(path)
    missing = [c for c in ("persona_id", "prompt") if c not in f.columns]
    if missing:
        msg = f"Held-out prompt file {path}: columns {missing} missing; columns are {f.columns}."
        raise SchemaError(msg)
    if f.height == 0:
        msg = f"Held-out prompt file {path} has no prompts."
        raise SchemaError(msg)
    f = f.select(
        pl.col("persona_id").cast(pl.String).alias("prompt_id"),
        pl.col("prompt").cast(pl.String),
        *([pl.col("parent_id").cast(pl.String)] if "parent_id" in f.columns else []),
    )
    blank = f.filter(pl.col("prompt").is_null() | (pl.col("prompt").str.strip_chars() == ""))
    if blank.height:
        # a missing prompt stopped generation in the chat template ('dict object' has no
        # attribute 'content'), after the checks and without naming the file
        msg = (
            f"Held-out prompt file {path}: {blank.height} rows have no prompt (persona_id "
            f"{blank['prompt_id'].head(5).to_list()}). Expected a prompt on every row."
        )
        raise SchemaError(msg)
    dup = f.filter(pl.col("prompt_id").is_duplicated())["prompt_id"].unique().sort()
    if dup.len():
        # epochs are paired by this id: a repeated one would pair every prompt of the persona
        # with every other (n inflated, one prompt's answer compared with another's)
        msg = (
            f"Held-out prompt file {path}: persona_id {dup.head(5).to_list()} occurs more than "
            f"once ({dup.len()} ids). Expected one prompt per persona_id, as `align pairs` writes."
        )
        raise SchemaError(msg)
    return f


def check_not_trained_on(manifest: dict[str, Any], prompts: pl.DataFrame, heldout: Path) -> None:
    """Stop when a held-out prompt is one the run was trained on (the curve would not measure
    held-out prompts: e.g. the held-out file of pairs drawn with another seed). The run's pairs
    file is found through its manifest; when it is gone or changed, say that nothing was checked.
    """
    from chatlens.align.train_data import load_pairs

    path = manifest.get("pairs_file")
    if not path or not Path(path).is_file() or file_sha256(path) != manifest.get("pairs_sha256"):
        status(
            f"the run's pairs file ({path or 'not recorded'}) is missing or changed: held-out "
            "prompts not checked against the training prompts"
        )
        return
    trained = {
        m["content"] for row in load_pairs(path) for m in row["prompt"] if m["role"] == "user"
    }
    seen = prompts.filter(pl.col("prompt").is_in(list(trained)))
    if seen.height:
        msg = (
            f"{heldout}: {seen.height} of {prompts.height} held-out prompts are training prompts "
            f"of the run (prompt_id {seen['prompt_id'].head(5).to_list()}). The evaluation "
            f"would not be held out; use the heldout_prompts.parquet written with {path}."
        )
        raise SchemaError(msg)


def run_checkpoints(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run's manifest and its checkpoints, the base model first as epoch 0."""
    mpath = run_dir / MANIFEST
    if not mpath.is_file():
        msg = f"{run_dir} has no {MANIFEST}: not a finished `chatlens align train` run."
        raise SchemaError(msg)
    verify_artefact(mpath)
    manifest = json.loads(mpath.read_text(encoding="utf-8"))
    weights = weights_fingerprint(manifest["model"])
    trained_on = manifest.get("base_weights")  # absent in manifests of older versions
    if trained_on is not None and trained_on != weights:
        # another model saved under the base's path: epoch 0 and every adapter would run on it
        msg = (
            f"{run_dir} was trained on other weights of {manifest['model']} "
            f"({trained_on[:12]}…) than the ones there now ({weights[:12]}…): the base and the "
            "checkpoints would be evaluated on another model. Restore the base model."
        )
        raise ProvenanceError(msg)
    base = {
        "epoch": 0,
        "path": None,
        "model": manifest["model"],
        "weights": weights,
        "config_hash": manifest["config_hash"],
    }
    return manifest, [base, *list_checkpoints(run_dir)]


def _features(frame: pl.DataFrame, speaker: str) -> pl.DataFrame:
    """The :data:`MEASURES` per completion; all null where the completion is missing (a failed
    server request), which says nothing about the model: it must not count as "format lost"."""
    failed = pl.col("completion").is_null()
    raw = pl.col("completion").fill_null("")
    frame = frame.with_columns(
        (normalise_transcript(raw) != raw).cast(pl.Float64).alias("format_drift"),
        normalise_transcript(raw).alias("completion"),
        failed.alias("_failed"),
    )
    scored = lite_score(frame, text_column="completion", speaker=speaker, keep_features=True)
    feats = length_columns(scored, text_column="completion", speaker=speaker).with_columns(
        (pl.col("apostrophe_drop_rate") + pl.col("lower_i_rate")).alias("informal_spelling"),
        (pl.col("speaker_turns") > 0).cast(pl.Float64).alias("scorable"),
    )
    return feats.with_columns(
        pl.when(pl.col("_failed")).then(None).otherwise(pl.col(m)).alias(m) for m in MEASURES
    ).drop("_failed")


def _generations(
    ck: dict[str, Any],
    heldout: pl.DataFrame,
    manifest: dict[str, Any],
    out: Path,
    gen: dict[str, Any],
    server: Any = None,
    served_name: str | None = None,
    inputs: dict[str, str] | None = None,
) -> Path:
    from chatlens.align.generate import generate_local, generate_server

    path = out / "generations" / f"epoch_{ck['epoch']:02d}.parquet"
    name = served_name or manifest["model"]
    want = {
        "generation": gen,
        "served_as": name if server is not None else None,
        "server": server.describe()["endpoint"] if server is not None else None,
    }
    if path.is_file():
        try:
            rec = verify_artefact(path, checkpoint=ck["path"] or manifest["model"])
        except ProvenanceError:
            status(f"{path} does not match {ck['path'] or 'the base model'}: generating again")
        else:
            stale = _stale_generations(path, rec, heldout, want)
            if stale is None:
                return path  # resume: this checkpoint's generations are already there
            status(f"{path} {stale}: generating again")
    cfg = manifest["config"]
    prompts = [[{"role": "user", "content": p}] for p in heldout["prompt"]]
    extra: dict[str, Any] = {"generation": gen}
    if server is not None:  # the checkpoint served under a name (vLLM --lora-modules NAME=DIR)
        llm = server.with_(
            model=name,
            temperature=gen["temperature"],
            max_tokens=gen["max_new_tokens"],
            # the seed of sampling reaches the server too (vLLM, OpenAI, Ollama, llama.cpp
            # take a per-request seed); it was recorded but never sent
            params={**server.params, "seed": gen["seed"]},
        )
        if llm.cache_dir is not None:
            # the response cache keys on the served name, not the weights behind it: another
            # run's epoch-1 served as "epoch-1" would get this one's cached answers back. One
            # cache per weights fingerprint: a rerun of the same checkpoint still resumes free.
            tag = hashlib.sha256(str(ck["weights"]).encode("utf-8")).hexdigest()[:16]
            llm = llm.with_(cache_dir=Path(llm.cache_dir) / "align-weights" / tag)
        texts, usage = generate_server(llm, prompts)
        extra.update(served_as=name, server=server.describe()["endpoint"], usage=usage)
    else:
        texts = generate_local(
            manifest["model"],
            prompts,
            adapter=ck["path"],
            chat_template=cfg.get("chat_template", ""),
            **gen,
        )
    frame = heldout.with_columns(pl.Series("completion", texts, dtype=pl.String))
    return write_artefact(
        stamp(frame, ck, manifest),
        path,
        _provenance("generations", ck, manifest, inputs=inputs or {}, extra=extra),
    )


def _stale_generations(
    path: Path, rec: dict[str, Any], heldout: pl.DataFrame, want: dict[str, Any]
) -> str | None:
    """Why an existing generations file cannot be reused (``None``: it can).

    A file of the right checkpoint is still stale when it answers other prompts (another
    ``--heldout`` or ``--max-prompts``) or was generated with other settings (tokens,
    temperature, seed, batch, served name): reusing it would report numbers of another
    evaluation under this one's settings.
    """
    extra = rec.get("extra") or {}
    for key, value in want.items():
        if extra.get(key) != value:
            return f"was made with {key} {extra.get(key)!r}, not {value!r}"
    done = read_table(path)
    if not done.select("prompt_id", "prompt").equals(heldout.select("prompt_id", "prompt")):
        return f"answers other prompts ({done.height} rows; {heldout.height} held-out prompts now)"
    return None


def stamp(frame: pl.DataFrame, ck: dict[str, Any], manifest: dict[str, Any]) -> pl.DataFrame:
    """``frame`` with the provenance columns of checkpoint ``ck`` on every row."""
    return frame.with_columns(
        pl.lit(ck["epoch"]).alias("epoch"),
        pl.lit(ck["path"] or manifest["model"]).alias("checkpoint"),
        pl.lit(manifest["model"]).alias("model"),
        pl.lit(manifest["config_hash"]).alias("config_hash"),
        pl.lit(ck["weights"]).alias("weights"),
    )


def _provenance(kind: str, ck: dict[str, Any], manifest: dict[str, Any], **kw: Any) -> Provenance:
    return Provenance(
        kind,
        model=manifest["model"],
        checkpoint=ck["path"],
        epoch=ck["epoch"],
        weights=ck["weights"],
        config_hash=manifest["config_hash"],
        **kw,
    )


def _check_rows(frame: pl.DataFrame, rec: dict[str, Any], path: Path) -> None:
    """The rows must name the checkpoint their sidecar names (a table edited in place fails
    :func:`verify_artefact`; this catches a sidecar copied next to another table)."""
    want = rec.get("checkpoint") or rec.get("model")
    bad = frame.filter((pl.col("checkpoint") != want) | (pl.col("weights") != rec.get("weights")))
    if bad.height:
        msg = (
            f"{path}: {bad.height} rows name checkpoint {bad['checkpoint'][0]!r}, but the file's "
            f"provenance says {want!r}."
        )
        raise ProvenanceError(msg)


def paired_delta(
    base: pl.DataFrame,
    other: pl.DataFrame,
    column: str,
    *,
    n_boot: int,
    seed: int,
    parents: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """Mean of (other − base) over prompts present in both, with a bootstrap CI over prompts, or
    over parent personas when ``parents`` (``prompt_id``, ``parent_id``) is given: the
    sub-personas of one person are correlated, and resampling them one by one would count one
    person's answers as independent evidence (a too narrow interval)."""
    j = (
        base.select("prompt_id", pl.col(column).alias("_b"))
        .join(other.select("prompt_id", pl.col(column).alias("_o")), on="prompt_id")
        .drop_nulls()
    )
    if parents is not None:
        j = j.join(parents.select("prompt_id", "parent_id"), on="prompt_id", how="left")
    j = j.filter(pl.col("_b").is_not_nan() & pl.col("_o").is_not_nan())
    if j.height == 0:
        return {"n": 0, "mean": None, "delta": None, "ci": [None, None]}
    d = (j["_o"] - j["_b"]).to_numpy()
    if j.height < 2:
        return {"n": 1, "mean": float(j["_o"][0]), "delta": float(d[0]), "ci": [None, None]}
    clusters = j["parent_id"] if parents is not None else None
    e = bootstrap_mean(d, clusters=clusters, n_boot=n_boot, seed=seed)
    finite = math.isfinite(e.ci_low) and math.isfinite(e.ci_high)  # one parent: no spread
    return {
        "n": j.height,
        "mean": float(j["_o"].mean()),
        "delta": e.value,
        "ci": [e.ci_low, e.ci_high] if finite else [None, None],
    }


def evaluate(
    run_dir: str | Path,
    *,
    heldout: str | Path,
    out: str | Path,
    speaker: str = "P",
    judge_config: Any = None,
    judge_client: Any = None,
    instrument: str = "hal16q",
    max_new_tokens: int = 512,
    temperature: float = 0.7,
    seed: int = 0,
    batch_size: int = 8,
    n_boot: int = 2000,
    max_prompts: int | None = None,
    server: Any = None,
    served_names: dict[int, str] | None = None,
) -> dict[str, Any]:
    """Evaluate every checkpoint of ``run_dir``; write files under ``out``; return the summary.

    Generation is local (transformers, base + LoRA adapter) unless ``server`` (an
    :class:`~chatlens.llm.LLMConfig` of an OpenAI-compatible server) is given: then epoch ``e`` is
    asked of the model served as ``served_names[e]`` (default ``epoch-<e>``, and the base model's
    name for epoch 0). A server's weights cannot be hashed from here: the provenance records the
    checkpoint directory the name was declared to serve and the served name, and trusts that
    declaration — serve adapters straight from the run's checkpoint directories.
    """
    run_dir, out = Path(run_dir), Path(out)
    manifest, ckpts = run_checkpoints(run_dir)
    epochs = [c["epoch"] for c in ckpts]
    unknown = sorted(set(served_names or {}) - set(epochs))
    if unknown:
        # a name for an epoch the run does not have (a checkpoint's step given as the epoch?)
        # was ignored, and that checkpoint asked under its default name instead
        msg = (
            f"Served names are given for epochs {unknown}, but {run_dir} has checkpoints of "
            f"epochs {epochs[1:]} (0 is the base). --served-name takes EPOCH=NAME, the epoch "
            "of the checkpoint, not its step."
        )
        raise InvalidParameterError(msg)
    prompts = load_heldout(heldout)
    if max_prompts is not None:
        prompts = prompts.head(max_prompts)
    check_not_trained_on(manifest, prompts, Path(heldout))
    # which held-out file the prompts came from (generations' inputs, summary.json)
    held_in = {"heldout": file_sha256(heldout)}
    gen = {
        "max_new_tokens": max_new_tokens,
        "temperature": temperature,
        "seed": seed,
        "batch_size": batch_size,
    }
    scored: dict[int, pl.DataFrame] = {}
    failed: dict[int, int] = {}
    judge_items: list[str] = []
    usage: dict[str, Any] = {}
    for ck in ckpts:
        name = (served_names or {}).get(ck["epoch"]) or (
            f"epoch-{ck['epoch']}" if ck["epoch"] else manifest["model"]
        )
        gpath = _generations(ck, prompts, manifest, out, gen, server, name, inputs=held_in)
        rec = verify_artefact(gpath, checkpoint=ck["path"] or manifest["model"])
        frame = read_table(gpath)
        _check_rows(frame, rec, gpath)
        feats = _features(frame.select("prompt_id", "completion"), speaker)
        failed[ck["epoch"]] = int(frame["completion"].null_count())
        if judge_config is not None or judge_client is not None:
            from chatlens.humanlike.judge import judge

            res = judge(
                frame.select("completion"),
                instrument=instrument,
                text_column="completion",
                speaker=speaker,
                config=judge_config,
                client=judge_client,
            )
            judge_items = [c for c in res.frame.columns if c.startswith("hl_item_")]
            feats = pl.concat(
                [feats, res.frame.select([*judge_items, "hl_logit", "hl_error"])], how="horizontal"
            )
            usage[f"epoch_{ck['epoch']}"] = res.summary()["usage"]
        keep = ["prompt_id", *MEASURES, *(["hl_logit", *judge_items] if judge_items else [])]
        table = stamp(feats.select(keep), ck, manifest)
        write_artefact(
            table,
            out / "scores" / f"epoch_{ck['epoch']:02d}.parquet",
            _provenance("scores", ck, manifest, inputs={"generations": file_sha256(gpath)}),
        )
        scored[ck["epoch"]] = table
    measures = {
        **MEASURES,
        **({"hl_logit": f"{instrument} judge logit"} if judge_items else {}),
        **{c: f"{instrument} item {c.removeprefix('hl_item_')}" for c in judge_items},
    }
    base = scored[0]
    parents = prompts.select("prompt_id", "parent_id") if "parent_id" in prompts.columns else None
    if parents is None:
        status(NO_PARENT_NOTE)
    curve = []
    for ck in ckpts:
        for col, label in measures.items():
            d = paired_delta(
                base, scored[ck["epoch"]], col, n_boot=n_boot, seed=seed, parents=parents
            )
            curve.append(
                {
                    "epoch": ck["epoch"],
                    "checkpoint": ck["path"] or manifest["model"],
                    "measure": col,
                    "label": label,
                    "n": d["n"],
                    "mean": d["mean"],
                    "delta_vs_base": d["delta"],
                    "ci_low": d["ci"][0],
                    "ci_high": d["ci"][1],
                    # what the interval resamples (prompts: see NO_PARENT_NOTE)
                    "ci_over": "parent_id" if parents is not None else "prompt",
                    "weights": ck["weights"],
                }
            )
    curve_frame = pl.DataFrame(curve, infer_schema_length=None)
    inputs = {
        f"scores_epoch_{e:02d}": file_sha256(out / "scores" / f"epoch_{e:02d}.parquet")
        for e in scored
    }
    prov = Provenance(
        "evaluation-curve",
        model=manifest["model"],
        config_hash=manifest["config_hash"],
        inputs={**inputs, **held_in},
        extra={"checkpoints": [{k: c[k] for k in ("epoch", "path", "weights")} for c in ckpts]},
    )
    write_artefact(curve_frame, out / "curve.csv", prov)
    summary = {
        "run": str(run_dir),
        "model": manifest["model"],
        "config_hash": manifest["config_hash"],
        "heldout": {"path": str(heldout), "sha256": held_in["heldout"]},
        "prompts": prompts.height,
        "ci_resamples": (
            f"parent personas ({prompts['parent_id'].n_unique()})"
            if parents is not None
            else "prompts"
        ),
        "ci_note": None if parents is not None else NO_PARENT_NOTE,
        "failed_generations": failed,
        "generation": gen,
        "speaker": speaker,
        "judge": (
            judge_config.describe()
            if judge_config is not None
            else (judge_client.config.describe() if judge_client is not None else None)
        ),
        "instrument": instrument if judge_items else None,
        "judge_usage": usage,
        "curve": curve,
    }
    write_json_artefact(summary, out / "summary.json", prov)
    return summary
