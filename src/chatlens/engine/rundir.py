"""Run directories that are never misleading: marked incomplete until the run has finished.

Why: a rerun into an existing run directory that fails or is killed used to leave the old
``manifest.json``, ``report.html``, ``summary.json`` and ``tables/`` beside new or footer-less
Parquet files, and ``chatlens query`` answered from the mix (issue 11 item 5).

The rule, chosen because it is simple and survives ``kill -9`` at any instant:

1. :func:`begin_run` first writes the marker file ``.chatlens-incomplete`` (who started the run,
   when, the command), *then* removes the previous run's outputs (only the names chatlens
   writes, :data:`RUN_OUTPUTS`; anything else in the directory is left alone).
2. The run writes its tables, summary, manifest and report.
3. :func:`finish_run` removes the marker: the last step.

So at every instant a directory either has the marker (incomplete: nothing in it can be trusted
as one run's result) or holds exactly one finished run. :func:`require_complete` is what readers
of run directories (``chatlens query``) call; it raises :class:`IncompleteRunError`.

A temporary sibling directory swapped in at the end would also keep the old run until the new one
finished, but it cannot be done atomically when the directory already holds other files (a user's
``--out .``), so the marker it is.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from collections.abc import Sequence
from pathlib import Path

from chatlens.errors import IncompleteRunError

MARKER = ".chatlens-incomplete"
#: What ``chatlens analyze`` writes into a run directory (removed at the start of a rerun).
RUN_OUTPUTS = (
    "manifest.json",
    "summary.json",
    "report.html",
    "tables",
    "figures",
    "messages.parquet",
    "conversations.parquet",
    "quarantine.parquet",
    "_parts",
)


def begin_run(out: Path, command: Sequence[str] | None = None) -> None:
    """Mark ``out`` incomplete, then remove the previous run's outputs (see module doc)."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": list(command) if command else None,
    }
    marker = out / MARKER
    tmp = out / f"{MARKER}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(stamp))
    tmp.replace(marker)
    for name in RUN_OUTPUTS:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def finish_run(out: Path) -> None:
    """The last step of a run: remove the marker, so readers trust the directory."""
    (out / MARKER).unlink(missing_ok=True)


def require_complete(run_dir: str | Path) -> None:
    """Raise :class:`IncompleteRunError` if ``run_dir`` holds an unfinished run.

    The message says when and by whom the run was started, and what to do.
    """
    marker = Path(run_dir) / MARKER
    if not marker.exists():
        return
    try:
        stamp = json.loads(marker.read_text())
        who = f" at {stamp.get('started')} (pid {stamp.get('pid')} on {stamp.get('host')})"
    except (OSError, ValueError, AttributeError):
        who = ""
    msg = (
        f"The run directory {run_dir} is incomplete: a 'chatlens analyze' run started{who} "
        "did not finish (it failed or was killed), so its files may not belong to one run. "
        f"Rerun 'chatlens analyze … --out {run_dir}' (or delete {marker} if you know better)."
    )
    raise IncompleteRunError(msg)


__all__ = [
    "MARKER",
    "RUN_OUTPUTS",
    "IncompleteRunError",
    "begin_run",
    "finish_run",
    "require_complete",
]
