"""Near-duplicate similarity to known jailbreak templates (MinHash over word shingles).

Why: jailbreak templates circulate and are pasted with small edits (a new persona name, a changed
sentence). Cue lexicons catch the tell-tale phrases; this catches the template as a whole. The
reference templates are written by the project itself (``data/signals/patterns/templates_jailbreak.yaml``,
paraphrased archetypes), never copied from an evaluation set.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np

from chatlens import datafiles
from chatlens.datafiles.schemas import TemplateSpec as Template

NUM_PERM = 64
SHINGLE = 3
#: Jaccard estimate from which a message counts as a (lightly edited) copy of a template.
THRESHOLD = 0.3
#: Messages shorter than this are not compared (templates are long).
MIN_CHARS = 200
_WORD = re.compile(r"[a-z0-9']+")


def _shingles(text: str) -> set[bytes]:
    words = _WORD.findall(text.casefold())
    if len(words) < SHINGLE:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + SHINGLE]).encode() for i in range(len(words) - SHINGLE + 1)}


def _minhash(text: str) -> np.ndarray:
    from datasketch import MinHash

    m = MinHash(num_perm=NUM_PERM, seed=1)
    sh = _shingles(text)
    if sh:
        m.update_batch(list(sh))
    return m.hashvalues


@cache
def load_templates() -> tuple[Template, ...]:
    """The bundled reference templates (validated)."""
    doc = datafiles.load("signals/patterns/templates_jailbreak.yaml")
    return doc.templates


@cache
def _template_signatures() -> np.ndarray:
    return np.stack([_minhash(t.text) for t in load_templates()])


def template_similarity(texts: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Best template match per text: (Jaccard estimate in [0, 1], template index or -1)."""
    n = len(texts)
    best = np.zeros(n, dtype=np.float64)
    which = np.full(n, -1, dtype=np.int64)
    sigs = _template_signatures()
    for i, text in enumerate(texts):
        if not text or len(text) < MIN_CHARS:
            continue
        sim = (sigs == _minhash(text)[None, :]).mean(axis=1)
        j = int(sim.argmax())
        best[i] = sim[j]
        which[i] = j
    return best, which
