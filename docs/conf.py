"""Sphinx configuration: the API reference built from the numpydoc docstrings, and the guides.

Build it with ``nox -s docs`` or ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
(warnings are errors). The guides in ``docs/*.md`` are Markdown (MyST); the API pages in
``docs/api/*.rst`` document each public object with autodoc, whose numpydoc sections napoleon
renders. Nothing is fetched at build time: no intersphinx, and the theme's assets ship in the
furo package. (MathJax, for the formulas, is loaded by the reader's browser.)
"""

from __future__ import annotations

import os

import lossbridge

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

project = "lossbridge"
author = "the lossbridge authors"
copyright = "the lossbridge authors"
release = version = lossbridge.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]

# autodoc: the signatures as written (no evaluation of annotations), members in source order
# (for a module with __all__: that order), no inherited framework members.
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_preserve_defaults = True
autodoc_default_options = {
    "members": True,
    "undoc-members": False,
    "show-inheritance": True,
    # the marker lossbridge/__init__.py sets for TensorFlow's AutoGraph, not API
    "exclude-members": "autograph_info__",
}

# napoleon reads the numpydoc sections (Parameters, Returns, Raises, Examples, References...).
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# Types as plain text: "array", "dtype" or "str or None" are descriptions, not cross-references
# (as xrefs, a bare "dtype" is ambiguous between attributes of several classes).
napoleon_use_param = False
# An Attributes section becomes fields, not a second description of each dataclass field that
# autodoc documents anyway.
napoleon_use_ivar = True

# MyST: the guides' "[text](other.md#a-heading)" links resolve to headings (levels 1 to 4).
myst_heading_anchors = 4

html_theme = "furo"
html_title = f"lossbridge {release}"
html_static_path: list[str] = []
