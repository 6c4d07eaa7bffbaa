"""``torch.compile`` compiles a lossbridge call once (issue 17, item 2).

Dynamo guards on every module-level dict that a traced function reads; a dict filled while
tracing (the first call of a fresh process) changed after the first compile and made the
second call compile again (one more inductor compile, 12-15 s). Each test runs in a fresh
interpreter where the compiled call is the first lossbridge call ever, then calls it again
(after eager calls of other types, which fill lossbridge's caches) and counts the graphs
Dynamo compiled: a backend that counts its calls, and Dynamo's own ``unique_graphs``. Values
are checked against ``torch.nn.functional`` in the same process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("torch")

_PRELUDE = """
import json
import torch
import torch.nn.functional as F
from torch._dynamo.utils import counters

compiles = 0

def counting(gm, example_inputs):
    global compiles
    compiles += 1
    return gm.forward

torch.manual_seed(0)
x = torch.randn(8, 5)
t = torch.randint(0, 5, (8,))
y = torch.randn(8, 5)
w = torch.rand(5)
"""

_REPORT = """
print(json.dumps({
    "compiles": compiles,
    "unique_graphs": counters["stats"]["unique_graphs"],
    "err": max(abs(float(a) - float(b)) / max(1.0, abs(float(b))) for a, b in zip(got, want)),
}))
"""


def _run(body: str) -> dict:
    code = textwrap.dedent(_PRELUDE) + textwrap.dedent(body) + textwrap.dedent(_REPORT)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_core_losses_compile_once():
    res = _run(
        """
        import numpy as np
        import lossbridge as lb

        @torch.compile(backend=counting)
        def step(x, t, y):
            return lb.cross_entropy(x, t), lb.mse_loss(x, y)

        got = step(x, t, y)  # the first lossbridge call of the process
        step(x, t, y)
        lb.mse_loss(np.ones(3), np.zeros(3))  # eager calls of other types
        lb.cross_entropy(x.double(), t)
        got = step(x, t, y)
        want = (F.cross_entropy(x, t), F.mse_loss(x, y))
        """
    )
    assert res["compiles"] == 1 and res["unique_graphs"] == 1
    assert res["err"] <= 1e-6  # float32 (8 ulp), the same kernels


def test_nn_modules_compile_once():
    res = _run(
        """
        import numpy as np
        import lossbridge.nn as lnn

        ce = lnn.CrossEntropyLoss(weight=w, label_smoothing=0.1)
        bce = lnn.BCEWithLogitsLoss(pos_weight=w)

        @torch.compile(backend=counting)
        def step(x, t, y):  # a loss made inside the compiled function too
            return ce(x, t), bce(x, torch.sigmoid(y)), lnn.L1Loss(reduction="sum")(x, y)

        got = step(x, t, y)
        step(x, t, y)
        lnn.MSELoss()(np.ones(3), np.zeros(3))
        got = step(x, t, y)
        module = torch.compile(lnn.MSELoss(), backend=counting)
        got = (*got, *(module(x, y) for _ in range(3)))
        want = (
            F.cross_entropy(x, t, weight=w, label_smoothing=0.1),
            F.binary_cross_entropy_with_logits(x, torch.sigmoid(y), pos_weight=w),
            F.l1_loss(x, y, reduction="sum"),
            *[F.mse_loss(x, y)] * 3,
        )
        """
    )
    # one graph for the function, one for the compiled module
    assert res["compiles"] == 2 and res["unique_graphs"] == 2
    assert res["err"] <= 1e-6
