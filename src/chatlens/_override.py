"""A scoped, in-process stand-in for a shipped model's weights.

Why: honest validation of what *depends* on a trained tier (``refusal_overturned`` runs the whole
signals and behaviour steps over labelled conversations) needs a model fitted without the
conversation being scored, reached through the same code path a run takes. The stand-in lives in
a context variable, so it does not leak into other threads' work, and it is in-process only (the
process engine's workers load the shipped weights).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, TypeVar

M = TypeVar("M")


class ModelOverride(Generic[M]):
    """The model in force for one tier: the one set by :meth:`using`, else ``load()``.

    Examples
    --------
    >>> weights = ModelOverride("demo", lambda: "shipped")
    >>> with weights.using("refitted"):
    ...     weights.active()
    'refitted'
    >>> weights.active()
    'shipped'
    """

    def __init__(self, name: str, load: Callable[[], M]) -> None:
        self._var: ContextVar[M | None] = ContextVar(name, default=None)
        self._load = load

    @contextmanager
    def using(self, model: M) -> Iterator[M]:
        """Within the block, :meth:`active` returns ``model``."""
        token = self._var.set(model)
        try:
            yield model
        finally:
            self._var.reset(token)

    def active(self) -> M:
        """The stand-in set by :meth:`using`, else the shipped model."""
        model = self._var.get()
        return self._load() if model is None else model
