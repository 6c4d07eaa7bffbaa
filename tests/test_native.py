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

from lossbridge.backends import _torch_native  # noqa: E402


@contextlib.contextmanager
def generic_only() -> Iterator[None]:
    """Every call on the generic path (the native look-up answers None)."""
    with backends.native_off():
        yield


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


# ------------------------------------------------------------------------------------------
# Half logits outside autocast (``_torch_native.HALF``): float32 inside, half kept for backward
# ------------------------------------------------------------------------------------------

HALFS = [torch.bfloat16, torch.float16]


def _ulp(ref: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The spacing of ``dtype`` at each element of the float64 ``ref`` (normal range)."""
    fi = torch.finfo(dtype)
    mag = torch.clamp(ref.abs(), min=fi.smallest_normal)
    return torch.exp2(torch.floor(torch.log2(mag))) * fi.eps


def _half_calls(dtype: torch.dtype):  # noqa: ANN202
    g = torch.Generator().manual_seed(1)
    x = (torch.randn(32, 7, generator=g) * 4).to(dtype)
    idx = torch.randint(0, 7, (32,), generator=g)
    ignored = idx.clone()
    ignored[::3] = -100
    w = (torch.rand(7, generator=g) + 0.5).to(dtype)
    x4 = torch.randn(2, 5, 3, 4, generator=g).to(dtype)
    t4 = torch.randint(0, 5, (2, 3, 4), generator=g)
    probs = torch.rand(32, 7, generator=g).to(dtype)
    pw = (torch.rand(7, generator=g) * 3).to(dtype)
    rw = (torch.rand(32, 1, generator=g) + 0.5).to(dtype)
    out = []
    for r in ("mean", "sum", "none"):
        out += [
            ("cross_entropy", (x, idx), {"reduction": r}),
            ("cross_entropy", (x, ignored), {"reduction": r, "weight": w}),
            ("cross_entropy", (x4, t4), {"reduction": r}),
            ("binary_cross_entropy_with_logits", (x, probs), {"reduction": r}),
            ("binary_cross_entropy_with_logits", (x, probs), {"reduction": r, "pos_weight": pw}),
            ("binary_cross_entropy_with_logits", (x, probs), {"reduction": r, "weight": rw}),
        ]
    return out


def _value_and_grad(fn, x, args, kwargs):  # noqa: ANN001, ANN202
    """Value and input gradient of ``fn(x, *args, **kwargs)``, with a fixed output cotangent."""
    x = x.detach().clone().requires_grad_(True)
    out = fn(x, *args, **kwargs)
    cot = torch.linspace(0.5, 1.5, out.numel(), dtype=torch.float64).reshape(out.shape)
    (g,) = torch.autograd.grad(out, x, cot.to(out.dtype))
    return out.detach(), g


@pytest.mark.parametrize("dtype", HALFS, ids=str)
def test_half_kernels_within_ulps_of_float64(dtype: torch.dtype) -> None:
    """Half logits: the value within 1 ulp and every gradient element within 2 ulp (plus 2^-6
    ulp of the largest element) of torch's float64 loss on the same rounded inputs; the result
    and the gradient in the logits' dtype; and the half kernel was the one that ran."""
    for name, args, kwargs in _half_calls(dtype):
        x, rest = args[0], args[1:]
        calls = []
        kernel = _torch_native.HALF[name]
        _torch_native.HALF[name] = lambda *a, k=kernel, c=calls, **kw: (
            c.append(k(*a, **kw)) or c[-1]
        )
        try:
            v, g = _value_and_grad(getattr(lb, name), x, rest, kwargs)
        finally:
            _torch_native.HALF[name] = kernel
        assert len(calls) == 1 and calls[0] is not None, (name, kwargs)
        wide = {k: v.double() if torch.is_tensor(v) else v for k, v in kwargs.items()}
        rest64 = tuple(a.double() if a.is_floating_point() else a for a in rest)
        v64, g64 = _value_and_grad(getattr(F, name), x.double(), rest64, wide)
        assert v.dtype == dtype and g.dtype == dtype, (name, kwargs)
        assert ((v.double() - v64).abs() <= _ulp(v64, dtype)).all(), (name, kwargs)
        bound = 2 * _ulp(g64, dtype) + 2**-6 * _ulp(g64.abs().max(), dtype)
        assert ((g.double() - g64).abs() <= bound).all(), (name, kwargs)


@pytest.mark.parametrize("dtype", HALFS, ids=str)
def test_half_kernels_keep_no_float32_n_by_c(dtype: torch.dtype) -> None:
    """Nothing N x C in float32 is saved for backward: cross_entropy keeps the half logits and
    one float32 number per row (F on half logits keeps an N x C half log-softmax);
    BCE-with-logits keeps only its arguments (as F does)."""
    n, c = 64, 50
    x = torch.randn(n, c).to(dtype).requires_grad_(True)
    idx = torch.randint(0, c, (n,))
    t = torch.rand(n, c).to(dtype)

    def saved(fn, target):  # noqa: ANN001, ANN202
        tensors = []
        with torch.autograd.graph.saved_tensors_hooks(
            lambda s: tensors.append(s) or s, lambda s: s
        ):
            out = fn(x, target)
        torch.autograd.grad(out, x)
        args = {x.untyped_storage().data_ptr(), target.untyped_storage().data_ptr()}
        return [s for s in tensors if s.untyped_storage().data_ptr() not in args]

    ours = saved(lb.cross_entropy, idx)
    assert [(tuple(s.shape), s.dtype) for s in ours] == [((n, 1), torch.float32)]
    theirs = saved(F.cross_entropy, idx)
    assert sum(s.numel() * s.element_size() for s in ours) < sum(
        s.numel() * s.element_size() for s in theirs
    )
    assert saved(lb.binary_cross_entropy_with_logits, t) == []


def test_half_kernels_mixed_dtypes_and_fallbacks() -> None:
    """A float32 weight or target makes the result float32 (the rule's promotion); calls the
    half kernels do not take (label smoothing, probability targets, 1-D logits, a target that
    needs a gradient) run the rule's float32 path and still give the float64 numbers."""
    x = torch.randn(16, 5).bfloat16()
    idx = torch.randint(0, 5, (16,))
    x64 = x.double()
    w32 = torch.rand(5) + 0.5
    out = lb.cross_entropy(x, idx, weight=w32)
    assert out.dtype == torch.float32
    torch.testing.assert_close(
        out.double(), F.cross_entropy(x64, idx, w32.double()), rtol=1e-6, atol=0
    )
    t32 = torch.rand(16, 5)
    out = lb.binary_cross_entropy_with_logits(x, t32)
    assert out.dtype == torch.float32
    expected = F.binary_cross_entropy_with_logits(x64, t32.double())
    torch.testing.assert_close(out.double(), expected, rtol=1e-6, atol=0)
    probs = torch.softmax(torch.randn(16, 5), dim=1).bfloat16()
    t_grad = torch.rand(16, 5).bfloat16().requires_grad_(True)
    for fn, args, kwargs, ref in (
        (lb.cross_entropy, (x, idx), {"label_smoothing": 0.1}, F.cross_entropy),
        (lb.cross_entropy, (x, probs), {}, F.cross_entropy),
        (lb.cross_entropy, (x[0], idx[0]), {}, F.cross_entropy),
        (lb.binary_cross_entropy_with_logits, (x, t_grad), {}, F.binary_cross_entropy_with_logits),
    ):
        name = fn.__name__
        assert _torch_native.HALF[name](*args, **kwargs) is None, (name, kwargs)
        got = fn(*args, **kwargs)
        wide = ref(*(a.detach().double() if a.is_floating_point() else a for a in args), **kwargs)
        assert got.dtype == torch.bfloat16
        assert (got.double() - wide).abs() <= _ulp(wide, torch.bfloat16), (name, kwargs)


def test_half_kernel_out_of_range_class_is_lossbridges_error() -> None:
    x = torch.randn(4, 3).half()
    with pytest.raises(ValueError, match=r"target holds class index 5, out of range for 3"):
        lb.cross_entropy(x, torch.tensor([0, 1, 5, 2]))


def test_half_kernels_under_torch_compile() -> None:
    """``torch.compile(fullgraph=True)`` traces the half kernels (autograd.Function) and gives
    the eager numbers."""
    x = (torch.randn(16, 6) * 3).bfloat16()
    idx = torch.randint(0, 6, (16,))
    t = torch.rand(16, 6).bfloat16()
    for fn, target in ((lb.cross_entropy, idx), (lb.binary_cross_entropy_with_logits, t)):
        compiled = torch.compile(fn, fullgraph=True, backend="aot_eager")
        v, g = _value_and_grad(compiled, x, (target,), {})
        ve, ge = _value_and_grad(fn, x, (target,), {})
        assert v.dtype == g.dtype == torch.bfloat16
        torch.testing.assert_close(v, ve, rtol=0, atol=0)
        torch.testing.assert_close(g, ge, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["cross_entropy", "binary_cross_entropy_with_logits"])
def test_half_kernels_differentiate_twice(name: str) -> None:
    """``create_graph=True``: the half kernels' backward is differentiable in the logits, and
    the Hessian-vector product is torch's float64 one within the gradient's bound (2 ulp plus
    2^-6 ulp of the largest element)."""
    g = torch.Generator().manual_seed(3)
    x = (torch.randn(12, 6, generator=g) * 2).bfloat16().requires_grad_(True)
    target = torch.randint(0, 6, (12,), generator=g)
    if name != "cross_entropy":
        target = torch.rand(12, 6, generator=g).bfloat16()
    v = torch.randn(12, 6, generator=g).bfloat16()  # the cotangent reaches the kernel in bf16

    def hvp(x, target, dtype):  # noqa: ANN001, ANN202
        (grad,) = torch.autograd.grad(
            getattr(lb if dtype else F, name)(x, target), x, create_graph=True
        )
        (h,) = torch.autograd.grad((grad.double() * v.double()).sum(), x)
        return h

    h = hvp(x, target, x.dtype)
    x64 = x.detach().double().requires_grad_(True)
    t64 = target if name == "cross_entropy" else target.double()
    h64 = hvp(x64, t64, None)
    assert h.dtype == torch.bfloat16
    bound = 2 * _ulp(h64, torch.bfloat16) + 2**-6 * _ulp(h64.abs().max(), torch.bfloat16)
    assert ((h.double() - h64).abs() <= bound).all()
