"""``lossbridge.distributed.tf_replica`` on ``tf.distribute.MirroredStrategy``, 2 and 4 replicas.

A fresh interpreter per replica count splits the CPU into logical devices and runs a
``MirroredStrategy`` over them (``tests/_engines.py``); the tests compare what it computed with
float64 NumPy formulas written here:

* the collectives inside ``strategy.run``: ``all_gather`` (TF's own ``ReplicaContext
  .all_gather``: its registered gradient is checked here, it must be the sum of the replicas'
  cotangents of this replica's rows), ``shift`` (sliced out of an all-gather) and ``all_sum``;
* the recipe: uneven local batches (one replica's targets all ignored), each replica's share of a
  weighted, ``ignore_index`` cross-entropy of a linear model, ``strategy.reduce(SUM)`` of the
  shares and of the replicas' gradients equal the full batch; a Keras SGD step inside
  ``strategy.run`` (its ``apply_gradients`` all-reduces the gradients with SUM) moves the
  variables by the full batch's gradient: nothing is multiplied;
* the docstring example of ``tf_replica`` (the default replica context, a group of one).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from _engines import LAST, docstring_examples, run_tf_replicas  # noqa: E402

import lossbridge.distributed as lbd  # noqa: E402

RTOL = 1e-12
IGNORE = -100
N_IN, N_CLASSES = 5, 4
CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])
SIZES = {2: [6, 3], 4: [5, 3, 4, 2]}
ALL_IGNORED = {2: 1, 4: 2}
LR = 0.125  # exact in float32 (Keras keeps the learning rate in float32)

SCRIPT = """
import keras
import numpy as np

import lossbridge
import lossbridge.distributed as lbd
from _engines import run_doctest

W = strategy.num_replicas_in_sync
local = strategy.experimental_local_results
out = {"doctest": run_doctest(inputs["doc"])}  # outside strategy.run: a group of one

def per_replica(arrays):
    return strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(arrays[ctx.replica_id_in_sync_group]))

# --- the collectives -----------------------------------------------------------------------
xs, ws, vs = (per_replica(list(inputs[k])) for k in ("xs", "ws", "vs"))

@tf.function(autograph=False)  # source from a string: nothing to convert
def collectives(x, w, v):
    def replica(x, w, v):
        group = lbd.tf_replica()
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            gathered = group.all_gather(x)
            ahead, behind = group.shift(x), group.shift(x, offset=-1)
            objective = (tf.reduce_sum(w * gathered) + tf.reduce_sum(v * ahead)
                         + tf.reduce_sum(ahead * behind))
            count = group.all_sum(tf.reduce_sum(x * 2))
        grad, count_grad = tape.gradient(objective, x), tape.gradient(count, x)
        return (gathered, ahead, behind, count, grad, tf.constant(count_grad is None),
                tf.constant(group.rank), tf.constant(group.world_size))
    return strategy.run(replica, (x, w, v))

res = collectives(xs, ws, vs)
names = ["gathered", "ahead", "behind", "count", "grad", "count_grad_is_none", "rank",
         "world_size"]
out["collectives"] = {n: list(local(r)) for n, r in zip(names, res)}

# --- the recipe: shares of a weighted, ignore_index cross-entropy --------------------------
x, t = per_replica(inputs["x"]), per_replica(inputs["t"])
with strategy.scope():
    w = tf.Variable(inputs["w"])
    b = tf.Variable(inputs["b"])
    optimizer = keras.optimizers.SGD(learning_rate=inputs["lr"])
# host data (NumPy) is put on each replica's device; a tf.constant made here would sit on
# replica 0's device, and lossbridge refuses arrays on two devices
kw = {"weight": inputs["class_weight"], "ignore_index": inputs["ignore"]}

@tf.function(autograph=False)
def train_step(x, t):
    def replica(x, t):
        group = lbd.tf_replica()
        with tf.GradientTape() as tape:
            logits = x @ w + b
            count = lbd.global_denominator(lossbridge.cross_entropy, logits, t, group=group, **kw)
            share = lossbridge.cross_entropy(logits, t, denominator=count, **kw)
        grads = tape.gradient(share, [w, b])
        optimizer.apply_gradients(zip(grads, [w, b]))  # all-reduces the gradients with SUM
        return share, grads, count
    share, grads, count = strategy.run(replica, (x, t))
    return (strategy.reduce("SUM", share, axis=None),
            [strategy.reduce("SUM", g, axis=None) for g in grads], share, count)

total, grads, shares, count = train_step(x, t)
out["recipe"] = {"total": total, "grads": {"w": grads[0], "b": grads[1]},
                 "shares": list(local(shares)), "counts": list(local(count)),
                 "updated": {"w": w.numpy(), "b": b.numpy()}}
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


def _data(replicas):
    rng = np.random.default_rng(200 + replicas)
    xs, ts = [], []
    for r, n in enumerate(SIZES[replicas]):
        xs.append(rng.standard_normal((n, N_IN)) * 2)
        t = rng.integers(0, N_CLASSES, n)
        t[rng.random(n) < 0.3] = IGNORE
        if r == ALL_IGNORED[replicas]:
            t[:] = IGNORE
        ts.append(t)
    return {
        "xs": rng.standard_normal((replicas, 3, 2)),
        "ws": rng.standard_normal((replicas, 3 * replicas, 2)),
        "vs": rng.standard_normal((replicas, 3, 2)),
        "x": xs,
        "t": ts,
        "w": rng.standard_normal((N_IN, N_CLASSES)),
        "b": rng.standard_normal(N_CLASSES),
        "class_weight": CLASS_WEIGHT,
        "ignore": IGNORE,
        "lr": LR,
        "doc": docstring_examples(lbd.tf_replica),
    }


@pytest.fixture(scope="module", params=[2, 4], ids=["2-replicas", "4-replicas"])
def replicas(request):
    """(replica count, inputs, what the strategy computed): one interpreter per count."""
    n = request.param
    data = _data(n)
    res = run_tf_replicas(SCRIPT, devices=n, inputs=data, timeout=240)
    res["timing"] = dict(LAST["tf"])
    print(f"\ntf engine timing: {res['timing']}")  # shown with pytest -s
    return n, data, res


def _close(got, want, what="", rtol=RTOL):
    np.testing.assert_allclose(
        np.asarray(got), np.asarray(want), rtol=rtol, atol=1e-15, err_msg=what
    )


def test_collectives_values_and_gradients(replicas):
    n, data, res = replicas
    res = res["collectives"]
    xs, ws, vs = data["xs"], data["ws"], data["vs"]
    full = np.concatenate(list(xs))
    for r in range(n):
        assert (int(res["rank"][r]), int(res["world_size"][r])) == (r, n)
        _close(res["gathered"][r], full)
        _close(res["ahead"][r], xs[(r - 1) % n])
        _close(res["behind"][r], xs[(r + 1) % n])
        _close(res["count"][r], 2 * xs.sum())
        assert res["count_grad_is_none"][r]  # all_sum carries no gradient
        # d/dx_r of sum_m [w_m . gather + v_m . x_{m-1} + x_{m-1} . x_{m+1}]
        expected = (
            ws[:, 3 * r : 3 * r + 3].sum(axis=0)
            + vs[(r + 1) % n]
            + xs[(r + 2) % n]
            + xs[(r - 2) % n]
        )
        _close(res["grad"][r], expected, f"replica {r}")


def test_recipe_shares_and_summed_gradients_equal_full_batch(replicas):
    n, data, res = replicas
    res = res["recipe"]
    value, grads, denominator = _weighted_ce(
        np.concatenate(data["x"]), np.concatenate(data["t"]), data["w"], data["b"]
    )
    _close(res["total"], value, "sum of the shares")
    assert float(res["shares"][ALL_IGNORED[n]]) == 0.0
    for r in range(n):
        _close(res["counts"][r], denominator, f"replica {r} count")
    for name, g in grads.items():
        _close(res["grads"][name], g, f"summed gradient {name}")
        # the optimizer's all-reduce SUM: one SGD step by the full batch's gradient
        _close(res["updated"][name], data[name] - LR * g, f"SGD step {name}")


def test_docstring_example_runs(replicas):
    res = replicas[2]["doctest"]
    assert res["failed"] == 0 and res["tried"] > 4, res["report"]
