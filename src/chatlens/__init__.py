"""chatlens: behavioural science of human-AI interaction from real conversation logs.

The public API mirrors the CLI: ``chatlens.read`` (any log format → canonical corpus),
``chatlens.analyze`` (a run directory), ``chatlens.synth`` (the synthetic demo corpus with ground
truth) and ``chatlens.info`` (what a source contains). Heavy submodules load lazily on first use so
that ``import chatlens`` stays fast.
"""

from __future__ import annotations

from chatlens._lazy import lazy_exports

__version__ = "0.1.0"

#: public name -> "module:attr", resolved on first access (PEP 562).
_LAZY: dict[str, str] = {
    "read": "chatlens.corpus.api:read",
    "iter_batches": "chatlens.corpus.api:iter_batches",
    "info": "chatlens.corpus.api:info",
    "Corpus": "chatlens.corpus.api:Corpus",
    "analyze": "chatlens.run:analyze",
    "synth": "chatlens.synth",  # the package; calling it calls chatlens.synth.synth
}

__all__ = ["__version__", *sorted(_LAZY)]


__getattr__, __dir__ = lazy_exports("chatlens", globals(), _LAZY)
