"""Every built page in headless Chromium: no page error, images load, equations
render, figure ids present, exercise solutions open, static controls work."""

import pathlib

import pytest

from conftest import HTML, SCREENS, figure_ids

PAGES = sorted(str(p.relative_to(HTML)) for p in HTML.rglob("*.html")
               if not str(p.relative_to(HTML)).startswith(("_static", "_sources", "_images")))
SEEN_IDS = set()
# pydata-sphinx-theme logs this with console.error on a first visit (nothing in
# localStorage yet) and then uses its default; it is not a failure of the page.
HARMLESS = ("Got invalid theme mode",)
SCRUBBERS = {}


def open_page(browser, offline, url):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.route("**/*", offline)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}")
            if m.type == "error" and not m.text.startswith(HARMLESS) else None)
    page.goto(url, wait_until="load")
    if page.locator("meta[http-equiv='Refresh' i]").count():   # index.html forwards to the first chapter
        page.wait_for_url(lambda u: u != url, timeout=10_000)
        page.wait_for_load_state("load")
    # MathJax 3 typesets the page once at start-up; wait for that to finish.
    page.wait_for_function("() => !window.MathJax || (MathJax.startup && MathJax.startup.promise)", timeout=30_000)
    page.evaluate("() => (window.MathJax && MathJax.startup) ? MathJax.startup.promise.then(() => true) : true")
    return ctx, page, errors


@pytest.mark.parametrize("name", PAGES)
def test_page(browser, offline, book_url, name):
    ctx, page, errors = open_page(browser, offline, f"{book_url}/{name}")
    try:
        bad_images = page.evaluate(
            "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
            ".map(i => i.getAttribute('src').slice(0, 80))")
        assert not bad_images, f"images that did not load: {bad_images}"

        math = page.evaluate("""() => {
            const all = [...document.querySelectorAll('span.math, div.math')];
            return {n: all.length,
                    untypeset: all.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60)),
                    errors: [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]
                              .map(e => e.getAttribute('data-mjx-error') || e.textContent)};
        }""")
        assert not math["errors"], f"MathJax errors: {math['errors']}"
        assert not math["untypeset"], f"equations not rendered: {math['untypeset']}"

        SEEN_IDS.update(page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)"))

        # Exercise solutions are folded away; a click on the title opens each.
        sols = page.locator("div.solution.dropdown")
        for i in range(sols.count()):
            sol = sols.nth(i)
            body = sol.locator(":scope > section, :scope > p:not(.admonition-title)").first
            assert not body.is_visible(), f"solution {i} is open before a click"
            sol.locator("button.toggle-button").first.click()  # the title holds a link
            body.wait_for(state="visible", timeout=5000)

        # Static controls: every position of each range input shows its own frame.
        scrubbers = page.locator(".crlib-scrubber")
        SCRUBBERS[name] = scrubbers.count()
        for i in range(scrubbers.count()):
            sc = scrubbers.nth(i)
            rng = sc.locator("input[type=range]")
            assert rng.is_visible(), f"control {i} of {name} is hidden although JavaScript runs"
            n = int(rng.get_attribute("max")) + 1
            shot = SCREENS / f"{pathlib.Path(name).stem}-{i}"
            SCREENS.mkdir(parents=True, exist_ok=True)
            sc.screenshot(path=f"{shot}-default.png")
            rng.focus()
            page.keyboard.press("Home")
            srcs = []
            for k in range(n):
                if k:
                    page.keyboard.press("ArrowRight")
                vis = sc.locator(".crlib-scrub-frames img:not([hidden])")
                assert vis.count() == 1, f"{vis.count()} frames visible at position {k}"
                assert vis.get_attribute("data-frame") == str(k)
                srcs.append(vis.get_attribute("src"))
            assert len(set(srcs)) == n, f"control {i} of {name}: {n - len(set(srcs))} positions repeat a figure"
            sc.screenshot(path=f"{shot}-last.png")
        assert not errors, "\n".join(errors)
        assert not offline.refused, f"requests to the internet: {offline.refused}"
    finally:
        ctx.close()


def test_figure_ids_present():
    missing = [f for f in figure_ids() if f not in SEEN_IDS]
    assert SEEN_IDS, "test_page did not run"
    assert not missing, f"figure ids missing from every page: {missing}"


def test_every_widget_has_a_static_control():
    """Each chapter cell that calls live_figure left a working scrubber on its page."""
    root = HTML.parents[1]
    for md in sorted((root / "book").glob("*.md")):
        calls = md.read_text().count("live_figure(")
        page = f"book/{md.stem}.html"
        if calls:
            assert page in SCRUBBERS, f"{page} was not loaded"
            assert SCRUBBERS[page] == calls, f"{page}: {calls} widgets but {SCRUBBERS[page]} static controls"


LEDGER_PAGES = ("book/claims.html", "book/ba_simulations.html", "book/sh_simulations.html")


@pytest.mark.parametrize("name", LEDGER_PAGES)
def test_ledger_tables_fit_the_page_column(browser, offline, book_url, name):
    """At 1280 px no table of a claims-ledger page scrolls sideways (issue 14): neither the
    table nor any box between it and the article is wider than its visible width."""
    ctx, page, errors = open_page(browser, offline, f"{book_url}/{name}")
    try:
        over = page.evaluate("""() => [...document.querySelectorAll('article table')].flatMap((t, i) => {
            const bad = [];
            for (let e = t; e && e.tagName !== 'ARTICLE'; e = e.parentElement)
                if (e.scrollWidth > e.clientWidth + 1)
                    bad.push(`table ${i} (${(t.querySelector('th') || {}).textContent}): ` +
                             `${e.tagName.toLowerCase()}.${e.className} ${e.scrollWidth} > ${e.clientWidth} px`);
            return bad;
        })""")
        assert page.locator("article table").count() >= 1, f"no table on {name}"
        assert not over, "\n".join(over)
    finally:
        ctx.close()
