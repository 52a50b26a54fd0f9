"""The public surface: ``chatlens.__all__`` resolves, and importing chatlens stays light."""

from __future__ import annotations

import chatlens


def test_all_names_resolve() -> None:
    for name in chatlens.__all__:
        assert getattr(chatlens, name) is not None, name


def test_unknown_attribute_is_attribute_error() -> None:
    try:
        chatlens.does_not_exist  # noqa: B018
    except AttributeError as exc:
        assert "does_not_exist" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_is_lazy(modules_loaded_by) -> None:
    """`import chatlens` must not pull in heavy libraries (polars, torch, sklearn, openai)."""
    heavy = ("polars", "torch", "sklearn", "openai", "matplotlib")
    assert modules_loaded_by("import chatlens", heavy) == []


def test_cli_import_is_lazy(modules_loaded_by) -> None:
    """`chatlens --help` stays fast: command modules import their libraries inside the commands
    (the audit commands once pulled polars and the corpus stack in, 0.09 s -> 0.45 s)."""
    heavy = ("polars", "numpy", "torch", "sklearn", "openai", "matplotlib", "chatlens.corpus.api")
    assert modules_loaded_by("import chatlens.cli", heavy) == []
