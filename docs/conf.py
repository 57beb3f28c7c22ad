"""Sphinx configuration: MyST markdown, notebooks through myst-nb, API from docstrings."""

from __future__ import annotations

import ccpandas

project = "ccpandas"
author = "ccpandas developers"
copyright = "2026, ccpandas developers"
release = ccpandas.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Notebooks keep the outputs nbval checked; the docs render them, never re-run them.
nb_execution_mode = "off"
# A static page has no kernel to draw a widget with (and would fetch a widget manager
# from a CDN on every view): show each widget's text form instead, which ccpandas writes
# for such pages ("ccpandas status: done: ..."). Notebook 03 shows its panel as a
# screenshot beneath the cell (tests/widgets/test_browser.py takes it).
nb_mime_priority_overrides = [
    (builder, "application/vnd.jupyter.widget-view+json", None)
    for builder in ("html", "dirhtml", "singlehtml")
]
nb_ipywidgets_js: dict[str, dict[str, str]] = {}

autodoc_member_order = "bysource"
autodoc_typehints = "description"
# No default "members": autodoc lets a default of True override a directive's own list
# (``:members: a, b`` rendered every member), so each directive says what it renders:
# ``:members:`` alone for every documented public member, ``:members: a, b`` for those,
# nothing for the object alone.
autodoc_default_options = {"show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# No network here or in CI: no intersphinx inventories are fetched.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
nitpicky = False

html_theme = "furo"
html_title = f"ccpandas {release}"
html_static_path = ["_static"]
# Small layout rules of our own (docs/_static/layout.css).
html_css_files = ["layout.css"]
