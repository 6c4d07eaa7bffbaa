"""Data bigger than memory: the losses on Dask arrays and a ``dask.distributed`` cluster, and on
JAX arrays sharded over a mesh of CPU devices.

Expected values are plain float64 NumPy formulas written here (torch's conventions, as the
loss docstrings state them), never lossbridge's own output:

* chunked Dask arrays: a representative loss of each family equals its formula, the result
  stays a lazy Dask array, and building the graph computes nothing (value checks are skipped on
  Dask arrays, which are not concrete);
* the worked example of ``docs/scale.md``, executed as written: a two-worker ``LocalCluster``
  with 160 MiB per worker computes a Huber loss over 2 x 21 chunks of 8 MiB (336 MiB, more
  than the 320 MiB the workers hold together), equal to NumPy summing chunk by chunk;
* a subprocess with ``XLA_FLAGS=--xla_force_host_platform_device_count=4``: losses and their
  gradients under ``jax.jit`` on batch-sharded arrays equal the unsharded ones and the formulas;
* "Losses across devices", its examples as written: gradient accumulation over micro-batches
  (torch), a DDP script of two gloo processes, ``shard_map`` on four CPU devices and a
  ``MirroredStrategy`` over two logical CPUs, each against the full batch computed here with
  ``torch.nn.functional.cross_entropy`` or the float64 formula.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import lossbridge  # noqa: E402
from lossbridge.classification import cross_entropy, kl_div  # noqa: E402
from lossbridge.detection import generalized_box_iou_loss  # noqa: E402
from lossbridge.regression import huber_loss, mse_loss  # noqa: E402
from lossbridge.segmentation import dice_loss  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs" / "scale.md"
RTOL = 1e-12


# ------------------------------------------------------------------------------------------
# Float64 NumPy formulas (torch's conventions)
# ------------------------------------------------------------------------------------------


def np_mse(x, y):
    return np.mean((x - y) ** 2)


def np_huber_terms(x, y, delta=1.0):
    d = np.abs(x - y)
    return np.where(d < delta, 0.5 * d**2, delta * (d - 0.5 * delta))


def np_bce_logits(x, y):
    # max(x, 0) - x y + log(1 + exp(-|x|)), the stable form of -y log s(x) - (1-y) log(1-s(x))
    return np.mean(np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x))))


def np_cross_entropy(x, t):
    m = x.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]
    return np.mean(lse - x[np.arange(len(t)), t])


def np_kl_batchmean(logq, p):
    # sum p (log p - log q) / N, with 0 log 0 = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - logq), -0.0 * logq)
    return terms.sum() / logq.shape[0]


def np_dice_sigmoid(z, t, smooth=1.0):
    # 1 - (2 TP + 2 s) / (sum p + sum t + 2 s) per sample and class, averaged
    p = 1.0 / (1.0 + np.exp(-z))
    ax = tuple(range(2, z.ndim))
    tp = (p * t).sum(axis=ax)
    return np.mean(1.0 - (2 * tp + 2 * smooth) / (p.sum(axis=ax) + t.sum(axis=ax) + 2 * smooth))


def np_giou_loss(b1, b2, eps=1e-7):
    # torchvision.ops.generalized_box_iou_loss, transcribed
    x1, y1, x2, y2 = (b1[..., i] for i in range(4))
    u1, v1, u2, v2 = (b2[..., i] for i in range(4))
    xk1, yk1, xk2, yk2 = (
        np.maximum(x1, u1),
        np.maximum(y1, v1),
        np.minimum(x2, u2),
        np.minimum(y2, v2),
    )
    inter = np.where((yk2 > yk1) & (xk2 > xk1), (xk2 - xk1) * (yk2 - yk1), 0.0)
    union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
    iou = inter / (union + eps)
    area_c = (np.maximum(x2, u2) - np.minimum(x1, u1)) * (np.maximum(y2, v2) - np.minimum(y1, v1))
    return 1 - (iou - (area_c - union) / (area_c + eps))


def _boxes(r, n):
    xy = r.uniform(0, 4, (n, 2))
    wh = r.uniform(0.2, 3, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


def _data(seed=0):
    r = np.random.default_rng(seed)
    return {
        "x": r.standard_normal((64, 10)) * 2,
        "y": r.standard_normal((64, 10)),
        "p01": r.uniform(0, 1, (64, 10)),
        "t": r.integers(0, 10, 64),
        "z4": r.standard_normal((8, 3, 6, 6)) * 2,
        "t4": r.uniform(0, 1, (8, 3, 6, 6)),
        "b1": _boxes(r, 64),
        "b2": _boxes(r, 64),
    }


def _log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ------------------------------------------------------------------------------------------
# Chunked Dask arrays
# ------------------------------------------------------------------------------------------

# (name, loss call on arrays, formula on NumPy arrays, arrays used)
DASK_CASES = [
    ("mse_loss", lambda a: mse_loss(a["x"], a["y"]), lambda a: np_mse(a["x"], a["y"])),
    (
        "huber_loss",
        lambda a: huber_loss(a["x"], a["y"], reduction="sum"),
        lambda a: np_huber_terms(a["x"], a["y"]).sum(),
    ),
    (
        "binary_cross_entropy_with_logits",
        lambda a: lossbridge.binary_cross_entropy_with_logits(a["x"], a["p01"]),
        lambda a: np_bce_logits(a["x"], a["p01"]),
    ),
    (
        "cross_entropy",
        lambda a: cross_entropy(a["x"], a["t"]),
        lambda a: np_cross_entropy(a["x"], a["t"]),
    ),
    (
        "kl_div",
        lambda a: kl_div(a["logq"], a["q"], reduction="batchmean"),
        lambda a: np_kl_batchmean(a["logq"], a["q"]),
    ),
    (
        "dice_loss",
        lambda a: dice_loss(a["z4"], a["t4"], activation="sigmoid", smooth=1.0),
        lambda a: np_dice_sigmoid(a["z4"], a["t4"]),
    ),
    (
        "generalized_box_iou_loss",
        lambda a: generalized_box_iou_loss(a["b1"], a["b2"], reduction="mean"),
        lambda a: np_giou_loss(a["b1"], a["b2"]).mean(),
    ),
]


def _chunked(a: np.ndarray) -> da.Array:
    """``a`` as a Dask array cut into about four chunks along every axis of length > 1."""
    return da.from_array(a, chunks=tuple(max(1, -(-n // 4)) for n in a.shape))


@pytest.mark.parametrize("name, call, formula", DASK_CASES, ids=[c[0] for c in DASK_CASES])
def test_dask_chunked_matches_numpy(name, call, formula):
    """A loss over chunked Dask arrays is a lazy Dask array equal to the float64 formula."""
    data = _data()
    data["logq"] = _log_softmax(data["x"])
    data["q"] = _softmax(data["y"])
    expected = formula(data)
    arrays = {k: _chunked(v) for k, v in data.items()}
    out = call(arrays)
    assert isinstance(out, da.Array), type(out)
    assert out.dtype == np.float64
    got = float(out.compute(scheduler="sync"))
    assert got == pytest.approx(float(expected), rel=RTOL, abs=1e-15)


def test_dask_float32_stays_float32():
    x = _chunked(_data()["x"].astype(np.float32))
    out = mse_loss(x, x * 0.5, reduction="none")
    assert isinstance(out, da.Array) and out.dtype == np.float32 and out.shape == x.shape


def _poisoned(shape, chunks):
    """A Dask array whose every block raises when computed."""

    def boom(block_info=None):
        raise AssertionError("the graph was computed while the loss was being built")

    return da.map_blocks(boom, chunks=chunks, dtype=np.float64, meta=np.empty((0, 0)))


def test_dask_graph_is_not_computed_by_the_loss():
    """Value checks never read Dask values: building the loss computes nothing.

    ``cross_entropy`` checks class indices against the class count on concrete arrays; on
    Dask arrays (not concrete) the check is skipped, like under ``jax.jit``, so an index out of
    range is not seen at graph-building time.
    """
    x = _poisoned((64, 10), ((16,) * 4, (10,)))
    t = da.from_array(np.full(64, 3), chunks=16)
    out = cross_entropy(x, t)
    assert isinstance(out, da.Array)
    bad = da.from_array(np.full(64, 99), chunks=16)  # out of range: no error without compute
    assert isinstance(cross_entropy(_chunked(_data()["x"]), bad), da.Array)
    with pytest.raises(AssertionError, match="graph was computed"):
        out.compute(scheduler="sync")


# ------------------------------------------------------------------------------------------
# docs/scale.md's worked example: a LocalCluster over more data than the workers hold
# ------------------------------------------------------------------------------------------


def _doc_block(title: str) -> str:
    text = DOCS.read_text()
    m = re.search(rf"<!-- {re.escape(title)} -->\s*```python\n(.*?)```", text, re.S)
    assert m, f"docs/scale.md has no python block marked <!-- {title} -->"
    return m.group(1)


def test_docs_dask_example():
    """The docs' first Dask example runs as written and equals the formula on its data."""
    ns: dict = {}
    exec(compile(_doc_block("example: dask"), str(DOCS), "exec"), ns)
    pred, target = dask.compute(ns["pred"], ns["target"], scheduler="sync")
    got = float(ns["loss"].compute(scheduler="sync"))
    assert got == pytest.approx(float(np_cross_entropy(pred, target)), rel=RTOL)


def _parse_mib(s: str) -> float:
    return float(s.removesuffix("MiB"))


def test_docs_local_cluster_example():
    """The docs' cluster example runs as written and matches NumPy summed chunk by chunk.

    The example's arrays hold more bytes than the memory limits of all workers together, so
    the cluster never holds them at once; each worker's resident memory stays below its limit
    (a worker above it would be restarted by its nanny and the computation would fail).
    """
    pytest.importorskip("distributed")
    ns: dict = {"__name__": "__main__"}
    exec(compile(_doc_block("example: cluster"), str(DOCS), "exec"), ns)
    pred, target = ns["pred"], ns["target"]
    limit = _parse_mib(ns["MEMORY_LIMIT"]) * 2**20
    nbytes = pred.nbytes + target.nbytes
    assert nbytes > ns["N_WORKERS"] * limit, (nbytes, limit)
    assert pred.numblocks[0] > 8
    # the workers stayed under their limit
    assert max(ns["worker_rss"].values()) < limit
    # NumPy, chunk by chunk, in float64
    total, count = 0.0, 0
    for i in range(pred.numblocks[0]):
        p, t = dask.compute(pred.blocks[i], target.blocks[i], scheduler="sync")
        total += float(np_huber_terms(p, t).sum())
        count += p.size
    assert ns["total"] == pytest.approx(total, rel=RTOL)
    assert ns["mean"] == pytest.approx(total / count, rel=RTOL)


# ------------------------------------------------------------------------------------------
# JAX: batch-sharded arrays on a mesh of 4 CPU devices, under jax.jit
# ------------------------------------------------------------------------------------------

JAX_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import jax
    jax.config.update("jax_enable_x64", True)
    data = {k: np.asarray(v) for k, v in json.loads(sys.stdin.read()).items()}
    exec(data.pop("doc_example").item())  # docs/scale.md's JAX example, as written
    doc = {"loss": float(loss), "grad_devices": len(grad.sharding.device_set),
           "grad_spec": str(grad.sharding.spec)}
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import lossbridge as lb

    devices = jax.devices("cpu")
    assert len(devices) == 4, devices
    mesh = Mesh(np.array(devices), ("batch",))
    batch = NamedSharding(mesh, P("batch"))
    losses = {
        "cross_entropy": lambda a: lb.cross_entropy(a["x"], a["t"]),
        "mse_loss": lambda a: lb.mse_loss(a["x"], a["y"], reduction="sum"),
        "binary_cross_entropy_with_logits":
            lambda a: lb.binary_cross_entropy_with_logits(a["x"], a["p01"]),
        "huber_loss": lambda a: lb.huber_loss(a["x"], a["y"]),
        "dice_loss": lambda a: lb.dice_loss(a["z4"], a["t4"], activation="sigmoid", smooth=1.0),
        "generalized_box_iou_loss":
            lambda a: lb.generalized_box_iou_loss(a["b1"], a["b2"], reduction="mean"),
    }
    primary = {"dice_loss": "z4", "generalized_box_iou_loss": "b1"}
    out = {}
    for name, f in losses.items():
        key = primary.get(name, "x")
        plain = {k: jax.numpy.asarray(v) for k, v in data.items()}
        sharded = {k: jax.device_put(v, batch) for k, v in plain.items()}
        def loss_of(p, arrays):
            return f({**arrays, key: p})
        step = jax.jit(jax.value_and_grad(loss_of))
        v_s, g_s = step(sharded[key], sharded)
        v_u, g_u = step(plain[key], plain)
        out[name] = {
            "sharded": float(v_s), "unsharded": float(v_u),
            "grad_sharded": np.asarray(g_s).tolist(), "grad_unsharded": np.asarray(g_u).tolist(),
            "input_devices": len(sharded[key].sharding.device_set),
            "grad_devices": len(g_s.sharding.device_set),
        }
    print("RESULT" + json.dumps({"losses": out, "doc": doc}))
    """
)


def test_jax_sharded_mesh_matches_numpy():
    """Losses and gradients under jax.jit on a 4-device batch-sharded mesh equal the formulas."""
    pytest.importorskip("jax")
    data = _data(1)
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    ).strip()
    env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT],
        input=json.dumps(
            {**{k: v.tolist() for k, v in data.items()}, "doc_example": _doc_block("example: jax")}
        ),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(s for s in proc.stdout.splitlines() if s.startswith("RESULT"))
    out = json.loads(line.removeprefix("RESULT"))
    res, doc = out["losses"], out["doc"]
    # the docs' example: its loss, and its gradient sharded over the 4 devices like its input
    doc_logits = np.random.default_rng(0).standard_normal((64, 10))
    doc_labels = np.random.default_rng(1).integers(0, 10, 64)
    assert doc["loss"] == pytest.approx(float(np_cross_entropy(doc_logits, doc_labels)), rel=1e-6)
    assert doc["grad_devices"] == 4 and "batch" in doc["grad_spec"], doc
    x, y, t, p01 = data["x"], data["y"], data["t"], data["p01"]
    expected = {
        "cross_entropy": np_cross_entropy(x, t),
        "mse_loss": ((x - y) ** 2).sum(),
        "binary_cross_entropy_with_logits": np_bce_logits(x, p01),
        "huber_loss": np_huber_terms(x, y).mean(),
        "dice_loss": np_dice_sigmoid(data["z4"], data["t4"]),
        "generalized_box_iou_loss": np_giou_loss(data["b1"], data["b2"]).mean(),
    }
    onehot = np.eye(10)[t]
    sig = 1.0 / (1.0 + np.exp(-x))
    d = x - y
    expected_grad = {
        "cross_entropy": (_softmax(x) - onehot) / len(t),  # d/dx mean(lse - x_t)
        "mse_loss": 2 * d,
        "binary_cross_entropy_with_logits": (sig - p01) / x.size,
        "huber_loss": np.clip(d, -1.0, 1.0) / x.size,
    }
    for name, r in res.items():
        assert r["input_devices"] == 4 and r["grad_devices"] == 4, (name, r)
        assert r["sharded"] == pytest.approx(r["unsharded"], rel=RTOL), name
        assert r["sharded"] == pytest.approx(float(expected[name]), rel=RTOL), name
        gs, gu = np.asarray(r["grad_sharded"]), np.asarray(r["grad_unsharded"])
        np.testing.assert_allclose(gs, gu, rtol=RTOL, atol=1e-15, err_msg=name)
        if name in expected_grad:
            np.testing.assert_allclose(
                gs, expected_grad[name], rtol=1e-10, atol=1e-15, err_msg=name
            )


# ------------------------------------------------------------------------------------------
# docs/scale.md, "Losses across devices": the examples as written, against the full batch
# ------------------------------------------------------------------------------------------


def _np_ce_ignore(z, t, ignore=-100):
    """Mean cross-entropy over the targets != ignore, and its gradient w.r.t. z (float64)."""
    kept = t != ignore
    n = kept.sum()
    p = _softmax(z)
    m = z.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
    tt = np.where(kept, t, 0)
    value = (lse - z[np.arange(len(t)), tt])[kept].sum() / n
    grad = np.where(kept[:, None], p - np.eye(z.shape[1])[tt], 0.0) / n
    return value, grad


def _linear_ce_expected(weight, bias, x, y):
    """torch's own F.cross_entropy of a Linear model on the full batch, float64: loss, grads."""
    torch = pytest.importorskip("torch")
    w = torch.tensor(np.asarray(weight, dtype=np.float64), requires_grad=True)
    b = torch.tensor(np.asarray(bias, dtype=np.float64), requires_grad=True)
    xt = torch.tensor(np.asarray(x, dtype=np.float64))
    loss = torch.nn.functional.cross_entropy(xt @ w.T + b, torch.tensor(np.asarray(y)))
    loss.backward()
    return loss.item(), w.grad.numpy(), b.grad.numpy()


def test_docs_gradient_accumulation_example():
    """Micro-batches with the summed count: the full batch's gradient and SGD step (float32)."""
    torch = pytest.importorskip("torch")
    ns: dict = {}
    exec(compile(_doc_block("example: accumulation"), str(DOCS), "exec"), ns)
    torch.manual_seed(0)
    initial = torch.nn.Linear(8, 3)  # the example's model before its step
    x = torch.cat([b[0] for b in ns["micro_batches"]])
    y = torch.cat([b[1] for b in ns["micro_batches"]])
    assert (y == -100).any() and (y != -100).any()
    _, gw, gb = _linear_ce_expected(initial.weight.detach(), initial.bias.detach(), x, y)
    model = ns["model"]
    # float32 forward and backward over 12 rows: rounding of a few ulps of O(1) terms
    np.testing.assert_allclose(model.weight.grad.numpy(), gw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.bias.grad.numpy(), gb, rtol=1e-5, atol=1e-6)
    step = initial.weight.detach().double().numpy() - 0.1 * gw
    np.testing.assert_allclose(model.weight.detach().numpy(), step, rtol=1e-5, atol=1e-6)
    assert float(ns["count"]) == float((y != -100).sum())
    # the docs' alternative: each micro-batch's sum (denominator=1), the gradients divided by
    # the total count at the end
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 3)
    total = 0
    for xb, yb in ns["micro_batches"]:
        logits = model(xb)
        total += lossbridge.mean_denominator(cross_entropy, logits, yb)
        cross_entropy(logits, yb, denominator=1).backward()
    for p in model.parameters():
        p.grad /= total
    np.testing.assert_allclose(model.weight.grad.numpy(), gw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.bias.grad.numpy(), gb, rtol=1e-5, atol=1e-6)


def test_docs_torch_ddp_example(tmp_path):
    """The DDP example, run as a script (2 gloo processes): full-batch loss and gradient."""
    torch = pytest.importorskip("torch")
    import socket

    script = tmp_path / "ddp_example.py"
    script.write_text(_doc_block("example: torch-ddp"))
    with socket.socket() as s:  # a free port for this run; the example defaults to 29500
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = re.search(r"loss (\S+)  grad\[0\] (\[.*\])", proc.stdout)
    assert m, proc.stdout
    # the same batch and initial weights, single process, float64 with torch's own op
    ns: dict = {"__name__": "ddp_example"}
    exec(compile(script.read_text(), str(script), "exec"), ns)
    x, y = ns["global_batch"]()
    assert [int((y[s] != -100).sum()) for s in ns["SHARDS"]] == [5, 0]  # rank 1: all ignored
    torch.manual_seed(0)
    initial = torch.nn.Linear(8, 3)
    loss, gw, _ = _linear_ce_expected(initial.weight.detach(), initial.bias.detach(), x, y)
    assert float(m.group(1)) == pytest.approx(loss, rel=1e-6)
    np.testing.assert_allclose(json.loads(m.group(2)), gw[0], rtol=1e-5, atol=1e-6)


def test_docs_jax_shard_map_example():
    """The shard_map example on 4 CPU devices: the psum of the shares is the full-batch mean."""
    pytest.importorskip("jax")
    source = textwrap.dedent(
        """
        import json, sys
        import jax
        jax.config.update("jax_enable_x64", True)  # the test's choice: float64 to compare
        exec(sys.stdin.read())
        print("RESULT" + json.dumps({"loss": float(loss), "grad": np.asarray(grad).tolist(),
                                     "logits": np.asarray(logits).tolist(),
                                     "labels": np.asarray(labels).tolist(),
                                     "devices": len(jax.devices())}))
        """
    )
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "-c", source],
        input=_doc_block("example: jax-shard-map"),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(s for s in proc.stdout.splitlines() if s.startswith("RESULT"))
    out = json.loads(line.removeprefix("RESULT"))
    assert out["devices"] == 4
    labels = np.asarray(out["labels"])
    assert (labels[4:8] == -100).all()  # device 1 holds only padding
    value, grad = _np_ce_ignore(np.asarray(out["logits"]), labels)
    assert out["loss"] == pytest.approx(value, rel=RTOL)
    np.testing.assert_allclose(out["grad"], grad, rtol=1e-10, atol=1e-15)


def test_docs_tf_mirrored_example():
    """The MirroredStrategy example on 2 logical CPUs: loss and SGD step of the full batch."""
    pytest.importorskip("tensorflow")
    pytest.importorskip("keras")
    source = textwrap.dedent(
        """
        import json, sys
        exec(sys.stdin.read())
        print("RESULT" + json.dumps({"loss": float(loss), "w": w.numpy().tolist(),
                                     "features": features.tolist(), "labels": labels.tolist(),
                                     "replicas": strategy.num_replicas_in_sync}))
        """
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-c", source],
        input=_doc_block("example: tf-mirrored"),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(s for s in proc.stdout.splitlines() if s.startswith("RESULT"))
    out = json.loads(line.removeprefix("RESULT"))
    assert out["replicas"] == 2
    x, y = np.asarray(out["features"], dtype=np.float32), np.asarray(out["labels"])
    w0 = np.random.default_rng(0)  # the example's draws, in its order
    w0.standard_normal((12, 8)), w0.integers(0, 3, 12)
    w0 = w0.standard_normal((8, 3)).astype(np.float32).astype(np.float64)
    value, dz = _np_ce_ignore(x.astype(np.float64) @ w0, y)
    assert out["loss"] == pytest.approx(value, rel=1e-6)  # float32 computation
    # one SGD step (lr 0.5) by the full batch's gradient: the replicas' gradients summed
    np.testing.assert_allclose(out["w"], w0 - 0.5 * (x.T @ dz), rtol=1e-5, atol=1e-6)


def test_docs_dialects_example():
    """The dialects' example: each shard sum equals the framework's own full-batch loss."""
    torch = pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    optax = pytest.importorskip("optax")
    jnp = pytest.importorskip("jax.numpy")
    ns: dict = {}
    exec(compile(_doc_block("example: dialects"), str(DOCS), "exec"), ns)
    x, y, labels, sw = ns["x"], ns["y"], ns["labels"], ns["sw"]
    expected_nn = torch.nn.CrossEntropyLoss(
        weight=torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    )(torch.tensor(x), torch.tensor(y))
    assert float(ns["nn_total"]) == pytest.approx(expected_nn.item(), rel=1e-14)
    expected_keras = keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=-1, dtype="float64"
    )(labels, x, sw)
    # Keras computes in float64 here; its log-softmax and ours differ by rounding only
    assert float(ns["keras_total"]) == pytest.approx(float(expected_keras), rel=1e-12)
    valid = labels >= 0
    per_example = optax.softmax_cross_entropy_with_integer_labels(
        jnp.asarray(x, dtype=jnp.float32), jnp.asarray(np.maximum(labels, 0))
    )
    expected_optax = float(np.asarray(per_example, dtype=np.float64)[valid].mean())
    assert float(ns["optax_total"]) == pytest.approx(expected_optax, rel=1e-6)  # optax in float32
