"""Shared helpers for benchmark scripts: peak RSS and one JSON line of results."""

from __future__ import annotations

import json
import platform
import resource
import sys
from typing import Any


def peak_rss_mb(*, children: bool = False) -> float:
    """Peak resident set size of this process (or of its finished children) in MiB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    kib = resource.getrusage(who).ru_maxrss  # KiB on Linux
    return round(kib / 1024, 1)


def emit(result: dict[str, Any]) -> None:
    """Print the benchmark result as one JSON object, with the machine it ran on."""
    import os

    result = {**result, "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": sys.platform}}
    print(json.dumps(result, indent=2))
