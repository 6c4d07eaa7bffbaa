"""``lossbridge.distributed.jax_axis`` on a real 4-device JAX CPU mesh.

One fresh interpreter with ``XLA_FLAGS=--xla_force_host_platform_device_count=4``
(``tests/_engines.py``) computes everything below; the tests compare it with float64 NumPy
formulas written here (weighted cross-entropy with ``ignore_index`` and its gradient):

* the collectives inside ``jax.shard_map``: ``all_gather``, ``shift`` (both directions) and
  ``all_sum`` values, and the gradient of an objective built from them; ``rank``; ``pmap``;
* the recipe under ``shard_map``: uneven shards padded to equal shapes with ignored targets
  (``shard_map`` needs equal shapes; an ignored target adds nothing to the numerator or the
  count), one member holding no real row; ``psum`` of the members' shares and its gradient with
  respect to replicated parameters equal the full batch's; ``pmean`` times ``world_size`` too;
* ``jax.jit`` with batch-sharded inputs: the plain loss (no group) on the global array;
* ``jax.pmap`` with ``psum`` of the shares and of the per-device gradients;
* the docstring examples of ``jax_axis`` and ``global_denominator``, as written.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("jax")

from _engines import LAST, docstring_examples, run_jax_mesh  # noqa: E402

import lossbridge.distributed as lbd  # noqa: E402

RTOL = 1e-12
DEVICES = 4
IGNORE = -100
N_IN, N_CLASSES = 5, 4
CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])
#: the members' real rows: uneven, member 2 has none; each shard is padded to ROWS rows
REAL = [5, 3, 0, 4]
ROWS = 5

SCRIPT = """
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

import lossbridge
import lossbridge.distributed as lbd

mesh = Mesh(np.array(jax.devices()), ("batch",))
W = len(jax.devices())
out = {}

# --- the collectives ---------------------------------------------------------------------
xs, ws, vs = (jnp.asarray(inputs[k]) for k in ("xs", "ws", "vs"))

def collectives(x, w, v):
    group = lbd.jax_axis("batch")
    gathered = group.all_gather(x)
    ahead, behind = group.shift(x), group.shift(x, offset=-1)
    objective = (w[0] * gathered).sum() + (v * ahead).sum() + (ahead * behind).sum()
    count = group.all_sum((x * 2).sum())
    return (jax.lax.psum(objective, "batch"), gathered[None], ahead, behind, count,
            group.rank[None], jnp.full((1,), group.world_size))

specs = (P(), P("batch"), P("batch"), P("batch"), P(), P("batch"), P("batch"))
mapped = jax.shard_map(collectives, mesh=mesh, in_specs=(P("batch"), P("batch"), P("batch")),
                       out_specs=specs)
res = mapped(xs, ws, vs)
out["collectives"] = dict(zip(["objective", "gathered", "ahead", "behind", "count", "rank",
                               "world_size"], res))
out["collectives"]["grad"] = jax.grad(lambda x: mapped(x, ws, vs)[0])(xs)
out["collectives"]["count_grad"] = jax.grad(lambda x: mapped(x, ws, vs)[4])(xs)
out["collectives"]["pmap_shift"] = jax.pmap(
    lambda x: lbd.jax_axis("p").shift(x), axis_name="p")(xs.reshape(W, -1, xs.shape[1]))

# --- the recipe under shard_map, uneven shards padded with ignored targets -----------------
x, t = jnp.asarray(inputs["x_padded"]), jnp.asarray(inputs["t_padded"])
params = {"w": jnp.asarray(inputs["w"]), "b": jnp.asarray(inputs["b"])}
kw = {"weight": jnp.asarray(inputs["class_weight"]), "ignore_index": inputs["ignore"]}

def member(params, x, t):
    group = lbd.jax_axis("batch")
    logits = x @ params["w"] + params["b"]
    count = lbd.global_denominator(lossbridge.cross_entropy, logits, t, group=group, **kw)
    share = lossbridge.cross_entropy(logits, t, denominator=count, **kw)
    return jax.lax.psum(share, "batch"), jax.lax.pmean(share, "batch") * group.world_size, count

sharded = jax.shard_map(member, mesh=mesh, in_specs=(P(), P("batch"), P("batch")),
                        out_specs=(P(), P(), P()))
step = jax.jit(jax.value_and_grad(lambda p: sharded(p, x, t)[0]))
value, grads = step(params)
pmean_value, pmean_grads = jax.value_and_grad(lambda p: sharded(p, x, t)[1])(params)
out["shard_map"] = {"value": value, "grads": grads, "count": sharded(params, x, t)[2],
                    "pmean_value": pmean_value, "pmean_grads": pmean_grads}

# --- jit with batch-sharded inputs: the plain loss on the global array ---------------------
batch = NamedSharding(mesh, P("batch"))
xg, tg = jax.device_put(x, batch), jax.device_put(t, batch)
plain = jax.jit(jax.value_and_grad(
    lambda p, x, t: lossbridge.cross_entropy(x @ p["w"] + p["b"], t, **kw)))
value, grads = plain(params, xg, tg)
out["jit"] = {"value": value, "grads": grads, "devices": len(xg.sharding.device_set)}

# --- pmap: per-device shares and gradients, psum'd -----------------------------------------
def pmap_member(params, x, t):
    group = lbd.jax_axis("devices")
    def share(params):
        logits = x @ params["w"] + params["b"]
        count = lbd.global_denominator(lossbridge.cross_entropy, logits, t, group=group, **kw)
        return lossbridge.cross_entropy(logits, t, denominator=count, **kw)
    value, grads = jax.value_and_grad(share)(params)
    return jax.lax.psum(value, "devices"), jax.lax.psum(grads, "devices")

value, grads = jax.pmap(pmap_member, axis_name="devices", in_axes=(None, 0, 0))(
    params, x.reshape(W, -1, x.shape[1]), t.reshape(W, -1))
out["pmap"] = {"value": value, "grads": grads}

# --- the docstring examples, as written ----------------------------------------------------
from _engines import run_doctest
out["doctests"] = {name: run_doctest(doc) for name, doc in inputs["docs"].items()}
result = out
"""


def _weighted_ce(x, t, w, b):
    """Weighted cross-entropy with ignore_index (torch's 'mean') and its gradients, float64."""
    kept = t != IGNORE
    x, t = x[kept], t[kept]
    z = x @ w + b
    m = z.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
    cw = CLASS_WEIGHT[t]
    denominator = cw.sum()
    value = (cw * (lse - z[np.arange(len(t)), t])).sum() / denominator
    dz = cw[:, None] * (np.exp(z - lse[:, None]) - np.eye(N_CLASSES)[t]) / denominator
    return value, {"w": x.T @ dz, "b": dz.sum(axis=0)}, denominator


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(16)
    x = np.zeros((DEVICES * ROWS, N_IN))
    t = np.full(DEVICES * ROWS, IGNORE)
    for member, n in enumerate(REAL):
        rows = slice(member * ROWS, member * ROWS + n)
        x[rows] = rng.standard_normal((n, N_IN)) * 2
        t[rows] = rng.integers(0, N_CLASSES, n)
    t[1] = IGNORE  # an ignored target among the real rows too
    return {
        "xs": rng.standard_normal((DEVICES * 3, 2)),
        "ws": rng.standard_normal((DEVICES, DEVICES * 3, 2)),
        "vs": rng.standard_normal((DEVICES * 3, 2)),
        "x_padded": x,
        "t_padded": t,
        "w": rng.standard_normal((N_IN, N_CLASSES)),
        "b": rng.standard_normal(N_CLASSES),
        "class_weight": CLASS_WEIGHT,
        "ignore": IGNORE,
        "docs": {
            "jax_axis": docstring_examples(lbd.jax_axis),
            "global_denominator": docstring_examples(lbd.global_denominator),
        },
    }


@pytest.fixture(scope="module")
def mesh_results(data):
    """Everything computed on the 4-device mesh, in one interpreter (start-up once)."""
    res = run_jax_mesh(SCRIPT, devices=DEVICES, inputs=data, timeout=180)
    res["timing"] = dict(LAST["jax"])
    print(f"\njax engine timing: {res['timing']}")  # shown with pytest -s
    return res


@pytest.fixture(scope="module")
def expected(data):
    """The full batch: the real rows only (the padding never enters the formula)."""
    kept = np.concatenate([np.arange(m * ROWS, m * ROWS + n) for m, n in enumerate(REAL)])
    return _weighted_ce(data["x_padded"][kept], data["t_padded"][kept], data["w"], data["b"])


def _close(got, want, what="", rtol=RTOL):
    np.testing.assert_allclose(
        np.asarray(got), np.asarray(want), rtol=rtol, atol=1e-15, err_msg=what
    )


def test_collectives_values_and_gradient(data, mesh_results):
    res = mesh_results["collectives"]
    xs, ws, vs = data["xs"], data["ws"], data["vs"]
    shards = xs.reshape(DEVICES, 3, 2)
    assert res["rank"].tolist() == list(range(DEVICES))
    assert res["world_size"].tolist() == [DEVICES] * DEVICES
    for member in range(DEVICES):
        _close(res["gathered"][member], xs)
    ahead = np.concatenate([shards[(m - 1) % DEVICES] for m in range(DEVICES)])
    behind = np.concatenate([shards[(m + 1) % DEVICES] for m in range(DEVICES)])
    _close(res["ahead"], ahead)
    _close(res["behind"], behind)
    _close(res["pmap_shift"].reshape(-1, 2), ahead)
    _close(res["objective"], (ws * xs).sum() + (vs * ahead).sum() + (ahead * behind).sum())
    # d/dx_r: sum_m w_m[rows of r] + v_{r+1} + x_{r+2} + x_{r-2}
    v = vs.reshape(DEVICES, 3, 2)
    expected = np.concatenate(
        [
            ws[:, 3 * r : 3 * r + 3].sum(axis=0)
            + v[(r + 1) % DEVICES]
            + shards[(r + 2) % DEVICES]
            + shards[(r - 2) % DEVICES]
            for r in range(DEVICES)
        ]
    )
    _close(res["grad"], expected)
    _close(res["count"], 2 * xs.sum())
    assert not np.asarray(res["count_grad"]).any()  # all_sum carries no gradient


def test_shard_map_psum_of_shares_equals_full_batch(mesh_results, expected):
    value, grads, denominator = expected
    res = mesh_results["shard_map"]
    _close(res["count"], denominator)
    for key in ("value", "pmean_value"):
        _close(res[key], value, key)
    for key in ("grads", "pmean_grads"):
        for name, g in grads.items():
            _close(res[key][name], g, f"{key} {name}")


def test_jit_with_sharded_inputs_needs_no_group(mesh_results, expected):
    value, grads, _ = expected
    res = mesh_results["jit"]
    assert res["devices"] == DEVICES
    _close(res["value"], value)
    for name, g in grads.items():
        _close(res["grads"][name], g, name)


def test_pmap_psum_of_shares_and_gradients(mesh_results, expected):
    value, grads, _ = expected
    res = mesh_results["pmap"]
    for member in range(DEVICES):  # psum leaves the same total on every device
        _close(res["value"][member], value)
        for name, g in grads.items():
            _close(res["grads"][name][member], g, name)


@pytest.mark.parametrize("name", ["jax_axis", "global_denominator"])
def test_docstring_examples_run(mesh_results, name):
    res = mesh_results["doctests"][name]
    assert res["failed"] == 0 and res["tried"] > 4, res["report"]


def test_jax_axis_outside_a_mapped_function():
    jax = pytest.importorskip("jax")
    del jax
    with pytest.raises(NameError, match=r"jax_axis: axis name 'batch' is not bound here"):
        lbd.jax_axis("batch")
