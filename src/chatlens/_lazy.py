"""Lazy re-exports (PEP 562), shared by every package ``__init__``.

Why: ``import chatlens`` (and each subpackage) must stay fast, so public names are declared as
``"module:attr"`` strings and imported on first access only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def import_target(target: str) -> Any:
    """The object a ``"module:attr"`` string names (``attr`` may be dotted, or absent for the
    module itself): the one resolver behind lazy exports, registered stages and data-file builders.

    Raises
    ------
    ImportError
        The module cannot be imported.
    AttributeError
        The module has no such attribute.
    """
    module_name, _, attr = target.partition(":")
    found: Any = importlib.import_module(module_name)
    for part in attr.split(".") if attr else ():
        found = getattr(found, part)
    return found


def lazy_exports(
    package: str, namespace: dict[str, Any], targets: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Build ``__getattr__`` and ``__dir__`` for ``package`` from ``name -> "module:attr"``.

    A target without ``:attr`` is the module itself (a subpackage exported by name). A resolved
    name is cached in ``namespace`` (the package's ``globals()``), so the import
    happens once.
    """

    def __getattr__(name: str) -> Any:
        target = targets.get(name)
        if target is None:
            msg = f"module {package!r} has no attribute {name!r}"
            raise AttributeError(msg)
        value = import_target(target)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(targets))

    return __getattr__, __dir__
