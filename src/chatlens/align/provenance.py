"""Provenance of every alignment artefact: which model, checkpoint and configuration made it.

Why: HAL's per-epoch curves were scored from one model's outputs under four other models' names
(hal.md §5.2) and nothing in its files could tell. Here every artefact ``X`` gets a sidecar
``X.provenance.json`` holding the artefact's own sha256, the model, the checkpoint directory and
a fingerprint of the weights in it, the config hash, and the sha256 of each input. Tables also
carry ``checkpoint``/``model``/``config_hash`` columns per row. :func:`verify_artefact` recomputes
the hashes, so an evaluation file relabelled with another checkpoint, or a checkpoint whose
weights changed, fails loudly (:class:`~chatlens.errors.ProvenanceError`).

No secret ever enters a sidecar: LLM settings are recorded with ``LLMConfig.describe()``, which
names the API key's environment variable, never its value.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chatlens.errors import ProvenanceError

SUFFIX = ".provenance.json"
#: Weight files whose bytes make a checkpoint's fingerprint (adapters and full models; not the
#: optimizer, scheduler, RNG or ``training_args.bin``, which name paths and differ between two
#: runs that produce the same weights).
WEIGHT_GLOBS = (
    "adapter_model*.safetensors",
    "adapter_model*.bin",
    "model*.safetensors",
    "pytorch_model*.bin",
)


def canonical(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces) for hashing."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def config_hash(obj: Any) -> str:
    """The first 16 hex digits of the sha256 of ``obj``'s canonical JSON.

    >>> config_hash({"b": 1, "a": 2}) == config_hash({"a": 2, "b": 1})
    True
    """
    return hashlib.sha256(canonical(obj).encode("utf-8")).hexdigest()[:16]


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes, read in 1 MB blocks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weights_fingerprint(model_dir: str | Path) -> str:
    """sha256 over the weight files of a model or adapter directory (names and bytes, sorted).

    A hub id (not a directory) has no local bytes to hash: its fingerprint is ``hub:<id>``.
    """
    d = Path(model_dir)
    if not d.is_dir():
        return f"hub:{model_dir}"
    files = sorted({p for g in WEIGHT_GLOBS for p in d.glob(g)})
    if not files:
        msg = (
            f"No weight files ({', '.join(WEIGHT_GLOBS)}) in {d}: not a model or adapter directory."
        )
        raise ProvenanceError(msg)
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode("utf-8"))
        h.update(file_sha256(p).encode("ascii"))
    return h.hexdigest()


@dataclass(frozen=True)
class Provenance:
    """Where an artefact came from (the sidecar's content, less the artefact's own hash)."""

    artefact: str
    model: str | None = None
    checkpoint: str | None = None
    epoch: float | None = None
    weights: str | None = None
    config_hash: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from chatlens import __version__

        return {**asdict(self), "created_by": f"chatlens {__version__}"}


def sidecar(path: str | Path) -> Path:
    """``X`` -> ``X.provenance.json``."""
    p = Path(path)
    return p.with_name(p.name + SUFFIX)


def inputs_of(**paths: str | Path | None) -> dict[str, str]:
    """``{name: sha256}`` of the given input files (directories hash their weight files)."""
    out: dict[str, str] = {}
    for name, p in paths.items():
        if p is None:
            continue
        q = Path(p)
        out[name] = weights_fingerprint(q) if q.is_dir() else file_sha256(q)
    return out


def write_provenance(path: str | Path, prov: Provenance) -> Path:
    """Write ``path``'s sidecar: the provenance plus the artefact's sha256."""
    record = {**prov.to_dict(), "sha256": file_sha256(path), "file": Path(path).name}
    out = sidecar(path)
    out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def read_provenance(path: str | Path) -> dict[str, Any]:
    """The sidecar of ``path``; :class:`ProvenanceError` when it is missing or unreadable."""
    sc = sidecar(path)
    if not sc.is_file():
        msg = f"{path} has no provenance record ({sc.name} not found next to it)."
        raise ProvenanceError(msg)
    try:
        return json.loads(sc.read_text(encoding="utf-8"))
    except ValueError as exc:
        msg = f"Provenance record {sc} is not valid JSON: {exc}"
        raise ProvenanceError(msg) from None


def verify_artefact(path: str | Path, *, checkpoint: str | Path | None = None) -> dict[str, Any]:
    """Check ``path`` against its sidecar; return the record.

    * the artefact's bytes must hash to the recorded sha256 (not edited or swapped);
    * when the record names a checkpoint directory (or ``checkpoint`` is given), that directory's
      weights must fingerprint to the recorded ``weights``: an evaluation file attributed to a
      checkpoint that did not produce it fails here.
    """
    rec = read_provenance(path)
    actual = file_sha256(path)
    if rec.get("sha256") != actual:
        msg = (
            f"{path} changed after it was written: sha256 {actual[:12]}… but its provenance "
            f"record says {str(rec.get('sha256'))[:12]}…."
        )
        raise ProvenanceError(msg)
    ckpt = checkpoint if checkpoint is not None else rec.get("checkpoint")
    if ckpt is not None and rec.get("weights") is not None:
        if checkpoint is not None and rec.get("checkpoint") not in (None, str(checkpoint)):
            msg = f"{path} is attributed to checkpoint {rec.get('checkpoint')}, not {checkpoint}."
            raise ProvenanceError(msg)
        found = weights_fingerprint(ckpt)
        if found != rec["weights"]:
            msg = (
                f"{path} is attributed to checkpoint {ckpt}, but that checkpoint's weights "
                f"({found[:12]}…) are not the ones that produced it ({rec['weights'][:12]}…)."
            )
            raise ProvenanceError(msg)
    return rec
