"""The synthetic LMSYS-shaped corpus with planted ground truth: the demo corpus and benchmark workload.

Why it exists: the real corpora have no labels for refusals, user reactions or jailbreaks and are
gated, so a generator that records everything it plants lets the whole pipeline run offline, its
detectors be measured, and its engines be benchmarked at 1M conversations. What it plants and what
each ground-truth column means is specified in ``docs/synth.md``.

It sits beside :mod:`chatlens.corpus`, not inside it: it writes files that the corpus layer reads
like any other LMSYS-Chat-1M export, and the corpus layer knows nothing about it.

Modules, one job each: :mod:`~chatlens.synth.vocab` (kinds and labels), :mod:`~chatlens.synth.bank`
and :mod:`~chatlens.synth.config` (the YAML data files), :mod:`~chatlens.synth.simulate` (the
behaviour, as arrays), :mod:`~chatlens.synth.render` (the text), :mod:`~chatlens.synth.tables` (the
Arrow tables) and :mod:`~chatlens.synth.generate` (:func:`synth`, writing it all).

The package itself is callable: ``chatlens.synth(n, out=...)`` is :func:`synth`, so the public API
keeps mirroring the CLI (``chatlens synth``) now that the name is a package.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

from chatlens._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "synth": "chatlens.synth.generate:synth",
    "SynthResult": "chatlens.synth.generate:SynthResult",
    "sidecar_paths": "chatlens.synth.generate:sidecar_paths",
    "LMSYS_SCHEMA": "chatlens.synth.tables:LMSYS_SCHEMA",
    "TRUTH_SCHEMA": "chatlens.synth.tables:TRUTH_SCHEMA",
    "CONVERSATION_TRUTH_SCHEMA": "chatlens.synth.tables:CONVERSATION_TRUTH_SCHEMA",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports("chatlens.synth", globals(), _LAZY)


class _CallablePackage(ModuleType):
    """This package's module type: calling it calls :func:`synth`.

    Why: ``chatlens.synth`` was the generator function before the generator became this package,
    and Python binds ``chatlens.synth`` to the package whenever a submodule is imported, so a
    module-level alias could not keep the old call working in every import order.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.synth(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
