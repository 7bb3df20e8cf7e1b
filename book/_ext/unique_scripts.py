"""A Sphinx extension: every page lists each script once.

sphinx-thebe adds its inline configuration (``const THEBE_JS_URL = ...``) each time Sphinx starts reading the
sources, which happens twice in a Jupyter Book build; the second ``const`` declaration is a JavaScript error on every
page. This drops repeated scripts (same file, same inline body; an inline script's file is None or "") before the page is
written.
"""


def _unique_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (getattr(script, "filename", script) or "", getattr(script, "attributes", {}).get("body"))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
