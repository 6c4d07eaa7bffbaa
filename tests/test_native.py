"""torch's whole-loss kernels behind ``backends.native_loss`` (``backends/_torch_native.py``).

A plain-tensor call of ``cross_entropy``, ``nll_loss``, ``binary_cross_entropy_with_logits``,
``mse_loss``, ``l1_loss``, ``huber_loss``, ``smooth_l1_loss`` or ``kl_div`` runs torch's own
loss; every other call runs the generic path. Checked here: the fast path is taken (it
dispatches exactly the aten operations of ``torch.nn.functional``'s loss), it and the generic
path both give ``torch.nn.functional``'s values and gradients (float64, every reduction,
weights, ``ignore_index``, label smoothing, probability targets), and calls it must not take
fall back (and still give lossbridge's errors).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

import lossbridge as lb
from lossbridge import backends

torch = pytest.importorskip("torch")
F = torch.nn.functional

from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402


@contextlib.contextmanager
def generic_only() -> Iterator[None]:
    """Every call on the generic path (the native look-up answers None)."""
    saved = dict(backends._NATIVE_BY_TYPE)
    backends._NATIVE_BY_TYPE[torch.Tensor] = None
    backends._NATIVE_BY_TYPE[torch.nn.Parameter] = None
    try:
        yield
    finally:
        backends._NATIVE_BY_TYPE.clear()
        backends._NATIVE_BY_TYPE.update(saved)


class _Ops(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.ops: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        self.ops.append(str(func.overloadpacket))
        return func(*args, **(kwargs or {}))


def _aten(fn, *args, **kwargs) -> list[str]:  # noqa: ANN001
    with _Ops() as mode:
        fn(*args, **kwargs)
    return mode.ops


def _data(seed: int = 0):  # noqa: ANN202
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(6, 5, dtype=torch.float64, generator=g)
    idx = torch.randint(0, 5, (6,), generator=g)
    probs = torch.softmax(torch.randn(6, 5, dtype=torch.float64, generator=g), dim=1)
    y = torch.randn(6, 5, dtype=torch.float64, generator=g)
    w = torch.rand(5, dtype=torch.float64, generator=g) + 0.5
    return x, idx, probs, y, w


def _calls():  # noqa: ANN202
    x, idx, probs, y, w = _data()
    ignored = idx.clone()
    ignored[::2] = -100
    x4 = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    t4 = torch.randint(0, 3, (2, 4, 5))
    logp = torch.log_softmax(x, dim=1)
    zeros = probs.clone()
    zeros[0, :2] = 0.0
    out = []
    for r in ("mean", "sum", "none"):
        out += [
            ("cross_entropy", (x, idx), {"reduction": r}),
            ("cross_entropy", (x, ignored), {"reduction": r, "weight": w}),
            ("cross_entropy", (x, idx), {"reduction": r, "label_smoothing": 0.2, "weight": w}),
            ("cross_entropy", (x, probs), {"reduction": r, "label_smoothing": 0.1}),
            ("cross_entropy", (x4, t4), {"reduction": r}),
            ("nll_loss", (logp, ignored), {"reduction": r, "weight": w}),
            ("nll_loss", (logp, idx), {"reduction": r}),
            ("binary_cross_entropy_with_logits", (x, probs), {"reduction": r}),
            ("binary_cross_entropy_with_logits", (x, probs), {"weight": w, "pos_weight": w * 2}),
            ("mse_loss", (x, y), {"reduction": r}),
            ("l1_loss", (x, y), {"reduction": r}),
            ("huber_loss", (x, y), {"reduction": r, "delta": 0.5}),
            ("smooth_l1_loss", (x, y), {"reduction": r, "beta": 0.5}),
            ("smooth_l1_loss", (x, y), {"reduction": r, "beta": 0.0}),
            ("kl_div", (logp, zeros), {"reduction": r}),
            ("kl_div", (logp, torch.log(probs)), {"reduction": r, "log_target": True}),
        ]
    out.append(("cross_entropy", (x[0], idx[0]), {}))  # (C,) against a 0-d target
    out.append(("kl_div", (logp, zeros), {"reduction": "batchmean"}))
    return out


CALLS = _calls()


@pytest.mark.parametrize(("name", "args", "kwargs"), CALLS, ids=[c[0] for c in CALLS])
def test_native_and_generic_give_torchs_numbers(name: str, args: tuple, kwargs: dict) -> None:
    """The fast path and the generic path both give ``torch.nn.functional``'s value and input
    gradient (float64): the expected numbers are torch's own loss, called directly."""

    def value_and_grad(fn, ctx):  # noqa: ANN001, ANN202
        x = args[0].detach().clone().requires_grad_(True)
        with ctx:
            out = fn(x, *args[1:], **kwargs)
        (g,) = torch.autograd.grad(out.sum(), x)
        return out.detach(), g

    v_torch, g_torch = value_and_grad(getattr(F, name), contextlib.nullcontext())
    for ctx in (contextlib.nullcontext(), generic_only()):
        v, g = value_and_grad(getattr(lb, name), ctx)
        torch.testing.assert_close(v, v_torch, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(g, g_torch, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "native"),
    [
        ("cross_entropy", F.cross_entropy),
        ("nll_loss", F.nll_loss),
        ("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits),
        ("mse_loss", F.mse_loss),
        ("l1_loss", F.l1_loss),
        ("huber_loss", F.huber_loss),
        ("smooth_l1_loss", F.smooth_l1_loss),
    ],
)
def test_plain_tensors_take_the_native_kernel(name: str, native) -> None:  # noqa: ANN001
    """A plain float32 call dispatches exactly the aten operations of torch's own loss (no
    range check, no separate mean): the fast path was taken."""
    x = torch.randn(8, 4)
    if name in ("cross_entropy", "nll_loss"):
        t = torch.randint(0, 4, (8,))
    else:
        t = torch.rand(8, 4)
    assert _aten(getattr(lb, name), x, t) == _aten(native, x, t)
    fn = backends._torch_native.__dict__[name]
    calls = []
    backends._torch_native.__dict__[name] = lambda *a: calls.append(fn(*a)) or calls[-1]
    try:
        getattr(lb, name)(x, t)
    finally:
        backends._torch_native.__dict__[name] = fn
    assert len(calls) == 1 and calls[0] is not None  # taken, and it returned the loss


def test_kl_div_takes_torch_kernel_without_its_mean_warning(recwarn) -> None:  # noqa: ANN001
    x = torch.log_softmax(torch.randn(8, 4), dim=1)
    t = torch.softmax(torch.randn(8, 4), dim=1)
    assert _aten(lb.kl_div, x, t) == _aten(torch.kl_div, x, t, 1)  # 1: 'mean'
    lb.kl_div(x, t)
    assert not [w for w in recwarn if "kl_div" in str(w.message) or "batchmean" in str(w.message)]


def test_kl_div_target_gradient_stays_generic() -> None:
    """A target that needs a gradient takes the generic path: at a zero target its gradient is
    log(t) + 1 guarded to 0 there, where torch's own kernel gives NaN."""
    x = torch.log_softmax(torch.randn(3, 4, dtype=torch.float64), dim=1)
    t = torch.tensor([[0.0, 0.5, 0.25, 0.25]] * 3, dtype=torch.float64, requires_grad=True)
    (g_torch,) = torch.autograd.grad(F.kl_div(x, t, reduction="sum"), t)
    assert torch.isnan(g_torch[:, 0]).all()  # torch's convention, which the fast path would give
    (g,) = torch.autograd.grad(lb.kl_div(x, t, reduction="sum"), t)
    assert torch.isfinite(g).all()
    # d/dt [t log t - t x] = log t + 1 - x away from 0
    expected = torch.log(t.detach()[:, 1:]) + 1 - x[:, 1:]
    torch.testing.assert_close(g[:, 1:], expected, rtol=1e-12, atol=1e-12)


def test_calls_the_fast_path_refuses_fall_back() -> None:
    """int32 targets, list weights, broadcasting targets and mixed dtypes run the generic path
    (torch itself refuses or treats some of them differently) and give the generic numbers."""
    x = torch.randn(6, 5, dtype=torch.float64)
    idx32 = torch.randint(0, 5, (6,), dtype=torch.int32)
    expected = F.cross_entropy(x, idx32.long())
    torch.testing.assert_close(lb.cross_entropy(x, idx32), expected)
    w = [1.0, 2.0, 0.5, 1.0, 1.0]
    torch.testing.assert_close(
        lb.cross_entropy(x, idx32, weight=w),
        F.cross_entropy(x, idx32.long(), weight=torch.tensor(w, dtype=torch.float64)),
    )
    y = torch.randn(1, 5, dtype=torch.float64)
    with pytest.warns(UserWarning, match="mse_loss"):
        got = lb.mse_loss(x, y)
    torch.testing.assert_close(got, ((x - y) ** 2).mean())
    t32 = torch.rand(6, 5)  # float32 target for a float64 input: promoted, as in the generic path
    torch.testing.assert_close(lb.mse_loss(x, t32), ((x - t32.double()) ** 2).mean())


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_out_of_range_class_is_lossbridges_error(name: str) -> None:
    """torch raises its own IndexError on the fast path; the call falls back and the generic
    path raises lossbridge's ValueError naming the target and the class count."""
    x = torch.randn(4, 3)
    t = torch.tensor([0, 1, 5, 2])
    with pytest.raises(ValueError, match=r"target holds class index 5, out of range for 3"):
        getattr(lb, name)(x, t)


def test_shape_mismatch_is_lossbridges_error() -> None:
    x = torch.randn(4, 3)
    with pytest.raises(ValueError, match=r"target has shape \(5,\)"):
        lb.cross_entropy(x, torch.zeros(5, dtype=torch.int64))
    with pytest.raises(ValueError, match="target"):
        lb.binary_cross_entropy_with_logits(x, torch.rand(4, 2))
