"""Screenshots of a run's report.html as a reader sees it (headless Chromium, 1400 px wide).

Usage::

    python scripts/screenshot_report.py RUN_DIR_OR_REPORT_HTML [--out DIR] [--width 1400] [--page 1600]

Writes ``DIR/report-full.png`` (the whole page) and ``DIR/report-01.png``, ``-02`` … (one
screen each), and prints the layout facts the browser test checks (page width, tables that
overflow, small groups). Needs a Chromium-family browser (``make browser``) and Pillow.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from chatlens.report.browser import measure, screenshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--out", type=Path, default=Path("report-screenshots"))
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--page", type=int, default=1600, help="height of one screen in px")
    args = parser.parse_args()
    page = args.report / "report.html" if args.report.is_dir() else args.report
    args.out.mkdir(parents=True, exist_ok=True)
    facts = measure(page, width=args.width)
    height = min(int(facts["pageHeight"]) + 40, 30_000)
    full = screenshot(page, args.out / "report-full.png", width=args.width, height=height)
    from PIL import Image

    image = Image.open(full)
    for i, top in enumerate(range(0, image.height, args.page), start=1):
        image.crop((0, top, image.width, min(top + args.page, image.height))).save(
            args.out / f"report-{i:02d}.png"
        )
    overflow = [
        t for t in facts["tables"] if t["right"] > args.width or t["scroll"] > t["client"] + 1
    ]
    print(
        json.dumps(
            {
                "page": str(page),
                "width": facts["viewport"],
                "page_width": facts["pageWidth"],
                "page_height": facts["pageHeight"],
                "tables": len(facts["tables"]),
                "tables_overflowing": overflow,
                "small_groups_marked": sum(t["marked"] for t in facts["tables"]),
                "findings": facts["findings"],
                "screens": i,
                "out": str(args.out),
            },
            indent=1,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
