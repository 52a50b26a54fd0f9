"""glibc ``malloc`` settings for the processes that run partitions.

Why: a batch's stages build many large, short-lived buffers (the joined texts the cue scanner
reads are tens of MB per batch; numpy temporaries; Python byte strings). glibc serves every
allocation above its mmap threshold with a fresh ``mmap`` and returns it on ``free``, so each
batch's buffers are new pages the kernel must fault in and zero: about 0.1-0.3 s of system time
per 20k LMSYS-shaped conversations in the signals stage (10-15 CPU seconds per million), on
top of ~1.9 s of user time. With the thresholds below, those buffers come from the heap and
their memory is reused by the next batch instead of being unmapped and mapped again. The peak
does not grow (the same buffers, reused; one process on a 20k batch: 580-590 MB either way).

Only glibc on Linux has ``mallopt``; elsewhere this is a no-op.
"""

from __future__ import annotations

import ctypes
import sys

#: Allocations up to this size come from the heap, not a private ``mmap`` (glibc's default
#: starts at 128 KiB and adapts up to 32 MiB; the scanner's buffers are larger).
MMAP_THRESHOLD = 256 << 20
#: Free memory at the top of the heap is returned to the kernel only above this much.
TRIM_THRESHOLD = 512 << 20
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_malloc() -> bool:
    """Apply :data:`MMAP_THRESHOLD` and :data:`TRIM_THRESHOLD` to this process; whether glibc
    accepted both (``False`` off Linux or without glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    mmap = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    trim = mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    return bool(mmap and trim)


__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "tune_malloc"]
