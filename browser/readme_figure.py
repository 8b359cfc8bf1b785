"""Copy one figure of the built book to figures/, for the README.

Usage (after the book build): python browser/readme_figure.py [FIGURE_ID]
(default ba-7; BOOK_HTML=... reads another build). It finds the figure with that MyST label in _build/html and
copies its image unchanged to figures/<id>.png.
"""

import os
import pathlib
import re
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main(fid="ba-7"):
    if not re.fullmatch(r"(ba|sh)-\d+", fid):
        raise ValueError(f"FIGURE_ID must look like ba-2 or sh-1, got {fid!r}")
    html = pathlib.Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
    for page in sorted((html / "book").glob("*.html")):
        m = re.search(rf'<figure[^>]*id="{fid}"[^>]*>.*?<img[^>]*src="([^"]+)"', page.read_text(), flags=re.S)
        if m:
            src = (page.parent / m.group(1)).resolve()
            dst = ROOT / "figures" / f"{fid}.png"
            dst.parent.mkdir(exist_ok=True)
            shutil.copyfile(src, dst)
            print(f"{page.name}: {src.name} -> {dst.relative_to(ROOT)} ({dst.stat().st_size // 1024} kB)")
            return dst
    raise SystemExit(f"figure {fid} not found in _build/html/book: build the book first")


if __name__ == "__main__":
    main(*sys.argv[1:2])
