"""``import lossbridge`` imports no framework; a call imports only what its arrays need.

Each check runs in a fresh interpreter (the test process itself has every framework loaded).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import textwrap

import pytest

# cross_entropy([1, 2, 3], 2) = log(e^1 + e^2 + e^3) - 3 = log(e^-2 + e^-1 + 1)
CE_123_LABEL_2 = math.log(math.exp(-2) + math.exp(-1) + 1)
FRAMEWORKS = ("torch", "tensorflow", "jax", "keras", "optax", "array_api_strict")


def run_python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_loads_no_framework_and_numpy_alone_works():
    res = run_python(
        f"""
        import json, sys
        import lossbridge, lossbridge.backends, lossbridge.conformance
        loaded_after_import = [m for m in {FRAMEWORKS!r} if m in sys.modules]
        import numpy as np
        x = np.array([0.5, 1.5, 3.0])
        y = np.zeros(3)
        out = lossbridge.mse_loss(x, y)
        ce = lossbridge.cross_entropy(np.array([[1.0, 2.0, 3.0]]), np.array([2]))
        print(json.dumps({{
            "loaded_after_import": loaded_after_import,
            "loaded_after_call": [m for m in {FRAMEWORKS!r} if m in sys.modules],
            "type": type(out).__module__ + "." + type(out).__name__,
            "value": float(out),
            "ce": float(ce),
            "ce_type": type(ce).__module__,
        }}))
        """
    )
    assert res["loaded_after_import"] == []
    assert res["loaded_after_call"] == []
    assert res["type"].startswith("numpy.")
    # (0.25 + 2.25 + 9) / 3 = 11.5 / 3
    assert res["value"] == pytest.approx(11.5 / 3, rel=1e-15)
    assert res["ce"] == pytest.approx(CE_123_LABEL_2, rel=1e-14)
    assert res["ce_type"] == "numpy"


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
def test_torch_call_does_not_import_other_frameworks():
    res = run_python(
        """
        import json, sys
        import torch
        import lossbridge
        out = lossbridge.cross_entropy(torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([2]))
        out2 = lossbridge.binary_cross_entropy_with_logits(torch.zeros(2), [0.0, 1.0])
        print(json.dumps({
            "loaded": [m for m in ("tensorflow", "jax", "keras", "optax") if m in sys.modules],
            "types": [type(out).__name__, type(out2).__name__],
            "value": float(out),
        }))
        """
    )
    assert res["loaded"] == []
    assert res["types"] == ["Tensor", "Tensor"]
    assert res["value"] == pytest.approx(CE_123_LABEL_2, rel=1e-6)


def test_the_losses_import_no_framework_statement():
    """``src/lossbridge`` has no ``import torch`` (or tensorflow, jax, keras, optax) anywhere,
    in a function body included: what touches a framework lives in ``backends/``."""
    import ast
    import pathlib

    spec = importlib.util.find_spec("lossbridge")  # the package's folder, nothing imported
    frameworks = {"torch", "tensorflow", "jax", "jaxlib", "keras", "optax"}
    src = pathlib.Path(spec.origin).parent
    found = []
    for path in sorted(src.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            found += [
                f"{path.name}:{node.lineno} {n}" for n in names if n.split(".")[0] in frameworks
            ]
    assert not found, found
