"""Near-duplicate similarity to known jailbreak templates (MinHash over word shingles).

Why: jailbreak templates circulate and are pasted with small edits (a new persona name, a changed
sentence). Cue lexicons catch the tell-tale phrases; this catches the template as a whole. The
reference templates are written by the project itself (``patterns/templates_jailbreak.yaml``,
paraphrased archetypes), never copied from an evaluation set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from chatlens import _yaml
from chatlens.errors import LexiconParseError

NUM_PERM = 64
SHINGLE = 3
#: Jaccard estimate from which a message counts as a (lightly edited) copy of a template.
THRESHOLD = 0.3
#: Messages shorter than this are not compared (templates are long).
MIN_CHARS = 200
_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class Template:
    """One reference jailbreak template."""

    id: str
    family: str
    text: str


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
    path = "patterns/templates_jailbreak.yaml"
    text = (resources.files("chatlens.signals") / "patterns" / "templates_jailbreak.yaml").read_text(
        encoding="utf-8"
    )
    data = _yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("templates"), list):
        msg = f"Invalid template file {path}: key 'templates': expected a list of mappings."
        raise LexiconParseError(msg)
    out = []
    for i, item in enumerate(data["templates"]):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) and item.get(k) for k in ("id", "family", "text")
        ):
            msg = (
                f"Invalid template file {path}: key 'templates[{i}]': expected a mapping with "
                f"string id, family and text. Got {item!r}."
            )
            raise LexiconParseError(msg)
        out.append(Template(item["id"], item["family"], item["text"]))
    return tuple(out)


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
