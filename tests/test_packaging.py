"""Packaging: the metadata states ranges, one version, a changelog; the built wheel installs.

``test_wheel_and_sdist`` (marker ``packaging``, about 30 s) builds the sdist and, from it, the
wheel with ``python -m build``, checks both with ``twine check --strict``, and installs the
wheel with ``--no-deps`` in a fresh venv next to NumPy and array-api-compat only (the core's
dependencies), then imports lossbridge there and computes a loss. It runs in CI (the README's
``python -m pytest``) and needs pip to reach a package index; deselect it locally with
``-m "not packaging"``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import lossbridge
from lossbridge.conformance.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def _requirements(metadata: dict) -> list[str]:
    project = metadata["project"]
    extras = project.get("optional-dependencies", {})
    return list(project.get("dependencies", [])) + [r for rs in extras.values() for r in rs]


# ------------------------------------------------------------------------------------------
# Metadata: ranges, one version, the changelog
# ------------------------------------------------------------------------------------------


def test_requirements_state_ranges_not_exact_pins():
    """``pip install lossbridge[torch]`` next to a newer torch must resolve."""
    metadata = _pyproject()
    for req in _requirements(metadata):
        assert "==" not in req, req  # a range (>=, <, ~=), never one release
    assert metadata["project"]["optional-dependencies"]["torch"] == ["torch>=2.13"]


def test_cpu_constraints_pin_the_tested_torch_and_the_commands_use_them():
    """The CPU-only torch CI installs lives in constraints-cpu.txt, which .ci/run, the noxfile
    and the README's two commands pass to pip."""
    lines = (ROOT / "constraints-cpu.txt").read_text().splitlines()
    assert [ln for ln in lines if ln and not ln.startswith("#")] == ["torch==2.13.0"]
    install = 'pip install -c constraints-cpu.txt -e ".[all,test]"'
    ci = (ROOT / ".ci" / "run").read_text()
    assert install.replace("install", "install -q") in ci
    readme = (ROOT / "README.md").read_text()
    commands = [ln for ln in readme.splitlines() if ln.startswith("python3 -m venv .venv")]
    assert len(commands) == 2 and all(install in c for c in commands), commands
    # the test command is .ci/run's, word for word but for pip's -q
    assert commands[1].replace("install", "install -q", 1) in ci
    installs = [ln for ln in (ROOT / "noxfile.py").read_text().splitlines() if '"-e"' in ln]
    assert installs and all("session.install(*CPU, " in ln for ln in installs), installs


def test_version_has_one_source():
    """pyproject.toml reads the version from lossbridge.__version__; the installed metadata
    agrees (an editable install of an older checkout would not)."""
    import importlib.metadata

    metadata = _pyproject()
    assert "version" not in metadata["project"]
    assert "version" in metadata["project"]["dynamic"]
    attr = metadata["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "lossbridge.__version__"
    assert re.fullmatch(r"\d+\.\d+\.\d+", lossbridge.__version__)
    assert importlib.metadata.version("lossbridge") == lossbridge.__version__


def test_changelog_keeps_a_changelog():
    """CHANGELOG.md: an Unreleased section first, then a dated section for this version."""
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog\n")
    sections = re.findall(r"^## \[([^\]]+)\](.*)$", text, flags=re.M)
    assert sections[0] == ("Unreleased", "")
    assert sections[1][0] == lossbridge.__version__
    assert re.fullmatch(r" - \d{4}-\d{2}-\d{2}", sections[1][1])
    kinds = set(re.findall(r"^### (\w+)$", text, flags=re.M))
    assert kinds and kinds <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_py_typed_is_declared():
    assert (ROOT / "src" / "lossbridge" / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["lossbridge"]


# ------------------------------------------------------------------------------------------
# The built artifacts
# ------------------------------------------------------------------------------------------


def _run(*cmd: str | Path, cwd: Path | None = None, timeout: int = 600) -> str:
    proc = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _sources(folder: str) -> set[str]:
    return {p.relative_to(ROOT / folder).as_posix() for p in (ROOT / folder).rglob("*.py")}


@pytest.mark.packaging
def test_wheel_and_sdist(tmp_path):
    dist = tmp_path / "dist"
    # no --sdist/--wheel: build the sdist, then the wheel from the unpacked sdist
    _run(sys.executable, "-m", "build", "--outdir", dist, ROOT)
    version = lossbridge.__version__
    wheel = dist / f"lossbridge-{version}-py3-none-any.whl"
    sdist = dist / f"lossbridge-{version}.tar.gz"
    assert wheel.is_file() and sdist.is_file(), sorted(os.listdir(dist))
    _run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)

    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        metadata = z.read(f"lossbridge-{version}.dist-info/METADATA").decode()
    # every module of the three packages, and the PEP 561 marker
    for package, folder in [
        ("lossbridge", "src/lossbridge"),
        ("lossbridge/backends", "backends"),
        ("lossbridge/conformance", "conformance"),
    ]:
        assert {f"{package}/{m}" for m in _sources(folder)} <= names, package
    assert "lossbridge/py.typed" in names
    assert re.search(rf"^Version: {re.escape(version)}$", metadata, flags=re.M)
    requires = re.findall(r"^Requires-Dist: (.*)$", metadata, flags=re.M)
    assert requires and not [r for r in requires if "==" in r.partition(";")[0]]
    assert 'torch>=2.13; extra == "torch"' in requires

    # a fresh venv: the wheel without its dependencies, then only the core's two
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "-q", "--no-deps", wheel)
    _run(python, "-m", "pip", "install", "-q", "numpy", "array-api-compat")
    code = """
        import importlib.metadata, json, sys
        import numpy as np
        import lossbridge as lb
        x, y = np.array([0.5, 1.5, 3.0]), np.array([1.0, 1.0, 1.0])
        print(json.dumps({
            "file": lb.__file__,
            "version": lb.__version__,
            "metadata_version": importlib.metadata.version("lossbridge"),
            "mse": float(lb.mse_loss(x, y)),
            "get": lb.get("mse_loss") is lb.mse_loss,
            "typed": (__import__("pathlib").Path(lb.__file__).parent / "py.typed").is_file(),
            "modules": sorted(m for m in ("torch", "tensorflow", "jax") if m in sys.modules),
        }))
        """
    out = _run(python, "-c", textwrap.dedent(code), cwd=tmp_path)  # not the source tree
    res = json.loads(out.strip().splitlines()[-1])
    assert Path(res["file"]).is_relative_to(venv)
    assert res["version"] == res["metadata_version"] == version
    # ((0.5 - 1)^2 + (1.5 - 1)^2 + (3 - 1)^2) / 3 = 4.5 / 3
    assert res["mse"] == pytest.approx(4.5 / 3, rel=1e-15)
    assert res["get"] and res["typed"] and res["modules"] == []
    # the console script runs from the installed wheel (the registry needs NumPy only)
    listing = _run(venv / "bin" / "lossbridge-conformance", "--list", "--loss", "mse_loss")
    assert listing.splitlines()[1].split()[:2] == ["mse_loss", str(len(REGISTRY["mse_loss"].cases))]
