"""``lossbridge.nn`` objects as ``torch.nn.Module``\\ s (issue 17, item 2).

Expected values come from torch's own classes: ``torch.nn.<ClassName>`` built with the same
constructor arguments gives the ``state_dict`` (keys, order, values, dtypes), the buffers after
``.to()`` / ``.double()``, the hooks' effect and the loss value; the NumPy path of
``LinearCrossEntropyLoss`` (no torch in the process) is checked against a float64 formula
written here.
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import lossbridge.nn as lnn

torch = pytest.importorskip("torch")

_R = np.random.default_rng(20261207)
X = torch.from_numpy(_R.standard_normal((6, 5)))
LABELS = torch.from_numpy(_R.integers(0, 5, 6))
SOFT = torch.from_numpy(_R.uniform(0.0, 1.0, (6, 5)))
W = torch.from_numpy(_R.uniform(0.2, 2.0, 5))
W2 = torch.from_numpy(_R.uniform(0.2, 2.0, 5))

#: Classes with weights: constructor arguments (torch tensors) and forward arguments.
WEIGHTED = {
    "CrossEntropyLoss": ({"weight": W, "label_smoothing": 0.1}, (X, LABELS)),
    "NLLLoss": ({"weight": W}, (torch.log_softmax(X, 1), LABELS)),
    "BCELoss": ({"weight": W}, (torch.sigmoid(X), SOFT)),
    "BCEWithLogitsLoss": ({"weight": W, "pos_weight": W2}, (X, SOFT)),
    "MultiLabelSoftMarginLoss": ({"weight": W}, (X, (SOFT > 0.5).double())),
    "MultiMarginLoss": ({"weight": W, "p": 2}, (X, LABELS)),
}
#: Constructor arguments where the class needs some.
REQUIRED = {"LinearCrossEntropyLoss": (4, 3)}


def _pair(name, kwargs=None, args=None):
    """``(ours, torch's)``, built alike (torch's RNG reseeded for each: same linear layer)."""
    kwargs, args = kwargs or {}, args or REQUIRED.get(name, ())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # NLLLoss2d
        torch.manual_seed(0)
        ours = getattr(lnn, name)(*args, **kwargs)
        torch.manual_seed(0)
        theirs = getattr(torch.nn, name)(*args, **kwargs)
    return ours, theirs


def _assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype, k
        torch.testing.assert_close(sa[k], sb[k], rtol=0, atol=0)


@pytest.mark.parametrize("name", lnn.__all__)
def test_every_class_is_a_module_with_torchs_state_dict(name):
    ours, theirs = _pair(name)
    assert isinstance(ours, torch.nn.Module) and isinstance(ours, getattr(lnn, name))
    assert type(ours).__name__ == name and type(ours).__module__ == "lossbridge.nn"
    _assert_same_state(ours, theirs)
    assert list(ours.named_buffers()) == list(theirs.named_buffers())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    if name != "TripletMarginWithDistanceLoss":  # its distance is a function, not a child
        assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("name", sorted(WEIGHTED))
def test_weights_are_buffers_named_as_torch_names_them(name):
    kwargs, args = WEIGHTED[name]
    ours, theirs = _pair(name, kwargs)
    _assert_same_state(ours, theirs)
    for key in kwargs.keys() & {"weight", "pos_weight"}:
        assert getattr(ours, key) is kwargs[key]  # the tensor given, registered
    torch.testing.assert_close(ours(*args), theirs(*args), rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", sorted(WEIGHTED))
def test_checkpoint_loads_in_either_direction(name):
    """torch.save of one class's state_dict, torch.load into the other (strict)."""
    kwargs, args = WEIGHTED[name]
    blank = {k: torch.zeros_like(v) if k.endswith("weight") else v for k, v in kwargs.items()}
    for source, target in (
        (getattr(torch.nn, name)(**kwargs), getattr(lnn, name)(**blank)),
        (getattr(lnn, name)(**kwargs), getattr(torch.nn, name)(**blank)),
    ):
        buf = io.BytesIO()
        torch.save(source.state_dict(), buf)
        buf.seek(0)
        result = target.load_state_dict(torch.load(buf))
        assert not result.missing_keys and not result.unexpected_keys
        _assert_same_state(target, source)
        torch.testing.assert_close(target(*args), source(*args), rtol=1e-12, atol=0)


def test_linear_cross_entropy_owns_a_torch_linear_like_torchs():
    """torch.nn.LinearCrossEntropyLoss's state_dict (weight buffer, linear.weight,
    linear.bias): same keys and, from the same seed, the same values; loads both ways."""
    kw = {"bias": True, "weight": W[:3].float(), "out_features": (2,)}
    ours, theirs = _pair("LinearCrossEntropyLoss", kw, (5, 3))
    assert isinstance(ours.linear, torch.nn.Linear)
    assert list(ours.state_dict()) == ["weight", "linear.weight", "linear.bias"]
    _assert_same_state(ours, theirs)
    assert repr(ours) == repr(theirs)
    x, t = X[:, :5].float(), torch.from_numpy(_R.integers(0, 3, (6, 2)))
    # float32: a few roundings of 5-term dot products and a 3-term logsumexp (8 ulp)
    torch.testing.assert_close(ours(x, t), theirs(x, t), rtol=1e-6, atol=0)
    other = lnn.LinearCrossEntropyLoss(5, 3, **kw)
    other.load_state_dict(theirs.state_dict())
    _assert_same_state(other, theirs)
    ours.double().linear.weight.data.mul_(2.0)
    theirs.double().load_state_dict(ours.state_dict())
    _assert_same_state(theirs, ours)
    x = x.double()
    torch.testing.assert_close(ours(x, t), theirs(x, t), rtol=1e-12, atol=0)
    assert lnn.LinearCrossEntropyLoss(5, 3, dtype="float64").linear.weight.dtype == torch.float64


def test_to_and_double_cast_buffers_as_torch_does():
    ours, theirs = _pair("BCEWithLogitsLoss", {"weight": W.float(), "pos_weight": W2.float()})
    for step in (
        lambda m: m.double(),
        lambda m: m.to(torch.float16),
        lambda m: m.float(),
        lambda m: m.to("meta"),
    ):
        assert step(ours) is ours
        step(theirs)
        for (n, a), (m, b) in zip(ours.named_buffers(), theirs.named_buffers(), strict=True):
            assert n == m and a.dtype == b.dtype and a.device == b.device


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_moves_buffers_and_computes_there():
    ours, theirs = _pair("CrossEntropyLoss", {"weight": W})
    ours.cuda()
    theirs.cuda()
    assert ours.weight.device == theirs.weight.device
    x, t = X.cuda(), LABELS.cuda()
    out = ours(x, t)
    assert out.device == x.device
    torch.testing.assert_close(out, theirs(x, t), rtol=1e-12, atol=0)


def test_add_module_hooks_and_named_buffers():
    model = torch.nn.Module()
    model.add_module("loss", lnn.CrossEntropyLoss(weight=W))
    assert [n for n, _ in model.named_buffers()] == ["loss.weight"]
    assert list(model.state_dict()) == ["loss.weight"]
    seen = []
    model.loss.register_forward_pre_hook(lambda m, args: (args[0] * 2.0, args[1]))
    model.loss.register_forward_hook(lambda m, args, out: seen.append(float(out)))
    got = model.loss(X, LABELS)
    expected = torch.nn.functional.cross_entropy(X * 2.0, LABELS, weight=W)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=0)
    assert seen == [float(expected)]
    # a Sequential of a layer and our loss trains like one of torch's
    x = X.clone().requires_grad_()
    lnn.MSELoss()(torch.nn.Identity()(x), SOFT).backward()
    torch.testing.assert_close(x.grad, 2 * (X - SOFT) / X.numel(), rtol=1e-12, atol=0)


def test_weight_of_another_framework_in_state_dict():
    """A NumPy weight is kept as given, saved under torch's name, left alone by .double(),
    and becomes a buffer holding the loaded values when a state_dict is loaded."""
    w = W.numpy().astype(np.float32)
    loss = lnn.BCEWithLogitsLoss(weight=w, pos_weight=W2)
    assert loss.weight is w and [n for n, _ in loss.named_buffers()] == ["pos_weight"]
    theirs = torch.nn.BCEWithLogitsLoss(weight=torch.from_numpy(w), pos_weight=W2)
    _assert_same_state(loss, theirs)
    loss.double()
    assert loss.weight is w and loss.pos_weight.dtype == torch.float64
    torch.testing.assert_close(loss(X, SOFT), theirs.double()(X, SOFT), rtol=1e-12, atol=0)
    loss.load_state_dict({"weight": W2, "pos_weight": W})
    assert isinstance(loss.weight, torch.Tensor) and "weight" in dict(loss.named_buffers())
    torch.testing.assert_close(loss.weight, W2.float(), rtol=0, atol=0)
    missing = lnn.CrossEntropyLoss(weight=[1.0] * 5).load_state_dict({}, strict=False)
    assert missing.missing_keys == ["weight"]


def test_pickle_and_deepcopy_keep_the_module():
    loss = lnn.BCEWithLogitsLoss(weight=W, pos_weight=W2, reduction="sum")
    for other in (pickle.loads(pickle.dumps(loss)), copy.deepcopy(loss)):
        assert isinstance(other, torch.nn.Module) and type(other) is type(loss)
        _assert_same_state(other, loss)
        torch.testing.assert_close(other(X, SOFT), loss(X, SOFT), rtol=0, atol=0)


def _run_python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_order_and_objects_made_before_torch():
    """``import lossbridge.nn`` first: objects made before ``import torch`` stay plain (and
    keep working), objects made after are modules; the NumPy linear layer without torch
    equals a float64 formula: mean over rows of logsumexp(x W^T + b) - (x W^T + b)[t]."""
    res = _run_python(
        """
        import json, sys
        import numpy as np
        import lossbridge.nn as lnn
        x = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
        t = np.array([0, 2, 1])
        before = lnn.MSELoss(reduction="sum")
        lce = lnn.LinearCrossEntropyLoss(4, 3, bias=True)
        w, b = lce.linear.weight, lce.linear.bias
        v = float(lce(x, t))
        torch_loaded = "torch" in sys.modules
        import torch
        after = lnn.MSELoss(reduction="sum")
        print(json.dumps({
            "torch_loaded": torch_loaded,
            "before": isinstance(before, torch.nn.Module),
            "after": isinstance(after, torch.nn.Module),
            "same_class": isinstance(before, lnn.MSELoss) and isinstance(after, lnn.MSELoss),
            "before_value": float(before(torch.ones(3), torch.zeros(3))),
            "w": w.tolist(), "b": b.tolist(), "w_type": type(w).__module__,
            "x": x.tolist(), "t": t.tolist(), "v": v,
        }))
        """
    )
    assert not res["torch_loaded"] and res["w_type"] == "numpy"
    assert not res["before"] and res["after"] and res["same_class"]
    assert res["before_value"] == 3.0
    # float32 parameters (exact in float64) on float64 input: the loss is computed in float64
    x, w, b = (np.asarray(res[k], np.float64) for k in ("x", "w", "b"))
    logits = x @ w.T + b
    expected = np.mean(
        np.log(np.exp(logits).sum(axis=1)) - logits[np.arange(3), np.asarray(res["t"])]
    )
    assert math.isclose(res["v"], expected, rel_tol=1e-12)
