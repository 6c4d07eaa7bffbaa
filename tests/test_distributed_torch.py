"""``lossbridge.distributed.torch_group`` on a real ``torch.distributed`` gloo world.

Each test starts 2 or 4 processes (``tests/_engines.py``: ``torch.multiprocessing`` spawn,
gloo on 127.0.0.1) and compares what the ranks computed with the single-process full batch,
computed here in float64 with torch's own ops (``torch.nn.functional``, autograd) or plain
NumPy formulas -- never with lossbridge's distributed output:

* the collectives: ``all_gather`` and ``shift`` values and gradients against the formula of the
  objective they build, ``all_sum`` with no gradient;
* a DDP training step (``DistributedDataParallel`` over a ``Linear`` model, ``cross_entropy``
  with class weights and ``ignore_index``, uneven local batches, one rank whose targets are all
  ignored): the ranks' shares add up to ``F.cross_entropy`` of the full batch and the
  DDP-averaged gradients of ``world_size * share`` equal its gradients, as do the parameters
  after one SGD step (1e-12);
* the same step under FSDP (FSDP2's ``fully_shard`` on a CPU device mesh): its reduce-scatter
  also divides by ``world_size``, so the same recipe holds (the gradients and parameters are
  sharded DTensors, gathered with ``full_tensor()``);
* ``ctc_loss`` with per-sample target-length normalisation, uneven shards of the batch axis;
* the docstring example of ``torch_group`` (a world of one), run as written.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch.distributed")
if not torch.distributed.is_available():  # pragma: no cover - torch built without distributed
    pytest.skip("torch.distributed is not available", allow_module_level=True)

import torch.nn.functional as F  # noqa: E402
from _engines import LAST, docstring_examples, run_source, run_torch_world  # noqa: E402

import lossbridge.distributed as lbd  # noqa: E402

RTOL = 1e-12
WORLDS = [2, 4]


def _close(got, expected, rtol=RTOL, atol=1e-15, what=""):
    np.testing.assert_allclose(
        np.asarray(got), np.asarray(expected), rtol=rtol, atol=atol, err_msg=what
    )


def _record(request, world_size):
    """The world's wall times, kept on the test item and shown with pytest -s."""
    t = LAST["torch"]
    line = f"world {world_size}: total {t['total']:.2f} s, step {max(t['run']):.3f} s"
    request.node.user_properties.append(("timing", line))
    print(f"\ntorch {request.node.name} timing: {line}")


# ------------------------------------------------------------------------------------------
# The collectives
# ------------------------------------------------------------------------------------------


def _collectives(rank, world_size, xs, ws, vs, reduce_scatter=True):
    """Rank ``rank``'s objective: sum(w * all_gather(x)) + sum(v * shift(x, 1)) + shift(x, -1).

    ``reduce_scatter=False``: all_gather's backward by the all-reduce of backends without
    ``reduce_scatter_tensor``.
    """
    group = lbd.torch_group()
    assert group._reduce_scatter  # gloo has it
    group._reduce_scatter = reduce_scatter
    x = torch.tensor(xs[rank], requires_grad=True)
    gathered = group.all_gather(x)
    ahead, behind = group.shift(x), group.shift(x, offset=-1)
    objective = (
        (torch.tensor(ws[rank]) * gathered).sum()
        + (torch.tensor(vs[rank]) * ahead).sum()
        + (ahead * behind).sum()
    )
    objective.backward()
    count = group.all_sum((x * 2).sum())
    return {
        "rank": group.rank,
        "world_size": group.world_size,
        "gathered": gathered,
        "ahead": ahead,
        "behind": behind,
        "grad": x.grad,
        "count": count,
        "count_requires_grad": count.requires_grad,
        "shift_zero_is_x": group.shift(x, offset=world_size) is x,
    }


@pytest.mark.parametrize(
    "world_size, reduce_scatter", [(2, True), (4, True), (4, False)], ids=["2", "4", "4-allreduce"]
)
def test_all_gather_shift_all_sum_values_and_gradients(world_size, reduce_scatter, request):
    rng = np.random.default_rng(world_size)
    xs = rng.standard_normal((world_size, 3, 2))
    ws = rng.standard_normal((world_size, 3 * world_size, 2))
    vs = rng.standard_normal((world_size, 3, 2))
    out = run_torch_world(_collectives, world_size=world_size, args=(xs, ws, vs, reduce_scatter))
    _record(request, world_size)
    full = np.concatenate(list(xs))
    # d/dx_r of sum_m [w_m . gather + v_m . x_{m-1} + x_{m-1} . x_{m+1}]:
    #   sum_m w_m[rows of r] + v_{r+1} + x_{r+2} + x_{r-2}
    for r, res in enumerate(out):
        assert (res["rank"], res["world_size"]) == (r, world_size)
        _close(res["gathered"], full)
        _close(res["ahead"], xs[(r - 1) % world_size])
        _close(res["behind"], xs[(r + 1) % world_size])
        expected = (
            ws[:, 3 * r : 3 * r + 3].sum(axis=0)
            + vs[(r + 1) % world_size]
            + xs[(r + 2) % world_size]
            + xs[(r - 2) % world_size]
        )
        _close(res["grad"], expected, what=f"rank {r}")
        _close(res["count"], 2 * xs.sum())
        assert not res["count_requires_grad"]
        assert res["shift_zero_is_x"]


def test_torch_group_errors():
    """Outside an initialised world, and for bad arguments, the errors name the call."""
    if not torch.distributed.is_initialized():
        with pytest.raises(RuntimeError, match="torch_group: torch.distributed is not initial"):
            lbd.torch_group()
    out = run_torch_world(source=_ERRORS, world_size=2)
    assert out[0] == [
        "torch_group.shift: offset must be an int; got 1.5",
        "torch_group.all_gather: expected an array with a batch axis (ndim >= 1); got a 0-d one",
        "torch_group.all_sum: expected a torch.Tensor; got float",
    ]


_ERRORS = """
import torch
import lossbridge.distributed as lbd

def main(rank, world_size):
    group = lbd.torch_group()
    messages = []
    for call in (lambda: group.shift(torch.ones(2), 1.5),
                 lambda: group.all_gather(torch.tensor(1.0)),
                 lambda: group.all_sum(3.0)):
        try:
            call()
        except (TypeError, ValueError) as error:
            messages.append(str(error))
    return messages
"""


# ------------------------------------------------------------------------------------------
# DDP: one training step equals the single-process full batch
# ------------------------------------------------------------------------------------------

IGNORE = -100
N_IN, N_CLASSES = 5, 4
CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])
#: local batch sizes per world: uneven, and in each world one rank's targets all ignored
SIZES = {2: [7, 3], 4: [5, 3, 4, 2]}
ALL_IGNORED = {2: 1, 4: 2}
LR = 0.1


def _data_parallel_step(rank, world_size, params, xs, ts, engine="ddp"):
    """One data-parallel step on this rank's shard; recipe: global denominator, loss x world_size.

    ``engine``: ``"ddp"`` (``DistributedDataParallel``: all-reduce, divided by world_size) or
    ``"fsdp"`` (FSDP2's ``fully_shard`` on a CPU mesh: reduce-scatter, divided by world_size;
    parameters and gradients are DTensor shards, returned here whole with ``full_tensor()``).
    """
    import lossbridge

    model = torch.nn.Linear(N_IN, N_CLASSES).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor(params["weight"]))
        model.bias.copy_(torch.tensor(params["bias"]))
    if engine == "ddp":
        wrapped = torch.nn.parallel.DistributedDataParallel(model)

        def whole(t):
            return t
    else:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard

        wrapped = fully_shard(model, mesh=init_device_mesh("cpu", (world_size,)))

        def whole(t):
            return t.full_tensor()  # a collective: every rank, same order

    optimizer = torch.optim.SGD(wrapped.parameters(), lr=LR)
    group = lbd.torch_group()
    x, t = torch.tensor(xs[rank]), torch.tensor(ts[rank])
    weight = torch.tensor(CLASS_WEIGHT)
    kwargs = {"weight": weight, "ignore_index": IGNORE}

    def share_of_rank():
        logits = wrapped(x)
        denominator = lbd.global_denominator(
            lossbridge.cross_entropy, logits, t, group=group, **kwargs
        )
        return lossbridge.cross_entropy(logits, t, denominator=denominator, **kwargs), denominator

    share, _ = share_of_rank()
    share.backward()  # without the factor: the engine's average, 1/world_size of the gradient
    averaged = {name: whole(p.grad).clone() for name, p in model.named_parameters()}
    optimizer.zero_grad()
    share, denominator = share_of_rank()
    (share * group.world_size).backward()  # the recipe: x world_size
    grads = {name: whole(p.grad).clone() for name, p in model.named_parameters()}
    optimizer.step()
    return {
        "share": share.detach(),
        "denominator": denominator,
        "grads": grads,
        "averaged": averaged,
        "updated": {name: whole(p.detach()).clone() for name, p in model.named_parameters()},
    }


def _ddp_data(world_size):
    rng = np.random.default_rng(100 + world_size)
    params = {
        "weight": rng.standard_normal((N_CLASSES, N_IN)),
        "bias": rng.standard_normal(N_CLASSES),
    }
    xs, ts = [], []
    for r, n in enumerate(SIZES[world_size]):
        xs.append(rng.standard_normal((n, N_IN)) * 2)
        t = rng.integers(0, N_CLASSES, n)
        t[rng.random(n) < 0.3] = IGNORE
        if r == ALL_IGNORED[world_size]:
            t[:] = IGNORE
        ts.append(t)
    return params, xs, ts


def _check_step_equals_full_batch(out, world_size, params, xs, ts):
    """The ranks' results of :func:`_data_parallel_step` against the single-process full batch."""
    # the single-process full batch, float64, torch's own cross_entropy and autograd
    weight = torch.tensor(params["weight"], requires_grad=True)
    bias = torch.tensor(params["bias"], requires_grad=True)
    x, t = torch.tensor(np.concatenate(xs)), torch.tensor(np.concatenate(ts))
    full = F.cross_entropy(
        x @ weight.T + bias, t, weight=torch.tensor(CLASS_WEIGHT), ignore_index=IGNORE
    )
    full.backward()
    expected_grads = {"weight": weight.grad.numpy(), "bias": bias.grad.numpy()}
    kept = t != IGNORE
    expected_count = torch.tensor(CLASS_WEIGHT)[t[kept]].sum().item()

    _close(sum(float(r["share"]) for r in out), full.item(), what="sum of the shares")
    assert float(out[ALL_IGNORED[world_size]]["share"]) == 0.0
    for r, res in enumerate(out):
        _close(res["denominator"], expected_count, what=f"rank {r} denominator")
        for name, g in expected_grads.items():
            _close(res["grads"][name], g, what=f"rank {r} grad {name}")
            _close(res["averaged"][name], g / world_size, what=f"rank {r} DDP's average")
            _close(res["updated"][name], params[name] - LR * g, what=f"rank {r} step {name}")


@pytest.mark.parametrize("world_size", WORLDS)
def test_ddp_training_step_equals_full_batch(world_size, request):
    params, xs, ts = _ddp_data(world_size)
    out = run_torch_world(_data_parallel_step, world_size=world_size, args=(params, xs, ts))
    _record(request, world_size)
    _check_step_equals_full_batch(out, world_size, params, xs, ts)


# ------------------------------------------------------------------------------------------
# CTC: the per-sample target-length normalisation across uneven shards
# ------------------------------------------------------------------------------------------

T_CTC, C_CTC, S_CTC = 12, 5, 4
CTC_SIZES = {2: [3, 2], 4: [2, 1, 3, 2]}


def _ctc_share(rank, world_size, logits, targets, input_lengths, target_lengths):
    import lossbridge

    group = lbd.torch_group()
    z = torch.tensor(logits[rank], requires_grad=True)  # (T, n_r, C): batch on axis 1
    lp = torch.log_softmax(z, dim=2)
    args = (
        lp,
        torch.tensor(targets[rank]),
        torch.tensor(input_lengths[rank]),
        torch.tensor(target_lengths[rank]),
    )
    denominator = lbd.global_denominator(lossbridge.ctc_loss, *args, group=group)
    share = lossbridge.ctc_loss(*args, denominator=denominator)
    share.backward()
    return {"share": share.detach(), "grad": z.grad, "denominator": denominator}


@pytest.mark.parametrize("world_size", WORLDS)
def test_ctc_shares_equal_full_batch(world_size, request):
    rng = np.random.default_rng(7 + world_size)
    sizes = CTC_SIZES[world_size]
    n = sum(sizes)
    logits = rng.standard_normal((T_CTC, n, C_CTC))
    target_lengths = rng.integers(1, S_CTC + 1, n)
    input_lengths = rng.integers(S_CTC * 2 + 1, T_CTC + 1, n)
    targets = rng.integers(1, C_CTC, (n, S_CTC))
    cuts = np.cumsum([0, *sizes])
    shard = [slice(a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    out = run_torch_world(
        _ctc_share,
        world_size=world_size,
        args=(
            [logits[:, s] for s in shard],
            [targets[s] for s in shard],
            [input_lengths[s] for s in shard],
            [target_lengths[s] for s in shard],
        ),
    )
    _record(request, world_size)
    # the gradient w.r.t. the logits: torch's CTC backward w.r.t. log_probs assumes they are
    # normalised (it differs from the true gradient by softmax * g, which log_softmax cancels)
    z = torch.tensor(logits, requires_grad=True)
    full = F.ctc_loss(
        torch.log_softmax(z, dim=2),
        torch.tensor(targets),
        torch.tensor(input_lengths),
        torch.tensor(target_lengths),
        reduction="mean",
    )
    full.backward()
    _close(sum(float(r["share"]) for r in out), full.item(), what="sum of the shares")
    # the alpha-beta recursions add in another order than torch's kernel: the gradient's
    # entries are differences (softmax - occupancy) of O(1) terms, so the error is absolute
    _close(
        np.concatenate([r["grad"] for r in out], axis=1),
        z.grad.numpy(),
        rtol=1e-10,
        atol=1e-13,
        what="gradient",
    )
    for r in out:
        _close(r["denominator"], n)


# ------------------------------------------------------------------------------------------
# The docstring example, as written (SKIP marks only keep it out of the NumPy-only doctests)
# ------------------------------------------------------------------------------------------


def test_torch_group_docstring_example_runs():
    res = run_source(
        "from _engines import run_doctest\nresult = run_doctest(inputs['doc'])",
        inputs={"doc": docstring_examples(lbd.torch_group)},
        timeout=60,
        label="torch-doctest",
    )
    assert res["failed"] == 0 and res["tried"] > 5, res["report"]


# ------------------------------------------------------------------------------------------
# FSDP: the same step under FSDP2 (fully_shard), whose reduce-scatter divides by world_size
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("world_size", WORLDS)
def test_fsdp_training_step_equals_full_batch(world_size, request):
    """FSDP2 averages like DDP (``foreach_reduce``: ReduceOp.AVG, or SUM then / world_size for
    float64): the same recipe, loss x world_size, gives the full-batch gradients and step."""
    params, xs, ts = _ddp_data(world_size)
    out = run_torch_world(
        _data_parallel_step, world_size=world_size, args=(params, xs, ts, "fsdp"), timeout=120
    )
    _record(request, world_size)
    _check_step_equals_full_batch(out, world_size, params, xs, ts)
