"""Look at a report in a real browser: headless Chromium screenshots and layout measurements.

Why: whether a table scrolls sideways at 1400 px, or a headline is visible, is decided by a
browser's layout engine, not by the HTML string. This drives the ``chromium`` command line
(``--headless --screenshot`` / ``--dump-dom``) with nothing but the standard library: no driver
package, no network. The measurement runs on a *copy* of the page with a small script appended
(the report itself forbids scripts in its Content-Security-Policy).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from chatlens.errors import ChatlensError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--allow-file-access-from-files",
)

#: Appended to a copy of the page: reports the layout as JSON in <pre id="chatlens-measure">.
MEASURE_JS = """
<script>
(function () {
  const doc = document.documentElement;
  const tables = [...document.querySelectorAll('table')].map((t) => {
    const rows = [...t.querySelectorAll('tbody tr')];
    const flags = rows.map((r) => r.classList.contains('small'));
    return {
      section: (t.closest('section') || {}).id || '',
      right: t.getBoundingClientRect().right,
      scroll: t.scrollWidth, client: t.clientWidth,
      parent: t.parentElement.clientWidth,
      small: flags.filter(Boolean).length,
      marked: rows.filter((r) => r.classList.contains('small') && r.querySelector('.small-mark')).length,
      natural: t.dataset.order === 'natural',
      smallOnTop: t.dataset.order !== 'natural' && flags.some((f, i) => f && flags.slice(i + 1).some((g) => !g)),
    };
  });
  const scrollers = [...document.querySelectorAll('body *')].filter((e) => {
    const s = getComputedStyle(e);
    return ['auto', 'scroll'].includes(s.overflowX) && e.scrollWidth > e.clientWidth + 1;
  }).length;
  const out = {
    viewport: doc.clientWidth, pageWidth: doc.scrollWidth, pageHeight: doc.scrollHeight, scrollers: scrollers, tables: tables,
    findings: [...document.querySelectorAll('#headline ol li')].map((li) => li.textContent),
    findingLinks: [...document.querySelectorAll('#headline ol li a')].map((a) => a.getAttribute('href')),
    validity: (document.querySelector('#validity') || {textContent: ''}).textContent,
    headlineTop: (document.querySelector('#headline') || {offsetTop: -1}).offsetTop,
  };
  const pre = document.createElement('pre');
  pre.id = 'chatlens-measure';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def find_browser() -> str | None:
    """A Chromium-family executable: ``$CHATLENS_BROWSER``, else the first on PATH, else ``None``."""
    given = os.environ.get("CHATLENS_BROWSER")
    if given:
        return given if shutil.which(given) else None
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


def _run(args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    browser = find_browser()
    if browser is None:
        msg = f"No Chromium-family browser found (tried $CHATLENS_BROWSER and {', '.join(CANDIDATES)})."
        raise ChatlensError(msg)
    with tempfile.TemporaryDirectory(prefix="chatlens-browser-") as profile:
        return subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def screenshot(
    page: str | Path,
    png: str | Path,
    *,
    width: int = 1400,
    height: int = 2400,
    timeout: float = 120.0,
) -> Path:
    """A ``width`` × ``height`` screenshot of the top of ``page`` (a file) written to ``png``."""
    png = Path(png).resolve()
    done = _run(
        [f"--window-size={width},{height}", f"--screenshot={png}", Path(page).resolve().as_uri()],
        timeout=timeout,
    )
    if not png.exists():
        msg = f"The browser wrote no screenshot of {page} (exit {done.returncode}): {done.stderr[-400:]}"
        raise ChatlensError(msg)
    return png


def measure(page: str | Path, *, width: int = 1400, timeout: float = 120.0) -> dict[str, Any]:
    """Layout facts of ``page`` at ``width`` px: page width, tables' widths, small rows, headline."""
    text = Path(page).read_text(encoding="utf-8")
    text = re.sub(r"<meta http-equiv='Content-Security-Policy'[^>]*>", "", text, count=1)
    text = text.replace("</body>", MEASURE_JS + "</body>", 1)
    with tempfile.TemporaryDirectory(prefix="chatlens-measure-") as tmp:
        copy = Path(tmp) / "page.html"
        copy.write_text(text, encoding="utf-8")
        done = _run(
            [
                f"--window-size={width},1000",
                "--virtual-time-budget=2000",
                "--dump-dom",
                copy.as_uri(),
            ],
            timeout=timeout,
        )
    found = re.search(r'<pre id="chatlens-measure">(.*?)</pre>', done.stdout, re.S)
    if found is None:
        msg = f"The browser returned no measurement for {page} (exit {done.returncode}): {done.stderr[-400:]}"
        raise ChatlensError(msg)
    return json.loads(html.unescape(found.group(1)))


__all__ = ["find_browser", "measure", "screenshot"]
