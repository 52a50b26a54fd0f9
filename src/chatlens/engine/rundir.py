"""Run directories that are never misleading: marked incomplete until the run has finished.

Why: a rerun into an existing run directory that fails or is killed used to leave the old
``manifest.json``, ``report.html``, ``summary.json`` and ``tables/`` beside new or footer-less
Parquet files, and ``chatlens query`` answered from the mix (issue 11 item 5).

The rule, chosen because it is simple and survives ``kill -9`` at any instant:

0. :func:`lock_run` takes an ``flock`` on the directory for the whole run (a second run into
   it is refused while the first writes; see :class:`RunLock`), and :func:`claim` refuses a
   directory whose outputs are not a chatlens run's to delete (the caller has already resolved
   the source and checked the stages, so a typo or a broken profile never costs the previous
   run).
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

import glob
import json
import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from chatlens.errors import IncompleteRunError, InvalidParameterError

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


def is_run_dir(out: Path) -> bool:
    """Whether ``out`` holds a chatlens run (finished: its ``manifest.json`` names a chatlens
    version; or unfinished: the marker)."""
    if (out / MARKER).exists():
        return True
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "chatlens_version" in manifest


def claim(out: Path, inputs: Sequence[Path] = (), *, overwrite: bool = False) -> None:
    """Refuse a run directory whose outputs :func:`begin_run` must not delete.

    Why: :func:`begin_run` removes every :data:`RUN_OUTPUTS` name. In a chatlens run directory
    those are the previous run's (a rerun replaces it); elsewhere they may be the user's own
    (``--out .`` beside a ``figures/`` folder, or the very file being analysed). So:

    * an input file at or under one of those names is refused whatever ``overwrite`` says;
    * such names in a directory that is not a chatlens run are refused unless ``overwrite``.
    """
    if not out.is_dir():
        return
    present = [name for name in RUN_OUTPUTS if (out / name).exists() or (out / name).is_symlink()]
    if not present:
        return
    doomed = [(out / name).resolve() for name in present]
    for file in inputs:
        f = Path(file).resolve()
        hit = next((d for d in doomed if f == d or d in f.parents), None)
        if hit is not None:
            msg = (f"The source file {file} is the run output {hit.name!r} of --out {out}: a run "
                   "there would delete it before reading it. Choose another --out (or move the "
                   "file).")
            raise InvalidParameterError(msg)
    if not overwrite and not is_run_dir(out):
        msg = (f"--out {out} is not a chatlens run directory (no chatlens manifest.json) but holds "
               f"{', '.join(present)}, which a run writes and would first delete. Choose another "
               "--out, or pass --overwrite (overwrite=True) to replace them.")
        raise InvalidParameterError(msg)


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
        # a temporary of an output ('.quarantine.parquet.sorted.tmp') that a killed run left:
        # renamed over its output only when a run writes one again, it otherwise stayed in the
        # next run's directory, a hidden copy of another run's rows
        for stale in out.glob(f".{glob.escape(name)}.*.tmp"):
            stale.unlink(missing_ok=True)


#: The run directories this process holds locked: (device, inode) -> [descriptor, the thread
#: that took it, how many times it took it].
_HELD: dict[tuple[int, int], list[int]] = {}
_HELD_GUARD = threading.Lock()


class RunLock:
    """An exclusive lock on a run directory, held while a run writes into it (:func:`lock_run`).

    Why: nothing stopped a second ``chatlens analyze --out D`` while one was running there. The
    second run's :func:`begin_run` deleted the first's outputs under it, so the first failed
    after all its work ("No such file or directory: D/figures/…", or worse, its tables built
    from the other run's files), and whichever finished first removed the marker while the other
    was still writing. An ``flock`` on the directory itself leaves no file behind, is released
    when the process ends however it ends (``kill -9`` included), and is not inherited by pool
    or Dask worker processes (its descriptor is close-on-exec, and they are not forked from the
    driver). Also a context manager (released on exit).
    """

    def __init__(self, key: tuple[int, int] | None) -> None:
        self._key = key

    def release(self) -> None:
        if self._key is None:
            return
        key, self._key = self._key, None
        with _HELD_GUARD:
            entry = _HELD[key]
            entry[2] -= 1
            if entry[2] == 0:
                del _HELD[key]
                os.close(entry[0])  # closing the descriptor releases the lock

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_run(out: Path) -> RunLock:
    """Lock ``out`` (created if missing) for one run; refuse it while another run holds it.

    Both ways into a run directory take it: ``analyze`` (the CLI's and ``chatlens.analyze``)
    for the whole run, and :func:`chatlens.engine.run` where it writes its tables, so two
    Python runs into one directory are refused as two ``chatlens analyze`` are (the second
    ``engine.run`` used to clear the first's parts and token, and the first failed after its
    work). The thread that holds the lock may take it again (``analyze`` calls ``engine.run``
    into the directory it locked); another thread, or another process, is refused.

    Raises :class:`InvalidParameterError` naming the run that holds it (from its marker). A
    filesystem without ``flock`` on directories (some network filesystems) gets no lock rather
    than no run.
    """
    import fcntl

    out.mkdir(parents=True, exist_ok=True)
    st = os.stat(out)
    key = (st.st_dev, st.st_ino)
    with _HELD_GUARD:
        entry = _HELD.get(key)
        if entry is not None and entry[1] == threading.get_ident():
            entry[2] += 1
            return RunLock(key)
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        try:
            stamp = json.loads((out / MARKER).read_text())
            who = f" (started {stamp.get('started')}, pid {stamp.get('pid')} on {stamp.get('host')})"
        except (OSError, ValueError, AttributeError):
            who = ""
        msg = (f"Another chatlens run{who} is writing into {out}. Wait for it to finish, or "
               "choose another output directory (--out).")
        raise InvalidParameterError(msg) from None
    except OSError:
        os.close(fd)
        return RunLock(None)
    with _HELD_GUARD:
        _HELD[key] = [fd, threading.get_ident(), 1]
    return RunLock(key)


@contextmanager
def terminate_as_exit() -> Iterator[None]:
    """While the block runs, SIGTERM raises ``SystemExit(143)`` (128 + 15, the shell's code for
    it) instead of ending the process on the spot; the handler found is restored afterwards.

    Why: a run cleans up after any exception (its parts, its token, its pool's workers; the run
    directory stays marked incomplete), and Ctrl-C is one (``KeyboardInterrupt``). SIGTERM, what
    ``kill``, systemd and batch schedulers send, ended the driver with no clean-up at all, so a
    pooled run's ``_parts`` (a copy of the whole corpus) stayed until the next run there. Only
    the default action is replaced: a handler the program set (or ``SIG_IGN``) is left alone,
    and so is every thread but the main one (Python runs handlers there only).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return

    def exit_on_sigterm(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
    "RunLock",
    "begin_run",
    "claim",
    "finish_run",
    "is_run_dir",
    "lock_run",
    "require_complete",
    "terminate_as_exit",
]
