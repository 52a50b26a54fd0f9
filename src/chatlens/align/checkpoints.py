"""Checkpoints of a training run: the per-epoch provenance record, listing, resume checks, and
the callback that writes them (with the progress bar and the JSONL log)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from chatlens._progress import progress_bar, status
from chatlens.align.provenance import weights_fingerprint
from chatlens.datafiles.schemas import AlignTrainConfig
from chatlens.errors import ProvenanceError

CHECKPOINT_RECORD = "chatlens_checkpoint.json"
LOG = "train_log.jsonl"


def make_callback(
    out: Path,
    cfg: AlignTrainConfig,
    chash: str,
    pairs_sha: str,
    total: int,
    base_weights: str | None = None,
) -> Any:
    from transformers import TrainerCallback

    class ChatlensCallback(TrainerCallback):
        """Progress bar, a JSONL log, and a provenance record in every saved checkpoint."""

        def __init__(self) -> None:
            self._bar: Any = None
            self._advance: Any = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self._bar = progress_bar(description=f"{cfg.method} training", total=total)
            self._advance = self._bar.__enter__()
            self._advance(state.global_step)

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self._advance:
                self._advance(1)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if not state.is_world_process_zero:
                return
            with (out / LOG).open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"step": state.global_step, **(logs or {})}) + "\n")

        def on_save(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if not state.is_world_process_zero:
                return
            ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            rec = {
                "epoch": round(float(state.epoch or 0)),
                "step": state.global_step,
                "model": cfg.model,
                "base_weights": base_weights,
                "method": cfg.method,
                "config_hash": chash,
                "pairs_sha256": pairs_sha,
                "weights": weights_fingerprint(ckpt),
            }
            (ckpt / CHECKPOINT_RECORD).write_text(
                json.dumps(rec, indent=2) + "\n", encoding="utf-8"
            )

        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self._bar is not None:
                self._bar.__exit__(None, None, None)
                self._bar = None

    return ChatlensCallback()


_STEP_DIR = re.compile(r"checkpoint-(\d+)")


def checkpoint_dirs(d: Path) -> list[Path]:
    """``checkpoint-<step>`` directories of ``d`` by step. Other names (a user's
    ``checkpoint-best`` copy) are not the trainer's and are left alone, as transformers does."""
    found = [(m, p) for p in d.glob("checkpoint-*") if (m := _STEP_DIR.fullmatch(p.name))]
    return [p for m, p in sorted(found, key=lambda mp: int(mp[0].group(1))) if p.is_dir()]


def list_checkpoints(run_dir: str | Path) -> list[dict[str, Any]]:
    """The run's checkpoints with their records, by step (missing records are an error)."""
    d = Path(run_dir) / "checkpoints"
    out = []
    for ckpt in checkpoint_dirs(d):
        rec_path = ckpt / CHECKPOINT_RECORD
        if not rec_path.is_file():
            msg = f"Checkpoint {ckpt} has no {CHECKPOINT_RECORD}: not written by chatlens align train."
            raise ProvenanceError(msg)
        out.append({**json.loads(rec_path.read_text(encoding="utf-8")), "path": str(ckpt)})
    return out


INCOMPLETE = "incomplete_checkpoints"


def _has_record(ckpt: Path) -> bool:
    try:
        json.loads((ckpt / CHECKPOINT_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True


def set_aside_incomplete(run_dir: Path) -> list[Path]:
    """Move the last checkpoints without a readable record to ``run_dir/incomplete_checkpoints``.

    The record is written after every other file of a checkpoint, so a trailing checkpoint
    without one is a save that was killed (a job's time limit): its weights may be half written.
    Resuming goes on from the checkpoint before it, which saves that step again. Moved, not
    deleted: the files are the user's. Returns the new locations.
    """
    d = run_dir / "checkpoints"
    if not d.is_dir():
        return []
    dirs = checkpoint_dirs(d)
    moved = []
    while dirs and not _has_record(dirs[-1]):
        ckpt = dirs.pop()
        dest = run_dir / INCOMPLETE / ckpt.name
        n = 1
        while dest.exists():
            dest, n = run_dir / INCOMPLETE / f"{ckpt.name}-{n}", n + 1
        dest.parent.mkdir(parents=True, exist_ok=True)
        ckpt.rename(dest)
        status(f"{ckpt} has no {CHECKPOINT_RECORD} (killed while saving?): moved to {dest}")
        moved.append(dest)
    return moved


def check_resumable(
    run_dir: Path, chash: str, pairs_sha: str, base_weights: str | None = None
) -> str | None:
    """The last checkpoint to resume from (``None``: start afresh), after setting aside the
    trailing incomplete ones; another run's checkpoints, or checkpoints trained on a base model
    whose weights have changed since, are a :class:`ProvenanceError`."""
    set_aside_incomplete(run_dir)
    ckpts = list_checkpoints(run_dir) if (run_dir / "checkpoints").is_dir() else []
    if not ckpts:
        return None
    last = ckpts[-1]
    if last["config_hash"] != chash or last["pairs_sha256"] != pairs_sha:
        msg = (
            f"{run_dir} holds checkpoints of another run (config {last['config_hash']}, pairs "
            f"{last['pairs_sha256'][:12]}…; this run: config {chash}, pairs {pairs_sha[:12]}…). "
            "Use a new --out, or --no-resume to start over in a fresh directory."
        )
        raise ProvenanceError(msg)
    was = last.get("base_weights")
    if was is not None and base_weights is not None and was != base_weights:
        # the config names the base by path: another model saved there would be trained on
        # from adapters fitted to the old one
        msg = (
            f"{run_dir}'s checkpoints were trained on other weights of {last['model']} "
            f"({str(was)[:12]}…) than the ones there now ({base_weights[:12]}…). Restore that "
            "base model, or use a new --out."
        )
        raise ProvenanceError(msg)
    found = weights_fingerprint(last["path"])
    if found != last["weights"]:
        # damaged or swapped after it was saved (an interrupted copy, a disk error): resuming
        # would go on from other weights than the ones the record vouches for
        msg = (
            f"Checkpoint {last['path']} has weights ({found[:12]}…) other than the ones saved "
            f"there ({str(last['weights'])[:12]}…). Move it out of {run_dir}/checkpoints to "
            "resume from the checkpoint before it."
        )
        raise ProvenanceError(msg)
    return last["path"]
