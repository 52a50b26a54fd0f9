"""The process pool's workers: they never outlive the driver that started them."""

from __future__ import annotations


def test_a_worker_exits_when_the_driver_is_gone() -> None:
    """Reviewed bug: after ``kill -9`` of the driver the pool workers (children of the
    forkserver, not of the driver) ran on and kept committing parts. The initializer's watcher
    ends the process within a poll of the driver's death."""
    import subprocess
    import sys
    import time

    driver = subprocess.Popen([sys.executable, "-c", "pass"])
    driver.wait()  # a pid that no longer runs
    code = (f"import time; from chatlens.engine.pool import _exit_with_driver; "
            f"_exit_with_driver({driver.pid}); time.sleep(30)")
    t = time.perf_counter()
    worker = subprocess.run([sys.executable, "-c", code], timeout=20, check=False)
    assert worker.returncode == 70 and time.perf_counter() - t < 15
