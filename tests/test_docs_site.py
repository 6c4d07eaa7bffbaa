"""The API reference site: ``docs/`` builds with warnings as errors and documents the public API.

The build is the one ``nox -s docs`` runs (``sphinx -W --keep-going``, ``docs/conf.py``), into a
temporary directory, in a fresh interpreter (autodoc imports the modules it documents). Skipped
only when the docs tools (the ``docs`` extra, which the ``test`` extra includes) are missing.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import lossbridge

DOCS = Path(__file__).resolve().parent.parent / "docs"
TOOLS = ("sphinx", "myst_parser", "furo")

#: The conformance API a user writes against (docs/parity.md), beyond the module itself.
CONFORMANCE = ("check", "check_port", "assert_parity", "spec", "Spec", "ParityReport", "Suite")


def build_site(docs: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """Build ``docs`` as HTML into ``out`` in strict mode (every warning an error)."""
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [*command, str(docs), str(out)], capture_output=True, text=True, env=env, timeout=600
    )


def documented(html_dir: Path) -> set[str]:
    """Every Python object the site describes: the ids of its signatures and module targets."""
    ids: set[str] = set()
    for page in html_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        ids.update(re.findall(r'<dt class="sig sig-object py" id="([^"]+)"', text))
        ids.update(re.findall(r'id="module-([\w.]+)"', text))
    return ids


def expected_objects() -> list[str]:
    """The public objects the reference must describe, by their import path."""
    names = ["lossbridge", "lossbridge.get", "lossbridge.available"]
    names += [f"lossbridge.{name}" for name in lossbridge.__all__]
    for dialect in ("keras", "optax", "nn", "monai", "tfa"):
        module = importlib.import_module(f"lossbridge.{dialect}")
        names += [module.__name__] + [f"{module.__name__}.{name}" for name in module.__all__]
    names += ["lossbridge.conformance", "lossbridge.conformance.pytest_plugin"]
    names += [f"lossbridge.conformance.{name}" for name in CONFORMANCE]
    return names


def test_site_builds_strict_and_documents_the_public_api(tmp_path: Path) -> None:
    """``sphinx -W`` exits 0; every public object and every guide in docs/ is in the site.

    One test, one build (about 15 to 30 s): split, pytest-xdist could build it on each worker.
    """
    for tool in TOOLS:
        pytest.importorskip(tool, reason="the docs extra (pip install -e '.[docs]') is missing")
    site = tmp_path / "html"
    result = build_site(DOCS, site)
    assert result.returncode == 0, (
        f"sphinx -W failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    assert (site / "index.html").is_file()

    missing = sorted(set(expected_objects()) - documented(site))
    assert not missing, f"not in the API reference (docs/api/*.rst): {missing}"

    # each Markdown guide is a page (conformance.md, generated and large, is included whole)
    guides = sorted(p.stem for p in DOCS.glob("*.md") if p.stem != "index")
    assert guides
    absent = [g for g in guides if not (site / f"{g}.html").is_file()]
    assert not absent, f"guides missing from the site: {absent}"


def test_core_page_groups_every_loss_once() -> None:
    """docs/api/core.rst names each of ``lossbridge.__all__`` exactly once (no duplicate entry)."""
    text = (DOCS / "api" / "core.rst").read_text(encoding="utf-8")
    entries = re.findall(r"^\.\. auto(?:function|class):: (\w+)$", text, re.MULTILINE)
    duplicates = sorted({n for n in entries if entries.count(n) > 1})
    assert not duplicates, f"documented twice in docs/api/core.rst: {duplicates}"
    assert set(entries) == set(lossbridge.__all__) | {"get", "available"}
