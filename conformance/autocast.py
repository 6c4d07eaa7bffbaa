"""The torch autocast rule as its own conformance check.

Inside ``torch.autocast`` every loss behaves as ``torch.nn.functional``'s losses do there. For
each core registry entry and ``lossbridge.nn`` entry, each case (or the first ``max_cases``),
each device (the CPU; CUDA when ``torch.cuda.is_available()``) and each autocast dtype
(bfloat16, float16), :func:`check_case` builds the case's arrays as a model under autocast hands
them over: the *predictions* (the entry's gradient arguments, except those named ``target``,
``targets`` or ``weight``) as half tensors (float32 rounded to the half dtype, what an autocast
``nn.Linear`` returns), every other floating array float32, indices int64. It calls the loss
under ``torch.autocast(device, dtype)`` and records four checks, as
:class:`~lossbridge.conformance.runner.Result` records with backend
``torch-autocast-<device>-<bf16|f16>`` and the autocast dtype as ``dtype``:

``autocast_dtype``
    The result's dtype (and device) is the one torch's own loss returns under the same autocast
    on the same tensors: found by calling it (``torch.nn.functional.<oracle>`` for core entries,
    the ``torch.nn.<Class>`` module for ``nn.<Class>`` entries), not from a table. Losses torch
    does not ship, and calls where torch's loss raises under autocast
    (``F.binary_cross_entropy`` on CUDA), expect float32.
``autocast_value``
    The result against the float64 reference (:attr:`Entry.reference`) on the same rounded
    inputs (the half predictions, the float32 targets). A float32 result is lossbridge's float32
    computation on inputs that float32 holds exactly, so the bound is the float32 matrix's:
    its value bound for the loss and case (``T32`` = 1e-6 plus the listed exceptions,
    :func:`lossbridge.conformance.tolerances.tolerance`), or where the error exceeds it, the
    conditioning-aware ``C x spread`` (:func:`_value_spread`, the matrix's rule). A half result
    (the CPU's keep-half losses) is rounded once from float32: each element within the half
    dtype's value bound, 1 ulp at its own magnitude
    (:data:`~lossbridge.conformance.tolerances.TOLERANCES`).
``autocast_oracle``
    The result against torch's own under the same autocast. Where torch computes it in float32
    (its autocast result equals its own loss outside autocast on the inputs upcast to float32:
    :func:`_computes_in_float32`), within the value bound plus torch's own distance from the
    reference (the triangle inequality). Where torch computes part of it in the half dtype
    (on the CPU: ``gaussian_nll_loss``, ``multilabel_soft_margin_loss``, the distance losses,
    which are not on its autocast float32 list), ours must be no less accurate: our distance
    from the float64 reference at most
    :data:`~lossbridge.conformance.tolerances.ORACLE_FACTOR` times torch's, or within the value
    bound.
``autocast_grad``
    ``sum(loss * cotangent)`` (the cotangent rounded to the half dtype) backpropagated through
    the autocast graph: the gradient of every half prediction must come back in the half dtype,
    each element within the half dtype's gradient bound (2 ulps at its own magnitude, with a
    floor of :data:`~lossbridge.conformance.tolerances.GRAD_FLOOR_ULPS` ulp of the largest
    element: rule 1, :func:`~lossbridge.conformance.runner.compare_ulps`) of the float64
    gradient on the same rounded inputs (:func:`_reference_grads`: torch's float64 autograd, or
    lossbridge's float64 gradient as the matrix's ``grad_ref``).

A case the registry switches off for a check group (``Case.skip``: ``oracle``, ``grad``,
``grad_oracle``, ``grad_ref``, with ``@<dtype>`` keys) switches off the matching check here,
with its reason. Nothing global changes: each call enters and leaves its own
``torch.autocast`` context.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from lossbridge.conformance import tolerances as _tol
from lossbridge.conformance._text import plural
from lossbridge.conformance.cases import Case, Entry, cosine_distance, torch_cosine_distance
from lossbridge.conformance.registry import REGISTRY, get_entry
from lossbridge.conformance.runner import (
    Result,
    _cotangent,
    _first_line,
    _quiet,
    _Recorder,
    check_dtypes,
    compare_detail,
)

__all__ = [
    "AUTOCAST_DTYPES",
    "CHECKS",
    "autocast_backend",
    "autocast_devices",
    "autocast_entries",
    "check_case",
    "run_autocast",
]

#: The autocast dtypes checked.
AUTOCAST_DTYPES = ("bfloat16", "float16")

#: The checks of one case, device and dtype.
CHECKS = ("autocast_dtype", "autocast_value", "autocast_oracle", "autocast_grad")
for _check, _kind in zip(CHECKS[1:], ("value", "value", "grad"), strict=True):
    _tol.KINDS.setdefault(_check, _kind)  # the bound kind of each numeric check

#: Gradient arguments that are not predictions: they stay float32 under autocast.
_NOT_PREDICTIONS = frozenset({"target", "targets", "weight"})

_SHORT = {"bfloat16": "bf16", "float16": "f16"}


def autocast_backend(device: str, dtype: str) -> str:
    """The backend name of the records: ``torch-autocast-<device>-<bf16|f16>``."""
    return f"torch-autocast-{device}-{_SHORT[dtype]}"


def autocast_devices() -> tuple[str, ...]:
    """``('cpu',)``, plus ``'cuda'`` when torch sees a GPU (imports torch)."""
    import torch

    return ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)


def autocast_entries(registry: Mapping[str, Entry] | None = None) -> list[Entry]:
    """The core entries and the ``lossbridge.nn`` ones (not ``keras.*`` / ``optax.*`` /
    ``tfa.*``: Keras classes and optax functions, whose dtype rules are their library's)."""
    reg = REGISTRY if registry is None else registry
    return [e for n, e in reg.items() if not n.startswith(("keras.", "optax.", "tfa."))]


def run_autocast(
    entries: Iterable[Entry] | None = None,
    *,
    losses: Sequence[str] | None = None,
    dtypes: Sequence[str] = AUTOCAST_DTYPES,
    devices: Sequence[str] | None = None,
    cases: Sequence[str] | None = None,
    max_cases: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Result]:
    """Run the autocast checks (module docstring) and return their records.

    The arguments take the CLI's selections as they are: registry losses the check does not
    cover (``keras.*``, ``optax.*``, ``tfa.*``) and the dtypes that are not autocast dtypes
    (``float32``, ``float64``) are left out, so that ``--loss``/``--dtype`` can be handed over
    unchanged.

    Parameters
    ----------
    entries : iterable of Entry, optional
        Default: :func:`autocast_entries`, filtered by ``losses``.
    losses : sequence of str, optional
        Registry loss names to select (``ValueError`` for a name the registry lacks).
    dtypes : sequence of str
        The autocast dtypes among them run (``ValueError`` for a name that is no dtype of
        :data:`lossbridge.conformance.runner.DTYPES`).
    devices : sequence of str, optional
        Default: :func:`autocast_devices`. A device torch cannot use is reported as not run.
    cases : sequence of str, optional
        Case labels to select.
    max_cases : int, optional
        At most this many (selected) cases per entry, the first ones.
    progress : callable, optional
        Called with a line of text after each loss.

    Returns
    -------
    list of Result
        Every check ``'not run'`` (with the reason) when torch is not installed.
    """
    check_dtypes(dtypes)
    dtypes = [dt for dt in dtypes if dt in AUTOCAST_DTYPES]
    if entries is None:
        covered = {e.name for e in autocast_entries()}
        names = list(REGISTRY) if losses is None else list(losses)
        entries = [get_entry(n) for n in names if get_entry(n).name in covered]
    try:
        import torch
    except ImportError:
        torch = None
    if devices is None:
        devices = autocast_devices() if torch is not None else ("cpu",)
    results: list[Result] = []
    for entry in entries:
        selected = [c for c in entry.cases if cases is None or c.label in cases]
        if max_cases is not None:
            selected = selected[:max_cases]
        for case in selected:
            for device in devices:
                for dtype in dtypes:
                    why = _unavailable(torch, device)
                    if why:
                        rec = _AutocastRecorder(entry, case, device, dtype)
                        results.append(rec.skip("all", why))
                        continue
                    results.extend(check_case(entry, case, device, dtype))
        if progress is not None:
            bad = sum(1 for r in results if r.loss == entry.name and r.status == "fail")
            progress(f"{entry.name}: {plural(len(selected), 'case')}, {plural(bad, 'failure')}")
    return results


def _unavailable(torch: Any, device: str) -> str:
    if torch is None:
        return "torch is not installed"
    kind = device.split(":")[0]
    if kind == "cuda" and not torch.cuda.is_available():
        return "torch sees no CUDA device"
    if not torch.amp.is_autocast_available(kind):
        return f"torch has no autocast for device type {kind!r}"
    return ""


# ------------------------------------------------------------------------------------------
# One case
# ------------------------------------------------------------------------------------------


def check_case(entry: Entry, case: Case, device: str, dtype: str) -> list[Result]:
    """The four autocast checks of one entry, case, device and autocast dtype.

    Parameters
    ----------
    entry : Entry
    case : Case
    device : str
        ``'cpu'``, ``'cuda'`` (or ``'cuda:1'``, ...).
    dtype : {'bfloat16', 'float16'}

    Returns
    -------
    list of Result
    """
    import torch

    half = getattr(torch, dtype)
    kind = device.split(":")[0]
    rec = _AutocastRecorder(entry, case, device, dtype)
    inputs = case.inputs()
    gargs = entry.grad_args_of(case, inputs)
    preds = tuple(g for g in gargs if g not in _NOT_PREDICTIONS)
    if not preds:
        rec.skip("all", "no floating prediction argument to give as a half tensor")
        return rec.results

    def tensors(requires_grad: bool = False) -> dict[str, Any]:
        out = {}
        for k, v in inputs.items():
            t = torch.from_numpy(v).to(device)
            if v.dtype.kind == "f":
                t = t.to(torch.float32)
                if k in preds:
                    t = t.to(half).requires_grad_(requires_grad)
            out[k] = t
        return out

    arrays = tensors(requires_grad=bool(gargs) and not case.skipped("grad", dtype))
    rounded = {
        k: v.detach().cpu().double().numpy() if v.is_floating_point() else inputs[k]
        for k, v in arrays.items()
    }
    kwargs = dict(case.kwargs)

    # Ours, under autocast (the backward pass runs outside it, as torch recommends).
    try:
        with torch.autocast(kind, dtype=half):
            out = _quiet(entry.fn, **arrays, **kwargs)
    except Exception as exc:  # noqa: BLE001 - reported
        rec.fail("call", f"{entry.name} raised {_first_line(exc)} under autocast")
        return rec.results

    # torch's own loss, under the same autocast, on the same tensors.
    theirs, their_error = None, ""
    counterpart = _torch_counterpart(entry)
    if counterpart is not None:
        try:
            with torch.no_grad(), torch.autocast(kind, dtype=half):
                theirs = _quiet(counterpart, **tensors(), **{**kwargs, **case.oracle_kwargs})
        except Exception as exc:  # noqa: BLE001 - the rule then is float32
            their_error = _first_line(exc)

    # autocast_dtype
    if theirs is not None:
        expected, source = theirs.dtype, "torch's own loss under the same autocast"
    elif counterpart is not None:
        expected = torch.float32
        source = f"float32: torch's own loss raises under this autocast ({their_error})"
    else:
        expected, source = torch.float32, "float32: torch ships no such loss"
    problems = []
    if not isinstance(out, torch.Tensor):
        problems.append(f"returned a {type(out).__qualname__}, not a torch.Tensor")
    else:
        if out.dtype != expected:
            problems.append(f"dtype {out.dtype} where {expected} was expected ({source})")
        if out.device.type != torch.device(device).type:
            problems.append(f"device {out.device} for inputs on {device}")
    if problems:
        rec.fail("autocast_dtype", "; ".join(problems))
        return rec.results
    rec.ok("autocast_dtype", f"{out.dtype} ({source})")

    # autocast_value and autocast_oracle
    try:
        ref = np.asarray(_quiet(entry.reference, **rounded, **kwargs), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - the registry's reference rejects the inputs
        rec.fail("autocast_value", f"the float64 reference raised {_first_line(exc)}")
        return rec.results
    got = out.detach().cpu().double().numpy()
    theirs_np = None if theirs is None else theirs.detach().cpu().double().numpy()
    oracle_why = case.skipped("oracle", dtype)  # the case's own reason first
    if theirs_np is None and not oracle_why:
        oracle_why = (
            f"torch's own loss raised under autocast: {their_error}"
            if counterpart is not None
            else f"{entry.name} has no torch counterpart"
        )
    rec.half = out.dtype != torch.float32
    t32 = _tol.tolerance(entry.name, case.label, "value", "torch", "float32")
    if not rec.half:  # norm-wise relative errors, the float32 matrix's rule
        m = compare_detail(got, ref, "float32")
        bound, how = t32, f"the float32 value bound {t32:.0e}"
        if m.error > t32 and np.isfinite(m.error):
            spread = _value_spread(entry, case, rounded, gargs, ref)
            if _tol.CONDITIONING_FACTOR * spread > t32:
                bound = _tol.CONDITIONING_FACTOR * spread
                how = f"conditioning-aware bound C x spread = C x {spread:.3g}"
        rec.record("autocast_value", m, against="the float64 reference", tol=bound, why=how)
    else:  # the half result, rounded once from float32: ulps at each element's magnitude
        m = rec.measure("autocast_value", got, ref)
        rec.record("autocast_value", m, against="the float64 reference")
    if oracle_why:
        rec.skip("autocast_oracle", oracle_why)
    elif not rec.half and _computes_in_float32(counterpart, theirs_np, tensors(), case, t32):
        # torch computes in float32 too: two float32 evaluations, each within its bound
        m = compare_detail(got, theirs_np, "float32")
        e_f = compare_detail(theirs_np, ref).error
        rec.record(
            "autocast_oracle",
            m,
            against="torch's own loss under the same autocast (float32 inside)",
            tol=bound + e_f,
            why=f"bound: the value bound {bound:.2g} + torch's own distance {e_f:.2g} from the "
            "float64 reference",
        )
    elif rec.half:  # torch computes (partly) in the half dtype: ours no less accurate
        rec.no_worse("autocast_oracle", got, theirs_np, ref, "torch's own loss (half inside)")
    else:  # a float32 result that torch computes partly in half: ours no less accurate
        m, them = compare_detail(got, ref, "float32"), compare_detail(theirs_np, ref).error
        rec.record(
            "autocast_oracle",
            m,
            against="the float64 reference",
            tol=max(bound, _tol.ORACLE_FACTOR * them) if np.isfinite(them) else bound,
            why=f"torch's own loss (half inside): relative error {them:.3g} from the float64 "
            f"reference, lossbridge: {m.error:.3g}",
        )

    # autocast_grad
    why = case.skipped("grad", dtype) or ("" if gargs else "no floating array argument")
    if why:
        rec.skip("autocast_grad", why)
        return rec.results
    cot = _cotangent(case, ref.shape, "float64")
    cot = torch.from_numpy(np.asarray(cot)).to(half).double().numpy()
    try:
        leaves = [arrays[p] for p in preds]
        c = torch.as_tensor(cot, dtype=out.dtype, device=out.device)
        grads = torch.autograd.grad(out, leaves, grad_outputs=c, allow_unused=True)
    except Exception as exc:  # noqa: BLE001
        rec.fail("autocast_grad", f"backward through the autocast graph raised {_first_line(exc)}")
        return rec.results
    grads = [torch.zeros_like(x) if g is None else g for x, g in zip(leaves, grads, strict=True)]
    bad = [f"d/d{p}: {g.dtype}" for p, g in zip(preds, grads, strict=True) if g.dtype != half]
    if bad:
        rec.fail("autocast_grad", f"gradients not in {dtype}: {', '.join(bad)}")
        return rec.results
    ours = {p: g.detach().cpu().double().numpy() for p, g in zip(preds, grads, strict=True)}
    why = case.skipped("grad_ref", dtype)
    if why:
        rec.skip("autocast_grad", why)
        return rec.results
    try:
        ref_grads, against = _reference_grads(entry, case, dtype, rounded, preds, cot, counterpart)
    except Exception as exc:  # noqa: BLE001
        rec.fail("autocast_grad", f"the float64 gradient raised {_first_line(exc)}")
        return rec.results
    rec.half = True
    m = rec.measure("autocast_grad", ours, ref_grads)
    floor = _tol.GRAD_FLOOR_ULPS
    rec.record(
        "autocast_grad",
        m,
        against=against,
        why=f"per element: its ulps, with a floor of {floor:g} ulp of the largest element",
    )
    return rec.results


def _computes_in_float32(
    counterpart: Callable[..., Any],
    theirs: np.ndarray,
    arrays: Mapping[str, Any],
    case: Case,
    t32: float,
) -> bool:
    """Whether torch's autocast result is its float32 computation: the same loss outside
    autocast on the half arrays upcast to float32 gives it (bitwise on one machine; ``t32``
    allows for another kernel). False where torch runs some of the loss in half (the CPU's
    ``gaussian_nll_loss``, ``multilabel_soft_margin_loss``: not on its autocast float32 list)."""
    import torch

    up = {k: v.float() if v.is_floating_point() else v for k, v in arrays.items()}
    with torch.no_grad():
        out = _quiet(counterpart, **up, **{**case.kwargs, **case.oracle_kwargs})
    return bool(compare_detail(theirs, out.cpu().double().numpy()).error <= t32)


def _value_spread(
    entry: Entry,
    case: Case,
    rounded: Mapping[str, np.ndarray],
    gargs: tuple[str, ...],
    ref: np.ndarray,
) -> float:
    """The case's conditioning at float32, as the matrix measures it (``Suite._spread``): the
    largest relative change of the float64 reference under
    :data:`~lossbridge.conformance.tolerances.PERTURBATIONS` random relative perturbations of
    size ``perturbation('float32')`` (float32's unit roundoff) of the continuous inputs."""
    eps = _tol.perturbation("float32")
    rng = np.random.default_rng(case.seed + 2)
    ok = np.isfinite(ref)
    scale = float(np.abs(ref[ok]).max()) if ok.any() else 0.0
    spread = 0.0
    for _ in range(_tol.PERTURBATIONS):
        moved = dict(rounded)
        for g in gargs:
            moved[g] = rounded[g] * (1.0 + eps * rng.uniform(-1.0, 1.0, rounded[g].shape))
        out = np.asarray(_quiet(entry.reference, **moved, **case.kwargs), dtype=np.float64)
        if scale > 0 and np.all(np.isfinite(out[ok])):
            spread = max(spread, float(np.abs(out[ok] - ref[ok]).max()) / scale)
    return spread


def _torch_counterpart(entry: Entry) -> Callable[..., Any] | None:
    """torch's own loss called like ``entry.fn`` with keyword arguments, or None.

    ``torch.nn.functional.<oracle>`` for core entries; for ``nn.<Class>`` entries the
    ``torch.nn.<Class>`` module built from the constructor's arguments and called with the
    rest (as :mod:`lossbridge.conformance.extra_nn`'s oracle does).
    """
    if entry.oracle is not None:
        return entry.oracle_fn()
    if not entry.name.startswith("nn."):
        return None
    import torch

    cls = getattr(torch.nn, entry.name.removeprefix("nn."), None)
    # forward's argument names, in order, as the entry's adapter holds them (extra_nn._adapter)
    forward = inspect.getclosurevars(entry.fn).nonlocals.get("forward")
    if cls is None or forward is None:
        return None

    def module_call(**kw: Any) -> Any:
        if kw.get("distance_function") is cosine_distance:
            kw["distance_function"] = torch_cosine_distance
        ctor = {k: v for k, v in kw.items() if k not in forward}
        return cls(**ctor)(*[kw[n] for n in forward])

    return module_call


def _reference_grads(
    entry: Entry,
    case: Case,
    dtype: str,
    rounded: dict[str, np.ndarray],
    preds: tuple[str, ...],
    cot: np.ndarray,
    counterpart: Callable[..., Any] | None,
) -> tuple[dict[str, np.ndarray], str]:
    """The float64 gradient of ``sum(loss * cot)`` on the rounded inputs, and what it is.

    torch's float64 autograd of ``torch.nn.functional``'s loss where the registry checks
    torch's gradient on this case (an :attr:`Entry.oracle`, no ``oracle``/``grad_oracle`` skip,
    no :attr:`Entry.oracle_grad_projection`: torch's CTC backward is not the exact gradient);
    otherwise lossbridge's own float64 gradient on the same rounded inputs, the matrix's
    ``grad_ref`` baseline, which the float64 matrix checks against torch and against finite
    differences of the reference. (Finite differences themselves are no reference here: half
    rounding makes ties, the kinks of sorts and absolute values, within their step.)
    """
    import torch

    def float64_grad(fn: Callable[..., Any]) -> dict[str, np.ndarray]:
        ts = {k: torch.from_numpy(v.copy()) for k, v in rounded.items()}
        for p in preds:
            ts[p].requires_grad_(True)
        out = _quiet(fn, **ts, **kwargs)
        leaves = [ts[p] for p in preds]
        gs = torch.autograd.grad(out, leaves, grad_outputs=torch.from_numpy(cot), allow_unused=True)
        return {
            p: np.zeros(rounded[p].shape) if g is None else g.numpy()
            for p, g in zip(preds, gs, strict=True)
        }

    trusted = entry.oracle is not None and not (
        case.skipped("oracle", dtype)
        or case.skipped("grad_oracle", dtype)
        or entry.oracle_grad_projection is not None
    )
    if counterpart is not None and trusted:
        kwargs = {**case.kwargs, **case.oracle_kwargs}
        return float64_grad(counterpart), "torch's float64 autograd of its own loss"
    kwargs = dict(case.kwargs)
    return float64_grad(entry.fn), "lossbridge's float64 gradient (the matrix's grad_ref)"


# ------------------------------------------------------------------------------------------
# Records
# ------------------------------------------------------------------------------------------


class _AutocastRecorder(_Recorder):
    """The runner's recorder with this check's bounds, backend names and repro snippets."""

    def __init__(self, entry: Entry, case: Case, device: str, dtype: str) -> None:
        kind = device.split(":")[0]
        where = None if kind == "cpu" else device
        super().__init__(entry, case, autocast_backend(kind, dtype), dtype, where)
        self.autocast_device = device

    def _add(self, check, error, tol, passed, message, skipped=False, worst=None) -> Result:
        r = super()._add(check, error, tol, passed, message, skipped, worst)
        if r.repro:
            r = dataclasses.replace(r, repro=self._repro(check))
            self.results[-1] = r
        return r

    def _repro(self, check: str) -> str:
        e, c = self.entry.name, self.case.label
        return "\n".join(
            [
                f"# {e} / {c} / {self.backend} / check {check!r}",
                "from lossbridge.conformance import get_entry",
                "from lossbridge.conformance.autocast import check_case",
                f"entry = get_entry({e!r})",
                f"for r in check_case(entry, entry.case({c!r}), {self.autocast_device!r}, "
                f"{self.dtype!r}):",
                "    print(r.check, r.status, r.message)",
            ]
        )
