"""Sphinx extension: write each page's scripts once.

Sphinx 7.4 adds a script registered after the builder started (as sphinx-thebe
does with its inline ``const THEBE_JS_URL = ...``) both to the builder and to
the registry it copies from before writing, and its de-duplication tells an
inline script with filename ``None`` from the same script with filename ``''``.
The page then declares the constant twice and the browser logs "Identifier
'THEBE_JS_URL' has already been declared". This drops exact repeats (same
file, same attributes, same body) from every page's script list.
"""


def _key(js):
    attrs = getattr(js, "attributes", {}) or {}
    return (str(getattr(js, "filename", js) or ""), tuple(sorted((k, str(v)) for k, v in attrs.items())))


def _dedupe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        k = _key(js)
        if k not in seen:
            seen.add(k)
            kept.append(js)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
