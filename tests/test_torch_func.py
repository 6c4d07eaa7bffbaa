"""``torch.func`` transforms over lossbridge's losses (issue 17, item 2).

Each case applies ``vmap``, ``grad``, ``jacrev`` (of the per-element losses) and
``vmap(grad)`` to a lossbridge loss and to its ``torch.nn.functional`` namesake on the same
float64 tensors; the two must agree to float64 rounding. Inside a transform tensors are
wrappers without storage (``vmap`` refuses ``.item()``, ``.numpy()`` fails even on a plain
tensor under ``grad``): lossbridge reads no values there, as under ``torch.compile``.

CTC: torch's ``ctc_loss`` backward returns the gradient with respect to the *logits* of a
log-softmax (it assumes ``log_probs = log_softmax(logits)``), not the gradient with respect to
``log_probs`` that autodiff of the formula gives (lossbridge's). Both functions are therefore
compared on the logits, through ``log_softmax``, where the two gradients are the same.
"""

from __future__ import annotations

import warnings

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional
func = torch.func

import lossbridge as lb  # noqa: E402
import lossbridge.nn as lnn  # noqa: E402

B, N, C = 3, 4, 5
_G = torch.Generator().manual_seed(20261207)
X = torch.randn(B, N, C, generator=_G, dtype=torch.float64)
Y = torch.randn(B, N, C, generator=_G, dtype=torch.float64)
LABELS = torch.randint(0, C, (B, N), generator=_G)
P = torch.softmax(torch.randn(B, N, C, generator=_G, dtype=torch.float64), -1)
U = torch.rand(B, N, C, generator=_G, dtype=torch.float64)
W = torch.rand(C, generator=_G, dtype=torch.float64) + 0.5
# CTC, per example (T, 2, C): two sequences of T frames, labels padded to S
T, S = 10, 3
CTC_X = torch.randn(B, T, 2, C, generator=_G, dtype=torch.float64)
CTC_TARGETS = torch.randint(1, C, (B, 2, S), generator=_G)
CTC_IL = torch.tensor([[T, T - 2]] * B)
CTC_TL = torch.tensor([[3, 2]] * B)


def _on_logits(ctc):
    return lambda z, *a, **k: ctc(torch.log_softmax(z, -1), *a, **k)


#: name -> (ours, torch's, batched arguments (differentiated: the first), keyword arguments)
CASES = {
    "cross_entropy": (lb.cross_entropy, F.cross_entropy, (X, LABELS), {"weight": W}),
    "cross_entropy_smoothed": (
        lb.cross_entropy,
        F.cross_entropy,
        (X, LABELS),
        {"label_smoothing": 0.1},
    ),
    "cross_entropy_probs": (lb.cross_entropy, F.cross_entropy, (X, P), {}),
    "nll_loss": (lb.nll_loss, F.nll_loss, (torch.log_softmax(X, -1), LABELS), {}),
    "mse_loss": (lb.mse_loss, F.mse_loss, (X, Y), {}),
    "l1_loss": (lb.l1_loss, F.l1_loss, (X, Y), {}),
    "binary_cross_entropy": (lb.binary_cross_entropy, F.binary_cross_entropy, (P, U), {}),
    "binary_cross_entropy_with_logits": (
        lb.binary_cross_entropy_with_logits,
        F.binary_cross_entropy_with_logits,
        (X, U),
        {"pos_weight": W},
    ),
    "kl_div": (lb.kl_div, F.kl_div, (torch.log_softmax(X, -1), P), {"reduction": "batchmean"}),
    "smooth_l1_loss": (lb.smooth_l1_loss, F.smooth_l1_loss, (X, Y), {"beta": 0.5}),
    "huber_loss": (lb.huber_loss, F.huber_loss, (X, Y), {"delta": 0.7}),
    "ctc_loss": (
        _on_logits(lb.ctc_loss),
        _on_logits(F.ctc_loss),
        (CTC_X, CTC_TARGETS, CTC_IL, CTC_TL),
        {},
    ),
}

TRANSFORMS = ("vmap", "grad", "jacrev", "vmap_grad")


def _apply(transform, fn, args, kwargs):
    if transform == "vmap":
        return func.vmap(lambda *a: fn(*a, **kwargs))(*args)
    if transform == "vmap_grad":
        return func.vmap(func.grad(lambda *a: fn(*a, **kwargs)))(*args)
    one = [a[0] for a in args]  # one example
    if transform == "grad":
        return func.grad(lambda *a: fn(*a, **kwargs))(*one)
    return func.jacrev(lambda *a: fn(*a, **{**kwargs, "reduction": "none"}))(*one)


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch: no batching rule for ctc_loss
@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_transform_matches_torch(name, transform):
    ours, theirs, args, kwargs = CASES[name]
    want = _apply(transform, theirs, args, kwargs)
    got = _apply(transform, ours, args, kwargs)
    assert got.shape == want.shape and got.dtype == want.dtype
    # float64; sums of a few dozen terms and (CTC) a 10-frame log-sum-exp recursion
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)


def test_module_under_functional_call_and_vmap():
    """``functional_call`` swaps the weight buffer of a ``lossbridge.nn`` module as it does
    torch's; ``vmap(grad)`` over the module gives torch's per-example gradients."""
    ours, theirs = lnn.CrossEntropyLoss(weight=W), torch.nn.CrossEntropyLoss(weight=W)
    other = {"weight": W.flip(0)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got = func.functional_call(ours, other, (X[0], LABELS[0]))
        want = func.functional_call(theirs, other, (X[0], LABELS[0]))
    torch.testing.assert_close(got, want, rtol=1e-12, atol=0)
    got = func.vmap(func.grad(ours))(X, LABELS)
    want = func.vmap(func.grad(theirs))(X, LABELS)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)
