"""Memory: bytes torch saves for backward, XLA's temporary buffers, and the one-hot check.

* **torch saved bytes.** Inside ``torch.autograd.graph.saved_tensors_hooks`` every tensor
  autograd saves for the backward pass goes through the pack hook; the sum of the sizes of the
  unique storages among them, leaving out the storages of the call's arguments (they live
  anyway), is what the forward keeps alive until backward. Ours against ``torch.nn.functional``.
* **XLA temporaries.** ``jax.jit(f).lower(*args).compile().memory_analysis()
  .temp_size_in_bytes`` of the forward and of ``jax.value_and_grad``, ours against optax (or the
  plain ``jnp`` reference where optax lacks the loss).
* **One-hot.** Every aten operation of ours' forward is recorded (``TorchDispatchMode``); an
  ``N x C`` output that is not floating, or comes from ``one_hot``/``scatter``/``eq``/
  ``index_put``, would be a one-hot; the row lists the ``N x C`` outputs and says whether any
  is one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.cases import LOSS_KWARGS, LOSS_SHAPES, make_data

__all__ = ["MEMORY_LOSSES", "jax_temp_bytes", "memory_report", "onehot_check", "torch_saved_bytes"]

#: The headline losses at their large shape.
MEMORY_LOSSES = (
    "cross_entropy",
    "binary_cross_entropy_with_logits",
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "kl_div",
    "nll_loss",
)


#: Losses with class-index targets, where a one-hot would be an implementation choice.
INDEX_LOSSES = ("cross_entropy", "nll_loss")


def _large(loss: str) -> tuple[int, int]:
    return max(LOSS_SHAPES[loss], key=lambda s: s[0] * s[1])


def _torch_fns(loss: str) -> tuple[Any, Any]:
    import torch.nn.functional as F

    import lossbridge as lb

    kw = LOSS_KWARGS.get(loss, {})
    ours, native = getattr(lb, loss), getattr(F, loss)
    return (lambda x, y: ours(x, y, **kw)), (lambda x, y: native(x, y, **kw))


def torch_saved_bytes(fn: Any, x: Any, y: Any) -> int:
    """Bytes of the unique storages autograd saves in ``fn(x, y)``, the arguments' left out."""
    import torch

    seen: dict[int, int] = {}
    skip = {x.untyped_storage().data_ptr(), y.untyped_storage().data_ptr()}

    def pack(t: Any) -> Any:
        st = t.untyped_storage()
        ptr = st.data_ptr()
        if ptr not in skip and ptr != 0:
            seen[ptr] = max(seen.get(ptr, 0), st.nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(x, y)
    torch.autograd.grad(out, x)
    return sum(seen.values())


def onehot_check(fn: Any, x: Any, y: Any, n: int, c: int) -> tuple[bool, list[str]]:
    """Whether ``fn``'s forward builds an N x C one-hot, and the N x C outputs it makes."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    big: list[str] = []
    suspicious = ("one_hot", "scatter", "eq", "index_put", "ne")

    class Rec(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
            out = func(*args, **(kwargs or {}))
            outs = out if isinstance(out, (tuple, list)) else (out,)
            for o in outs:
                if isinstance(o, torch.Tensor) and o.numel() == n * c:
                    big.append(f"{func.__name__}:{str(o.dtype).replace('torch.', '')}")
            return out

    with Rec():
        fn(x, y)
    onehot = any(
        not b.split(":")[1].startswith(("float", "bfloat")) or b.split(".")[0] in suspicious
        for b in big
    )
    return onehot, big


def jax_temp_bytes(loss: str, shape: tuple[int, int] | None = None) -> dict[str, int]:
    """XLA temporary bytes of ours and native, forward and value-and-grad."""
    import jax

    shape = shape or _large(loss)
    x_np, y_np = make_data(loss, shape)
    if y_np.dtype == np.int64:
        y_np = y_np.astype(np.int32)
    natives = _jax_natives()
    import lossbridge as lb

    kw = LOSS_KWARGS.get(loss, {})
    fn = getattr(lb, loss)

    def ours(x: Any, y: Any) -> Any:
        return fn(x, y, **kw)

    native = natives[loss]
    out = {}
    for side, f in (("ours", ours), ("native", native)):
        for name, g in (("fwd", f), ("fwd+bwd", jax.value_and_grad(f))):
            comp = jax.jit(g).lower(x_np, y_np).compile()
            out[f"{side} {name}"] = int(comp.memory_analysis().temp_size_in_bytes)
    return out


def _jax_natives() -> dict[str, Any]:
    import jax.numpy as jnp
    import optax

    return {
        "cross_entropy": lambda x, y: optax.softmax_cross_entropy_with_integer_labels(x, y).mean(),
        "binary_cross_entropy_with_logits": lambda x, y: optax.sigmoid_binary_cross_entropy(
            x, y
        ).mean(),
        "mse_loss": lambda x, y: optax.squared_error(x, y).mean(),
        "l1_loss": lambda x, y: jnp.mean(jnp.abs(x - y)),
        "huber_loss": lambda x, y: optax.huber_loss(x, y, delta=1.0).mean(),
        "kl_div": lambda x, y: optax.kl_divergence(x, y).mean(),
        "nll_loss": lambda x, y: -jnp.mean(jnp.take_along_axis(x, y[:, None], axis=1)),
    }


def memory_report(frameworks: set[str]) -> tuple[str, list[dict[str, Any]]]:
    """The memory section: text table and JSON records."""
    lines = []
    records: list[dict[str, Any]] = []
    if "torch" in frameworks:
        import torch

        lines.append("torch: bytes saved for backward (unique storages, arguments left out)")
        lines.append(
            f"{'loss':<34} {'shape':<10} {'ours MB':>9} {'native MB':>9} {'ratio':>6}  "
            "one-hot  N x C outputs of ours' forward (index-target losses)"
        )
        for loss in MEMORY_LOSSES:
            shape = _large(loss)
            x_np, y_np = make_data(loss, shape)
            ours, native = _torch_fns(loss)
            x = torch.from_numpy(x_np).requires_grad_(True)
            y = torch.from_numpy(y_np)
            try:
                so = torch_saved_bytes(ours, x, y)
                sn = torch_saved_bytes(native, x, y)
                if loss in INDEX_LOSSES:
                    oh, big = onehot_check(ours, x.detach(), y, *shape)
                else:  # elementwise: every intermediate is N x C by nature
                    oh, big = None, []
            except Exception as exc:  # a failing row is reported, the section goes on
                lines.append(f"{loss:<34} ERROR {type(exc).__name__}: {exc}")
                continue
            ratio = so / sn if sn else float("inf") if so else 1.0
            lines.append(
                f"{loss:<34} {'x'.join(map(str, shape)):<10} {so / 1e6:9.3f} {sn / 1e6:9.3f} "
                f"{ratio:6.2f}  {'n/a' if oh is None else 'YES' if oh else 'no':<7}  "
                f"{', '.join(big) or '-'}"
            )
            records.append(
                {
                    "kind": "torch_saved_bytes",
                    "loss": loss,
                    "shape": shape,
                    "ours": so,
                    "native": sn,
                    "onehot": oh,
                    "nc_outputs": big,
                }
            )
    if "jax" in frameworks:
        lines.append("")
        lines.append("XLA temporary bytes (jax.jit ... memory_analysis().temp_size_in_bytes)")
        lines.append(
            f"{'loss':<34} {'shape':<10} {'fwd ours':>10} {'native':>10} {'bwd ours':>10} "
            f"{'native':>10}  (MB)"
        )
        for loss in MEMORY_LOSSES:
            try:
                t = jax_temp_bytes(loss)
            except Exception as exc:
                lines.append(f"{loss:<34} ERROR {type(exc).__name__}: {exc}")
                continue
            lines.append(
                f"{loss:<34} {'x'.join(map(str, _large(loss))):<10} "
                f"{t['ours fwd'] / 1e6:10.2f} {t['native fwd'] / 1e6:10.2f} "
                f"{t['ours fwd+bwd'] / 1e6:10.2f} {t['native fwd+bwd'] / 1e6:10.2f}"
            )
            records.append({"kind": "xla_temp_bytes", "loss": loss, "shape": _large(loss), **t})
    return "\n".join(lines), records
