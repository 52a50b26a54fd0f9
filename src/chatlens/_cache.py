"""Where chatlens keeps caches: ``$CHATLENS_CACHE_DIR``, else ``$XDG_CACHE_HOME/chatlens``
(``~/.cache/chatlens``). One place, so users can move or clear every cache at once."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The root folder of chatlens caches (not created here)."""
    explicit = os.environ.get("CHATLENS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "chatlens"


def write_atomic(path: Path, data: bytes) -> None:
    """Write a cache entry atomically; a read-only or full disk is not an error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        return
