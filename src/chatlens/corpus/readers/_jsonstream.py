"""Records of a large or deeply nested JSON document, streamed with memory linear in its depth.

Why not ``ijson.items``: it tracks a *prefix string* per nesting level (``item.item.item…``), so
a record nested 20,000 deep cost a gigabyte and 40,000 deep four (quadratic; found by
``benchmarks/fuzz_readers.py``: a 40 KB file could exhaust memory). This walks ijson's
prefix-free ``basic_parse`` events, keeps only the depth and the two outermost containers, and
builds each record with ijson's own ``ObjectBuilder``. A record nested deeper than
:data:`MAX_RECORD_DEPTH` is not built: it is yielded as :class:`TooDeep`, which the readers
quarantine with that reason, and the records after it are still read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

#: Nesting below a record's own level beyond which it is quarantined instead of built.
MAX_RECORD_DEPTH = 500


class TooDeep:
    """Stands for a record nested deeper than :data:`MAX_RECORD_DEPTH` levels (not built)."""

    reason = f"record nested deeper than {MAX_RECORD_DEPTH} levels"

    def __repr__(self) -> str:
        return f"<{self.reason}>"


_STARTS = {"start_map": "map", "start_array": "array"}


def stream_items(stream: IO[bytes], prefix: str) -> Iterator[Any]:
    """The values at ``prefix`` (``""``: the document; ``item``: items of the top-level array;
    ``key.item``: items of the array under the top-level ``key``), in order."""
    import ijson
    from ijson.common import ObjectBuilder

    target = 0 if prefix == "" else 1 if prefix == "item" else 2
    parent_key = prefix.split(".")[0] if target == 2 else None
    depth = 0
    outer: list[str] = []  # kinds of the containers at depth 0 and 1
    key1: str | None = None  # the current key of the top-level object
    builder: ObjectBuilder | None = None
    start: int | None = None  # depth at which the record being read began
    for event, value in ijson.basic_parse(stream, use_float=True):
        if event in ("end_map", "end_array"):
            depth -= 1
            if start is not None:
                if builder is not None:
                    builder.event(event, value)
                if depth == start:
                    yield builder.value if builder is not None else TooDeep()
                    builder, start = None, None
            continue
        if event == "map_key":
            if depth == 1:
                key1 = value
            if builder is not None:
                builder.event(event, value)
            continue
        if start is None and _at_target(target, depth, outer, key1, parent_key):
            if event in _STARTS:
                builder, start = ObjectBuilder(), depth
                builder.event(event, value)
            else:
                yield value
        elif builder is not None:
            builder.event(event, value)
        if event in _STARTS:
            if depth < 2:
                del outer[depth:]
                outer.append(_STARTS[event])
            depth += 1
            if start is not None and depth - start > MAX_RECORD_DEPTH:
                builder = None  # not built: memory stays linear in the depth


def _at_target(
    target: int, depth: int, outer: list[str], key1: str | None, parent_key: str | None
) -> bool:
    if depth != target:
        return False
    if target == 1:
        return outer[:1] == ["array"]
    if target == 2:
        return outer == ["map", "array"] and key1 == parent_key
    return True


__all__ = ["MAX_RECORD_DEPTH", "TooDeep", "stream_items"]
