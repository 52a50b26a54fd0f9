"""Partition processes keep large buffers in the heap for reuse (``chatlens.engine._malloc``)."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

#: Prints 1 when a freed 64 MB buffer was served from the heap (glibc's ``mallinfo2``: the
#: heap's size grew by it and no ``mmap``-ed block holds it), else 0.
PROBE = """
import ctypes, sys
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
SETUP
size = 64 << 20
buf = bytearray(size)
info = libc.mallinfo2()
print(int(info.arena >= size and info.hblkhd < size))
"""


def _glibc() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        ctypes.CDLL(None).mallinfo2  # noqa: B018 - glibc >= 2.33
    except AttributeError:
        return False
    return True


def _probe(setup: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.replace("SETUP", setup)],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.mark.skipif(not _glibc(), reason="glibc only")
def test_large_buffers_come_from_the_heap_once_tuned():
    assert _probe("") == "0"  # glibc's default: a private mmap
    assert _probe("from chatlens.engine._malloc import tune_malloc; assert tune_malloc()") == "1"


@pytest.mark.skipif(not _glibc(), reason="glibc only")
def test_run_partition_tunes_its_process(tmp_path):
    setup = f"""
import json, pathlib
from chatlens.engine import run
src = pathlib.Path({str(tmp_path)!r}) / "chats.jsonl"
src.write_text(json.dumps({{"conversations": [{{"from": "human", "value": "hi"}}]}}) + "\\n")
run(src, out=src.parent / "run")
"""
    assert _probe(setup) == "1"
