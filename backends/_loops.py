"""A loop over the leading axis that stays a loop under each framework's tracer.

The array API standard has no control flow, and a Python ``for`` over ``T`` steps is unrolled
by every tracer (``jax.jit``, ``tf.function``, ``torch.compile``): ``T`` copies of the body in
the graph, and compile time growing with ``T``. :func:`scan` runs the framework's own loop
where it has one that autodiff goes through:

=============== ===========================================================================
framework        loop
=============== ===========================================================================
JAX              ``jax.lax.scan`` (one body in the jaxpr; reverse mode through it).
TensorFlow       ``tf.while_loop`` over ``tf.TensorArray`` inputs with ``maximum_iterations``
                 set, so ``GradientTape`` and ``jit_compile=True`` (XLA) both work. Called
                 eagerly with a module-level body and ``consts``, the loop runs inside one
                 cached ``tf.function`` (traced once per body and shapes) instead of op by op.
torch (eager),   a Python loop.
NumPy, others
torch (under     :func:`fold` with a module-level body and ``consts``: one opaque custom
``torch.        operator, ``lossbridge::scan`` (``torch.library.custom_op``), which runs the
compile``)       Python loop on real tensors, with a registered backward
                 (``lossbridge::scan_backward``: ``torch.func.vjp`` of the loop run again).
                 Otherwise (and :func:`scan`, whose stacked outputs need shapes at trace time)
                 the Python loop, which ``torch.compile`` unrolls.
=============== ===========================================================================

Why a custom operator for ``torch.compile``: unrolled, the 200-step CTC recursion took 10 s to
compile with ``backend="eager"`` and 4 minutes with inductor (forward only, shared 2-core
machine); as the operator, 0.9 s and 17 s (most of it inductor's own start-up). torch 2.13's
public structured loop ``torch.while_loop`` is a prototype that "doesn't support training",
``torch._higher_order_ops.scan`` is private, and ``torch.compiler.nested_compile_region``
around the body made the trace slower (11 s instead of 5 s at 60 steps), not faster. The
operator is opaque to the compiler: the graph holds one node, the loop runs at eager speed
inside it (its backward re-runs the loop under ``torch.func.vjp``).

:func:`scan` has ``jax.lax.scan``'s semantics, :func:`fold` keeps only the final carry::

    carry = init
    ys = []
    for x in xs:                     # xs: an array, or a tuple/list of arrays, leading axis T
        carry, y = f(carry, x)       # f(carry, x, consts) when consts is given
        ys.append(y)
    return carry, stack(ys)          # None when f returns y = None

Nothing here imports a framework: each is taken from ``sys.modules`` once its arrays are seen.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

from lossbridge.backends import framework_name, get_namespace

__all__ = ["fold", "scan"]


def _leaves(tree: Any) -> list[Any]:
    if isinstance(tree, (tuple, list)):
        out: list[Any] = []
        for t in tree:
            out.extend(_leaves(t))
        return out
    return [] if tree is None else [tree]


def _unflatten(tree: Any, leaves: Any) -> Any:
    """Rebuild ``tree``'s structure from an iterator of leaves."""
    if isinstance(tree, (tuple, list)):
        return type(tree)(_unflatten(t, leaves) for t in tree)
    return None if tree is None else next(leaves)


def _body_name(f: Any) -> str:
    """``'module:qualname'`` of a module-level function (no closure), else ``''``.

    A constant for Dynamo (see :func:`_ensure_torch_ops`), which cannot read ``__qualname__``.
    """
    qualname = getattr(f, "__qualname__", "")
    module = getattr(f, "__module__", None)
    if getattr(f, "__closure__", None) is not None or not module or not qualname:
        return ""
    return "" if "<" in qualname else f"{module}:{qualname}"


_body_name._dynamo_marked_constant = True  # type: ignore[attr-defined]


def scan(
    f: Callable[..., tuple[Any, Any]],
    init: Any,
    xs: Any,
    *,
    consts: Any = None,
    length: int | None = None,
    unroll: int = 1,
) -> tuple[Any, Any]:
    """Run ``carry, y = f(carry, x)`` for each ``x`` along the leading axis of ``xs``.

    Parameters
    ----------
    f : callable
        ``f(carry, x) -> (carry, y)``, or ``f(carry, x, consts)`` when ``consts`` is given;
        ``y`` may be ``None``. A module-level ``f`` with ``consts`` (the arrays it needs
        besides the carry and the inputs, instead of a closure over them) is traced once per
        shape, not per call, by eager JAX and eager TensorFlow.
    init : array or tuple of arrays
        The initial carry; ``f`` returns a carry of the same structure, shapes and dtypes.
    xs : array or tuple of arrays
        Scanned along axis 0 (all leaves share that length). May be ``None`` with ``length``.
    consts : array or tuple of arrays, optional
        Passed unchanged to every step.
    length : int, optional
        The number of steps when ``xs`` is ``None``.
    unroll : int, default 1
        Steps per loop iteration under JAX (``jax.lax.scan``'s ``unroll``); ignored elsewhere.

    Returns
    -------
    carry
        The final carry.
    ys
        The ``y`` of every step stacked along a new leading axis (same structure as ``y``), or
        ``None`` when ``f`` returns ``None``.

    Notes
    -----
    ``torch.compile`` unrolls this loop (the stacked ``ys`` need the body's output shapes at
    trace time); :func:`fold`, which keeps only the carry, does not.
    """
    return _loop(f, init, xs, consts, length, unroll, False)


def fold(
    f: Callable[..., Any],
    init: Any,
    xs: Any,
    *,
    consts: Any = None,
    length: int | None = None,
    unroll: int = 1,
) -> Any:
    """The final carry of ``carry = f(carry, x)`` (or ``f(carry, x, consts)``) over ``xs``.

    :func:`scan` without the per-step outputs. Same parameters; ``f`` returns the carry only.
    Under ``torch.compile``, a module-level ``f`` with ``consts`` and a carry, ``xs`` and
    ``consts`` that are each an array or a flat tuple of arrays run as the custom operator
    ``lossbridge::scan`` (module docstring); anything else is unrolled.
    """
    return _loop(f, init, xs, consts, length, unroll, True)[0]


class _Step:
    """The two-argument step ``(carry, x) -> (carry, y)`` that each loop runs.

    A class rather than a closure; with the same ``f`` (a module-level function) the JAX and
    TensorFlow caches below find their traced loop again.
    """

    def __init__(self, f: Callable[..., Any], consts: Any, fold: bool) -> None:
        self.f, self.consts, self.fold = f, consts, fold

    def __call__(self, carry: Any, x: Any) -> Any:
        out = self.f(carry, x) if self.consts is None else self.f(carry, x, self.consts)
        return (out, None) if self.fold else out


def _loop(
    f: Callable[..., Any],
    init: Any,
    xs: Any,
    consts: Any,
    length: int | None,
    unroll: int,
    folding: bool,
) -> tuple[Any, Any]:
    leaves = _leaves(xs) or _leaves(init)
    if not leaves:
        raise ValueError("scan: xs and init hold no array")
    fw = framework_name(leaves[0])
    cacheable = consts is not None and bool(_body_name(f))
    if fw == "jax":
        lax = sys.modules["jax"].lax
        if cacheable:
            # One cached ``jax.jit`` per body: an eager call (and ``jax.vjp`` through it) then
            # compiles the loop once per input shape instead of on every call; inside an outer
            # ``jax.jit`` the inner one is inlined.
            return _jax_loop(f, folding, length, unroll)(init, consts, xs)
        return lax.scan(_Step(f, consts, folding), init, xs, length=length, unroll=unroll)
    if fw == "tensorflow":
        if cacheable and sys.modules["tensorflow"].executing_eagerly():
            return _tf_eager_loop()(f, folding, init, xs, consts, length)
        return _scan_tf(_Step(f, consts, folding), init, xs, length)
    if (
        folding
        and cacheable
        and fw == "torch"
        and sys.modules["torch"].compiler.is_compiling()
        and _flat(init)
        and _flat(xs)
        and _flat(consts)
        and _ensure_torch_ops()
    ):
        return _scan_torch_op(f, init, xs, consts), None
    return _scan_python(_Step(f, consts, folding), init, xs, length)


_JAX_BODIES: dict[Any, Any] = {}
_JAX_LOOPS: dict[Any, Any] = {}


def _jax_loop(f: Callable[..., Any], folding: bool, length: int | None, unroll: int) -> Any:
    """``jax.jit(init, consts, xs -> (carry, ys))`` for body ``f``, cached per static argument."""
    key = (f, folding, length, unroll)
    try:
        return _JAX_LOOPS[key]
    except KeyError:
        pass
    jax = sys.modules["jax"]
    body = _jax_body(f, folding)

    def loop(init: Any, consts: Any, xs: Any) -> Any:
        (carry, _), ys = jax.lax.scan(body, (init, consts), xs, length=length, unroll=unroll)
        return carry, ys

    _JAX_LOOPS[key] = jitted = jax.jit(loop)
    return jitted


def _jax_body(f: Callable[..., Any], folding: bool) -> Callable[..., Any]:
    try:
        return _JAX_BODIES[f, folding]
    except KeyError:
        pass

    def body(carry_consts: Any, x: Any) -> Any:
        carry, consts = carry_consts
        out = f(carry, x, consts)
        carry, y = (out, None) if folding else out
        return (carry, consts), y

    _JAX_BODIES[f, folding] = body
    return body


# ------------------------------------------------------------------------------------------
# Python loop (torch eager, NumPy, array-api-strict, ...)
# ------------------------------------------------------------------------------------------


def _scan_python(f: Callable[..., Any], init: Any, xs: Any, length: int | None) -> Any:
    x_leaves = _leaves(xs)
    if x_leaves:
        xp, _ = get_namespace(x_leaves[0])
        # One ``unstack`` per input rather than ``x[t]`` per step: torch's backward of an
        # unbind is one stack, that of T selects is T full-size zero-filled copies summed.
        # torch: ``unbind`` itself (array-api-compat's ``unstack`` goes through ``moveaxis``,
        # which ``torch.func.vmap`` has no batching rule for).
        if getattr(xp, "__name__", None) == "array_api_compat.torch":
            columns = [a.unbind(0) for a in x_leaves]
        else:
            columns = [xp.unstack(a, axis=0) for a in x_leaves]
        steps = len(columns[0])
    else:
        columns = []
        steps = int(length or 0)
    carry = init
    ys: list[Any] = []
    for t in range(steps):
        x = _unflatten(xs, iter([c[t] for c in columns])) if x_leaves else None
        carry, y = f(carry, x)
        ys.append(y)
    return carry, _stack_ys(ys)


def _stack_ys(ys: list[Any]) -> Any:
    if not ys or all(y is None for y in ys):
        return None
    per_step = [_leaves(y) for y in ys]
    xp, _ = get_namespace(per_step[0][0])
    stacked = [xp.stack([s[i] for s in per_step], axis=0) for i in range(len(per_step[0]))]
    return _unflatten(ys[0], iter(stacked))


# ------------------------------------------------------------------------------------------
# TensorFlow
# ------------------------------------------------------------------------------------------


def _scan_tf(f: Callable[..., Any], init: Any, xs: Any, length: int | None) -> Any:
    tf = sys.modules["tensorflow"]
    x_leaves = [tf.convert_to_tensor(a) for a in _leaves(xs)]
    if x_leaves:
        n_static = x_leaves[0].shape[0]
        n = n_static if n_static is not None else tf.shape(x_leaves[0])[0]
    else:
        n_static = n = int(length or 0)
    if n_static == 0:
        return init, None
    in_tas = [
        tf.TensorArray(a.dtype, size=n, element_shape=a.shape[1:], infer_shape=True).unstack(a)
        for a in x_leaves
    ]

    def read(i: Any) -> Any:
        return _unflatten(xs, iter([ta.read(i) for ta in in_tas])) if x_leaves else None

    # The structure and dtypes of y are known only once f has run: peel the first step.
    carry, y0 = f(init, read(0))
    y_leaves = _leaves(y0)
    out_tas = [
        tf.TensorArray(y.dtype, size=n, element_shape=y.shape, infer_shape=True).write(0, y)
        for y in y_leaves
    ]

    def cond(i: Any, *_: Any) -> Any:
        return i < n

    def body(i: Any, c_leaves: Any, tas: Any) -> Any:
        c, y = f(_unflatten(carry, iter(c_leaves)), read(i))
        tas = [ta.write(i, v) for ta, v in zip(tas, _leaves(y), strict=True)]
        return i + 1, _leaves(c), tas

    # ``maximum_iterations`` lets XLA (jit_compile=True) size the gradient's accumulators.
    _, c_final, tas = tf.while_loop(
        cond, body, (tf.constant(1), _leaves(carry), out_tas), maximum_iterations=n - 1
    )
    carry = _unflatten(carry, iter(c_final))
    if not y_leaves:
        return carry, None
    return carry, _unflatten(y0, iter([ta.stack() for ta in tas]))


_TF_EAGER_LOOP: Any = None


def _tf_eager_loop() -> Any:
    """One ``tf.function`` for every eager loop; ``f`` is a Python argument, so part of the key.

    ``reduce_retracing``: after a second shape TF traces a shape-generic version, so varying
    lengths do not trace once per batch.
    """
    global _TF_EAGER_LOOP
    if _TF_EAGER_LOOP is None:
        tf = sys.modules["tensorflow"]

        def loop(f: Any, folding: bool, init: Any, xs: Any, consts: Any, length: Any) -> Any:
            return _scan_tf(_Step(f, consts, folding), init, xs, length)

        _TF_EAGER_LOOP = tf.function(
            tf.autograph.experimental.do_not_convert(loop), reduce_retracing=True
        )
    return _TF_EAGER_LOOP


# ------------------------------------------------------------------------------------------
# torch.compile: the loop as one custom operator
# ------------------------------------------------------------------------------------------


def _flat(tree: Any) -> bool:
    """An array, or a tuple of arrays (what the operator's flag can describe)."""
    return not isinstance(tree, (tuple, list)) or (
        isinstance(tree, tuple) and all(not isinstance(t, (tuple, list)) for t in tree)
    )


def _as_list(tree: Any) -> list[Any]:
    return list(tree) if isinstance(tree, tuple) else [tree]


def _flags(init: Any, xs: Any, consts: Any) -> int:
    return sum(int(isinstance(t, tuple)) << i for i, t in enumerate((init, xs, consts)))


def _rebuild(flags: int, i: int, leaves: list[Any]) -> Any:
    return tuple(leaves) if flags >> i & 1 else leaves[0]


def _resolve(name: str) -> Callable[..., Any]:
    module, _, qualname = name.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _run_flat(
    name: str, flags: int, init: list[Any], xs: list[Any], consts: list[Any]
) -> list[Any]:
    f = _resolve(name)
    carry, _ = _scan_python(
        _Step(f, _rebuild(flags, 2, consts), True),
        _rebuild(flags, 0, init),
        _rebuild(flags, 1, xs),
        None,
    )
    return _as_list(carry)


def _scan_torch_op(f: Callable[..., Any], init: Any, xs: Any, consts: Any) -> Any:
    torch = sys.modules["torch"]
    name = _body_name(f)
    out = torch.ops.lossbridge.scan(
        name, _flags(init, xs, consts), _as_list(init), _as_list(xs), _as_list(consts)
    )
    return _rebuild(_flags(init, xs, consts), 0, list(out))


_TORCH_OPS_READY = False


def _ensure_torch_ops() -> bool:
    """Register ``lossbridge::scan`` and its backward once; True when they exist.

    Under ``torch.compile`` this runs as a constant at trace time (the mark below is what
    ``torch.compiler.assume_constant_result`` sets; set by hand so that defining it needs no
    torch import), because Dynamo cannot trace an operator's registration.
    """
    global _TORCH_OPS_READY
    if not _TORCH_OPS_READY:
        _register_torch_ops(sys.modules["torch"])
        _TORCH_OPS_READY = True
    return True


_ensure_torch_ops._dynamo_marked_constant = True  # type: ignore[attr-defined]


def _register_torch_ops(torch: Any) -> None:
    Tensor = Any

    def no_alias(out: list[Any], inputs: list[Any]) -> list[Any]:
        ids = {id(t) for t in inputs}
        return [o.clone() if id(o) in ids else o for o in out]

    # Explicit schemas: this module's annotations are strings (``from __future__``).
    @torch.library.custom_op(
        "lossbridge::scan",
        mutates_args=(),
        schema="(str body, int flags, Tensor[] init, Tensor[] xs, Tensor[] consts) -> Tensor[]",
    )
    def scan_op(
        body: str, flags: int, init: list[Tensor], xs: list[Tensor], consts: list[Tensor]
    ) -> list[Tensor]:
        with torch.no_grad():
            out = _run_flat(body, flags, init, xs, consts)
        return no_alias(out, [*init, *xs, *consts])

    @scan_op.register_fake
    def _(body, flags, init, xs, consts):  # type: ignore[no-untyped-def]
        return [torch.empty_like(t) for t in init]

    @torch.library.custom_op(
        "lossbridge::scan_backward",
        mutates_args=(),
        schema="(str body, int flags, Tensor[] init, Tensor[] xs, Tensor[] consts, "
        "Tensor[] grads) -> Tensor[]",
    )
    def scan_backward(
        body: str,
        flags: int,
        init: list[Tensor],
        xs: list[Tensor],
        consts: list[Tensor],
        grads: list[Tensor],
    ) -> list[Tensor]:
        """Gradients of the floating inputs (init, xs, consts order): the loop re-run.

        ``torch.func.vjp``, not ``torch.autograd.grad``: an operator's implementation runs
        below the autograd dispatch key, where tensors record no graph even under
        ``enable_grad``; the functorch transform works there.
        """
        leaves = [*init, *xs, *consts]
        n0, n1 = len(init), len(init) + len(xs)
        where = [i for i, t in enumerate(leaves) if t.is_floating_point()]

        def run(*diff: Any) -> tuple[Any, ...]:
            full = list(leaves)
            for i, d in zip(where, diff, strict=True):
                full[i] = d
            return tuple(_run_flat(body, flags, full[:n0], full[n0:n1], full[n1:]))

        _, vjp = torch.func.vjp(run, *(leaves[i] for i in where))
        return no_alias(list(vjp(tuple(grads))), [*leaves, *grads])

    @scan_backward.register_fake
    def _(body, flags, init, xs, consts, grads):  # type: ignore[no-untyped-def]
        return [torch.empty_like(t) for t in (*init, *xs, *consts) if t.is_floating_point()]

    def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
        body, flags, init, xs, consts = inputs
        ctx.body, ctx.flags = body, flags
        ctx.sizes = (len(init), len(xs))
        ctx.save_for_backward(*init, *xs, *consts)

    def backward(ctx: Any, grads: Any) -> Any:
        saved = list(ctx.saved_tensors)
        n0, n1 = ctx.sizes[0], ctx.sizes[0] + ctx.sizes[1]
        init, xs, consts = saved[:n0], saved[n0:n1], saved[n1:]
        grads = [torch.zeros_like(o) if g is None else g for o, g in zip(init, grads, strict=True)]
        got = iter(scan_backward(ctx.body, ctx.flags, init, xs, consts, grads))
        per = [next(got) if t.is_floating_point() else None for t in saved]
        return None, None, per[:n0], per[n0:n1], per[n1:]

    scan_op.register_autograd(backward, setup_context=setup_context)
