"""Fixtures for the real-browser tests: the system Chromium through playwright,
the built book served over HTTP, and the CDN files the pages load (MathJax,
the widget manager) answered from local copies of their npm packages.

Environment:
  BOOK_ASSETS   folder holding the unpacked npm packages (mathjax, html-manager,
                requirejs), as browser/run.sh makes it
  CHROMIUM      the browser (default /usr/bin/chromium)
"""

import functools
import http.server
import os
import pathlib
import re
import threading

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
HTML = pathlib.Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
SCREENS = HTML.parent / "screens"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

# CDN address (regular expression, the rest of the path in group 1) -> local package folder
CDN = [
    (r"https://cdn\.jsdelivr\.net/npm/mathjax@3[^/]*/(.*)", "mathjax"),
    (r"https://cdn\.jsdelivr\.net/npm/@jupyter-widgets/html-manager@[^/]+/(.*)", "html-manager"),
    (r"https://cdnjs\.cloudflare\.com/ajax/libs/require\.js/[^/]+/require(?:\.min)?\.js()", "requirejs"),
]
LOCAL_FILE = {"requirejs": "require.js"}


def figure_ids():
    """The figure ids listed in ../shared/FIGURES.md (ba-1, ..., sh-2), lower-cased."""
    path = ROOT.parent / "shared" / "FIGURES.md"
    if not path.exists():
        path = pathlib.Path("/work/shared/FIGURES.md")
    ids = re.findall(r"^\|\s*((?:BA|SH)-\d+)\s*\|", path.read_text(), flags=re.M)
    assert ids, f"no figure ids found in {path}"
    return [i.lower() for i in ids]


@pytest.fixture(scope="session")
def assets():
    d = os.environ.get("BOOK_ASSETS")
    if not d:
        pytest.fail("BOOK_ASSETS is not set: run the browser tests through browser/run.sh")
    d = pathlib.Path(d)
    for name in ("mathjax", "html-manager", "requirejs"):
        assert (d / name / "package.json").exists(), f"{d / name} is not an unpacked npm package"
    return d


@pytest.fixture(scope="session")
def book_url():
    assert (HTML / "index.html").exists(), f"no built book in {HTML}: build it first"
    handler = functools.partial(QuietHandler, directory=str(HTML))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    exe = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=ARGS)
        yield b
        b.close()


class Offline:
    """Route handler: local addresses pass, known CDN files come from the npm copies,
    anything else is refused and remembered (CI has no internet)."""

    def __init__(self, assets):
        self.assets = assets
        self.refused = []

    def __call__(self, route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")):
            return route.continue_()
        for pattern, pkg in CDN:
            m = re.match(pattern, url.split("?")[0])
            if m:
                rel = LOCAL_FILE.get(pkg) or m.group(1)
                f = self.assets / pkg / rel
                if f.is_file():
                    return route.fulfill(path=str(f), headers={"Access-Control-Allow-Origin": "*"})
                break
        self.refused.append(url)
        return route.abort()


@pytest.fixture()
def offline(assets):
    return Offline(assets)
