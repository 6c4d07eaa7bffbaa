"""The contrastive losses across devices (``group=``) on real engines, against the full batch.

Each member of a data-parallel group passes its local rows; the sum of the members' shares (and
of their gradients) must equal the loss of the concatenated batch (the members' rows in rank
order), within 1e-12 in float64. The expected values are computed here, on the whole batch,
by the libraries the losses follow, with torch's autograd for the gradients -- never by
lossbridge:

* ``clip_loss``, ``siglip_loss``: open_clip's ``ClipLoss`` / ``SigLipLoss`` forward, their lines
  transcribed in torch (``F.cross_entropy``, ``F.logsigmoid``);
* ``supcon_loss``, ``ntxent_loss``, ``circle_loss``: pytorch-metric-learning's ``SupConLoss``,
  ``NTXentLoss`` (SimCLR's two views, item ids of the whole group) and ``CircleLoss``.

Engines (``tests/_engines.py``): a ``torch.distributed`` gloo world of 2 and 4 processes, a
4-device JAX CPU mesh (``jax.shard_map``), and ``tf.distribute.MirroredStrategy`` over 2 and 4
logical CPUs. Gradients are taken with respect to the features (each member's local rows), the
logit scale and the logit bias (each member's gradient of its share; their sum is the
full-batch gradient). On JAX the ring of ``siglip_loss`` is also checked from the jaxpr: every
matrix product of a member is at most local x local (no member holds the B x B logits).

Also here: a DDP training step with CLIP (two ``Linear`` towers and a learnable
``logit_scale``), the recipe's ``loss * world_size``; ``global_denominator`` /
``denominator=`` with a group; and the docs' examples of the contrastive losses across devices,
run as written (the source of each is the text the docs show).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("pytorch_metric_learning")
if not torch.distributed.is_available():  # pragma: no cover - torch built without distributed
    pytest.skip("torch.distributed is not available", allow_module_level=True)

import torch.nn.functional as F  # noqa: E402, N812
from _engines import (  # noqa: E402
    LAST,
    free_port,
    run_jax_mesh,
    run_source,
    run_tf_replicas,
    run_torch_world,
)

RTOL = 1e-12
ATOL = 1e-14
N_LOCAL, DIM = 4, 5
TEMPERATURE = {"supcon": 0.2, "ntxent": 0.5}
#: torch's Softplus (pytorch-metric-learning's CircleLoss) returns x itself above x = 20 (an
#: error of e^-x): a scale gamma small enough that every anchor's loss stays below 20
CIRCLE = {"margin": 0.4, "gamma": 4.0}
#: SupCon / Circle labels: classes shared across members, and anchors without a positive
LABELS = {
    2: [0, 1, 2, 3, 0, 1, 4, 5],
    4: [0, 1, 2, 3, 0, 1, 4, 5, 6, 7, 8, 9, 2, 3, 6, 7],
}
LOSSES = ("clip", "siglip", "supcon", "ntxent", "circle")


def _close(got, expected, what=""):
    """Within RTOL of the largest element of ``expected`` (norm-wise: a gradient's entries are
    sums of cancelling terms, accurate relative to the gradient's scale, not each to itself)."""
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    assert got.shape == expected.shape, (what, got.shape, expected.shape)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), ATOL)
    error = float(np.max(np.abs(got - expected), initial=0.0)) / scale
    assert error <= RTOL, f"{what}: relative error {error:.3g} > {RTOL}\n{got}\n{expected}"


# ------------------------------------------------------------------------------------------
# The data, and the full batch by open_clip's and pytorch-metric-learning's formulas
# ------------------------------------------------------------------------------------------


def _data(world_size: int) -> dict[str, np.ndarray]:
    """The concatenated batch: members' rows in rank order, N_LOCAL rows each."""
    rng = np.random.default_rng(1600 + world_size)
    b = world_size * N_LOCAL
    image = rng.standard_normal((b, DIM))
    text = image + 0.7 * rng.standard_normal((b, DIM))
    # SimCLR: member r holds the two views of its items 2r, 2r + 1 (ids of the whole group)
    items = np.arange(N_LOCAL // 2)
    views = np.concatenate(
        [np.concatenate([2 * r + items, 2 * r + items]) for r in range(world_size)]
    )
    return {
        "image": image / np.linalg.norm(image, axis=1, keepdims=True),
        "text": text / np.linalg.norm(text, axis=1, keepdims=True),
        "scale": np.asarray(4.5),
        "bias": np.asarray(-1.5),
        "features": rng.standard_normal((b, DIM)),
        "labels": np.asarray(LABELS[world_size]),
        "views": rng.standard_normal((b, DIM)),
        "view_ids": views,
    }


def _open_clip_clip(image_features, text_features, logit_scale):
    """open_clip ClipLoss.forward, world size 1 (src/open_clip/loss.py)."""
    logits_per_image = logit_scale * image_features @ text_features.T
    logits_per_text = logit_scale * text_features @ image_features.T
    labels = torch.arange(logits_per_image.shape[0], dtype=torch.long)
    return (
        F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_text, labels)
    ) / 2


def _open_clip_siglip(image_features, text_features, logit_scale, logit_bias):
    """open_clip SigLipLoss._loss, world size 1 (src/open_clip/loss.py)."""
    n = image_features.shape[0]
    labels = 2 * torch.eye(n, dtype=image_features.dtype) - torch.ones(
        (n, n), dtype=image_features.dtype
    )
    logits = logit_scale * image_features @ text_features.T + logit_bias
    return -F.logsigmoid(labels * logits).sum() / image_features.shape[0]


def _full_batch(data: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Each loss's full-batch value and gradients (float64, torch autograd)."""
    from pytorch_metric_learning.losses import CircleLoss, NTXentLoss, SupConLoss

    t = {k: torch.tensor(v, requires_grad=v.dtype.kind == "f") for k, v in data.items()}
    values = {
        "clip": _open_clip_clip(t["image"], t["text"], t["scale"]),
        "siglip": _open_clip_siglip(t["image"], t["text"], t["scale"], t["bias"]),
        "supcon": SupConLoss(temperature=TEMPERATURE["supcon"])(t["features"], t["labels"]),
        "ntxent": NTXentLoss(temperature=TEMPERATURE["ntxent"])(t["views"], t["view_ids"]),
        "circle": CircleLoss(m=CIRCLE["margin"], gamma=CIRCLE["gamma"])(t["features"], t["labels"]),
    }
    wrt = {
        "clip": ("image", "text", "scale"),
        "siglip": ("image", "text", "scale", "bias"),
        "supcon": ("features",),
        "ntxent": ("views",),
        "circle": ("features",),
    }
    out = {}
    for name, value in values.items():
        grads = torch.autograd.grad(value, [t[k] for k in wrt[name]])
        out[name] = {"value": value.detach().numpy()} | {
            k: g.numpy() for k, g in zip(wrt[name], grads, strict=True)
        }
    return out


def _check_members(members: list[dict], expected: dict, world_size: int, engine: str) -> None:
    """The members' shares and gradients add up to the full batch's (rows: concatenated)."""
    for name in LOSSES:
        want = expected[name]
        got = [m[name] for m in members]
        _close(sum(g["value"] for g in got), want["value"], f"{engine} {name} value")
        for arg, grad in want.items():
            if arg == "value":
                continue
            if grad.ndim == 0:  # a replicated scalar: the members' gradients add up
                total = sum(g[arg] for g in got)
            else:  # local rows: each member's gradient is its rows' full-batch gradient
                total = np.concatenate([g[arg] for g in got])
            _close(total, grad, f"{engine} {name} d/d{arg}")
    # the local shares differ (uneven counts), the sum does not
    assert len({round(float(m["supcon"]["value"]), 12) for m in members}) > 1


# ------------------------------------------------------------------------------------------
# torch.distributed (gloo, 2 and 4 processes)
# ------------------------------------------------------------------------------------------


def _torch_member(rank, world_size, data):
    """Rank ``rank``'s shares of the five losses and their gradients (float64)."""
    import lossbridge
    import lossbridge.distributed as lbd

    group = lbd.torch_group()
    rows = slice(rank * N_LOCAL, (rank + 1) * N_LOCAL)
    t = {
        k: torch.tensor(v[rows] if v.ndim else v, requires_grad=v.dtype.kind == "f")
        for k, v in data.items()
    }
    shares = {
        "clip": (
            lossbridge.clip_loss(t["image"], t["text"], t["scale"], group=group),
            ("image", "text", "scale"),
        ),
        "siglip": (
            lossbridge.siglip_loss(t["image"], t["text"], t["scale"], t["bias"], group=group),
            ("image", "text", "scale", "bias"),
        ),
        "supcon": (
            lossbridge.supcon_loss(
                t["features"], t["labels"], temperature=TEMPERATURE["supcon"], group=group
            ),
            ("features",),
        ),
        "ntxent": (
            lossbridge.ntxent_loss(
                t["views"], t["view_ids"], temperature=TEMPERATURE["ntxent"], group=group
            ),
            ("views",),
        ),
        "circle": (
            lossbridge.circle_loss(t["features"], t["labels"], **CIRCLE, group=group),
            ("features",),
        ),
    }
    out = {}
    for name, (share, wrt) in shares.items():
        # every rank runs the backward passes in the same order (their collectives pair up)
        grads = torch.autograd.grad(share, [t[k] for k in wrt])
        out[name] = {"value": share.detach()} | dict(zip(wrt, grads, strict=True))
    # the count of the whole group (mean_denominator with the group: the anchors' positives
    # are among every member's rows), and an explicit denominator: the share's divisor
    count = lossbridge.mean_denominator(
        lossbridge.supcon_loss, t["features"], t["labels"], group=group
    )
    local = lossbridge.mean_denominator(lossbridge.supcon_loss, t["features"], t["labels"])
    doubled = lossbridge.supcon_loss(
        t["features"],
        t["labels"],
        temperature=TEMPERATURE["supcon"],
        group=group,
        denominator=2 * count,
    )
    out["counts"] = {"group": count, "local": local, "doubled": doubled.detach()}
    return out


@pytest.mark.parametrize("world_size", [2, 4])
def test_torch_gloo_shares_equal_full_batch(world_size, request):
    data = _data(world_size)
    members = run_torch_world(_torch_member, world_size=world_size, args=(data,), timeout=120)
    t = LAST["torch"]
    request.node.user_properties.append(
        ("timing", f"world {world_size}: total {t['total']:.2f} s, rank run {max(t['run']):.3f} s")
    )
    _check_members(members, _full_batch(data), world_size, f"torch x{world_size}")
    # supcon's count: anchors with a positive (and a negative) over the whole group; without
    # the group, a member's own count sees only its rows (global_denominator would sum those)
    labels = np.asarray(LABELS[world_size])
    with_positive = [(labels == y).sum() > 1 for y in labels]
    for r, m in enumerate(members):
        c = m["counts"]
        _close(c["group"], sum(with_positive))
        mine = labels[r * N_LOCAL : (r + 1) * N_LOCAL]
        _close(c["local"], sum((mine == y).sum() > 1 for y in mine))
        _close(c["doubled"], m["supcon"]["value"] / 2)


# ------------------------------------------------------------------------------------------
# A DDP training step with CLIP: two towers and a learnable logit scale
# ------------------------------------------------------------------------------------------


def _ddp_clip_step(rank, world_size, params, images, texts):
    """One DDP step; the recipe: each rank's share (group=) times world_size, DDP averages."""
    import lossbridge
    import lossbridge.distributed as lbd

    class Towers(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.image = torch.nn.Linear(images.shape[1], 3, bias=False).double()
            self.text = torch.nn.Linear(texts.shape[1], 3, bias=False).double()
            self.log_scale = torch.nn.Parameter(
                torch.tensor(math.log(1 / 0.07), dtype=torch.float64)
            )

        def forward(self, x, y):
            return (
                F.normalize(self.image(x), dim=-1),
                F.normalize(self.text(y), dim=-1),
                self.log_scale.exp(),
            )

    model = Towers()
    with torch.no_grad():
        model.image.weight.copy_(torch.tensor(params["image"]))
        model.text.weight.copy_(torch.tensor(params["text"]))
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    group = lbd.torch_group()
    rows = slice(rank * N_LOCAL, (rank + 1) * N_LOCAL)
    share = lossbridge.clip_loss(
        *ddp(torch.tensor(images[rows]), torch.tensor(texts[rows])), group=group
    )
    (share * group.world_size).backward()  # DDP averages the gradients: undo it
    return {
        "loss": group.all_sum(share.detach()),
        "grads": {name: p.grad for name, p in model.named_parameters()},
    }


@pytest.mark.parametrize("world_size", [2])
def test_ddp_clip_training_step_equals_full_batch(world_size):
    rng = np.random.default_rng(7)
    params = {"image": rng.standard_normal((3, 6)), "text": rng.standard_normal((3, 4))}
    images = rng.standard_normal((world_size * N_LOCAL, 6))
    texts = rng.standard_normal((world_size * N_LOCAL, 4))
    members = run_torch_world(
        _ddp_clip_step, world_size=world_size, args=(params, images, texts), timeout=120
    )
    # the full batch on one process, open_clip's formula
    w_img = torch.tensor(params["image"], requires_grad=True)
    w_txt = torch.tensor(params["text"], requires_grad=True)
    log_scale = torch.tensor(math.log(1 / 0.07), dtype=torch.float64, requires_grad=True)
    loss = _open_clip_clip(
        F.normalize(torch.tensor(images) @ w_img.T, dim=-1),
        F.normalize(torch.tensor(texts) @ w_txt.T, dim=-1),
        log_scale.exp(),
    )
    expected = dict(
        zip(
            ("image.weight", "text.weight", "log_scale"),
            torch.autograd.grad(loss, [w_img, w_txt, log_scale]),
            strict=True,
        )
    )
    for r, m in enumerate(members):
        _close(m["loss"], loss.detach().numpy(), f"rank {r} loss")
        for name, grad in expected.items():
            _close(m["grads"][name], grad.numpy(), f"rank {r} d/d{name}")


# ------------------------------------------------------------------------------------------
# JAX: a 4-device CPU mesh, shard_map
# ------------------------------------------------------------------------------------------

JAX_SCRIPT = """
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec as P

import lossbridge
import lossbridge.distributed as lbd

mesh = Mesh(np.array(jax.devices()), ("batch",))
d = {k: jnp.asarray(v) for k, v in inputs["data"].items()}
T, CIRCLE = inputs["temperature"], inputs["circle"]


def total(fn, batch_args, replicated_args):
    '''The psum over the members of fn's share, as a function of all the arrays.'''
    def member(batch, replicated):
        return jax.lax.psum(fn(lbd.jax_axis("batch"), *batch, *replicated), "batch")
    specs = (tuple(P("batch") for _ in batch_args), tuple(P() for _ in replicated_args))
    return jax.shard_map(member, mesh=mesh, in_specs=specs, out_specs=P())


losses = {
    "clip": (lambda g, x, y, s: lossbridge.clip_loss(x, y, s, group=g),
             ("image", "text"), ("scale",)),
    "siglip": (lambda g, x, y, s, b: lossbridge.siglip_loss(x, y, s, b, group=g),
               ("image", "text"), ("scale", "bias")),
    "supcon": (lambda g, x, y: lossbridge.supcon_loss(x, y, temperature=T["supcon"], group=g),
               ("features", "labels"), ()),
    "ntxent": (lambda g, x, y: lossbridge.ntxent_loss(x, y, temperature=T["ntxent"], group=g),
               ("views", "view_ids"), ()),
    "circle": (lambda g, x, y: lossbridge.circle_loss(x, y, **CIRCLE, group=g),
               ("features", "labels"), ()),
}
out = {}
for name, (fn, batch, replicated) in losses.items():
    f = total(fn, batch, replicated)
    floats = [k for k in batch + replicated if jnp.issubdtype(d[k].dtype, jnp.floating)]
    def objective(args, f=f, batch=batch, replicated=replicated):
        full = {**d, **args}
        return f(tuple(full[k] for k in batch), tuple(full[k] for k in replicated))
    value, grads = jax.jit(jax.value_and_grad(objective))({k: d[k] for k in floats})
    out[name] = {"value": value, **grads}

# SigLIP's ring: the shapes of every matrix product a member computes
def dot_shapes(jaxpr):
    shapes = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            shapes.append(tuple(eqn.outvars[0].aval.shape))
        for sub in jax.core.jaxprs_in_params(eqn.params):
            shapes += dot_shapes(sub)
    return shapes

fn, batch, replicated = losses["siglip"]
f = total(fn, batch, replicated)
grad_fn = jax.grad(lambda x, y, s, b: f((x, y), (s, b)), argnums=(0, 1, 2, 3))
jaxpr = jax.make_jaxpr(grad_fn)(d["image"], d["text"], d["scale"], d["bias"])
out["siglip_dots"] = np.array(dot_shapes(jaxpr.jaxpr))
result = out
"""


def test_jax_shard_map_shares_equal_full_batch():
    data = _data(4)
    out = run_jax_mesh(
        JAX_SCRIPT,
        devices=4,
        inputs={"data": data, "temperature": TEMPERATURE, "circle": CIRCLE},
        timeout=300,
    )
    expected = _full_batch(data)
    for name in LOSSES:
        _close(out[name]["value"], expected[name]["value"], f"jax {name} value")
        for arg, grad in expected[name].items():
            if arg != "value":
                _close(out[name][arg], grad, f"jax {name} d/d{arg}")
    # forward and backward: every product is a member's local block against one member's
    # (logits blocks N_LOCAL x N_LOCAL, their cotangent times features N_LOCAL x DIM): no
    # product has the gathered batch's 4 * N_LOCAL rows or columns
    dots = out["siglip_dots"]
    assert [N_LOCAL, N_LOCAL] in dots.tolist()
    assert dots.max() == max(N_LOCAL, DIM) and 4 * N_LOCAL not in dots, dots.tolist()


# ------------------------------------------------------------------------------------------
# TensorFlow: MirroredStrategy over 2 and 4 logical CPUs
# ------------------------------------------------------------------------------------------

TF_SCRIPT = """
import numpy as np

import lossbridge
import lossbridge.distributed as lbd

d, n = inputs["data"], inputs["n_local"]
T, CIRCLE = inputs["temperature"], inputs["circle"]


def local(ctx):
    rows = slice(ctx.replica_id_in_sync_group * n, (ctx.replica_id_in_sync_group + 1) * n)
    return {k: tf.constant(v[rows] if v.ndim else v) for k, v in d.items()}


values = strategy.experimental_distribute_values_from_function(local)


@tf.function
def step(t):
    group = lbd.tf_replica()
    calls = {
        "clip": (lambda: lossbridge.clip_loss(t["image"], t["text"], t["scale"], group=group),
                 ("image", "text", "scale")),
        "siglip": (lambda: lossbridge.siglip_loss(t["image"], t["text"], t["scale"], t["bias"],
                                                  group=group),
                   ("image", "text", "scale", "bias")),
        "supcon": (lambda: lossbridge.supcon_loss(t["features"], t["labels"],
                                                  temperature=T["supcon"], group=group),
                   ("features",)),
        "ntxent": (lambda: lossbridge.ntxent_loss(t["views"], t["view_ids"],
                                                  temperature=T["ntxent"], group=group),
                   ("views",)),
        "circle": (lambda: lossbridge.circle_loss(t["features"], t["labels"], **CIRCLE,
                                                  group=group),
                   ("features",)),
    }
    out = {}
    for name, (call, wrt) in calls.items():
        with tf.GradientTape() as tape:
            for k in wrt:
                tape.watch(t[k])
            share = call()
        grads = tape.gradient(share, [t[k] for k in wrt])
        out[name] = {"value": share, **dict(zip(wrt, grads))}
    return out


per_replica = strategy.run(step, args=(values,))
result = [
    tf.nest.map_structure(lambda v, i=i: strategy.experimental_local_results(v)[i], per_replica)
    for i in range(strategy.num_replicas_in_sync)
]
"""


@pytest.mark.parametrize("devices", [2, 4])
def test_tf_mirrored_shares_equal_full_batch(devices):
    pytest.importorskip("tensorflow")
    data = _data(devices)
    members = run_tf_replicas(
        TF_SCRIPT,
        devices=devices,
        inputs={"data": data, "n_local": N_LOCAL, "temperature": TEMPERATURE, "circle": CIRCLE},
        timeout=300,
    )
    _check_members(members, _full_batch(data), devices, f"tf x{devices}")


# ------------------------------------------------------------------------------------------
# The docs' examples ("Losses across devices", contrastive losses), run as written
# ------------------------------------------------------------------------------------------
# Each source below is the text of a code block of the docs (float32, as users run them); the
# expected numbers are the full batch's in float64 (open_clip's formulas, pytorch-metric-
# learning), so the bound is float32's: 2e-5 relative (eps 1.2e-7 times the cancellation of
# the gradients, up to about 50 here).

EXAMPLE_RTOL = 2e-5

DOCS = Path(__file__).resolve().parents[1] / "docs" / "scale.md"


def _doc_block(title: str) -> str:
    """The python code block of docs/scale.md marked ``<!-- title -->``, as the docs show it."""
    m = re.search(rf"<!-- {re.escape(title)} -->\s*```python\n(.*?)```", DOCS.read_text(), re.S)
    assert m, f"docs/scale.md has no python block marked <!-- {title} -->"
    return m.group(1)


EXAMPLE_TORCH_CLIP = _doc_block("example: contrastive-torch")
EXAMPLE_JAX_SIGLIP = _doc_block("example: contrastive-jax")
EXAMPLE_TF_SUPCON = _doc_block("example: contrastive-tf")


def _example_close(got, expected, what):
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    error = np.max(np.abs(got - expected)) / np.max(np.abs(expected))
    assert error <= EXAMPLE_RTOL, f"{what}: relative error {error:.3g}: {got} vs {expected}"


def test_docs_example_torch_ddp_clip(tmp_path):
    import os
    import subprocess
    import sys

    script = tmp_path / "clip_ddp_example.py"
    script.write_text(EXAMPLE_TORCH_CLIP)
    env = {**os.environ, "MASTER_PORT": str(free_port()), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=180
    )
    assert done.returncode == 0, done.stderr[-4000:]
    words = done.stdout.split()
    loss, scale_grad = float(words[words.index("loss") + 1]), float(words[-1])
    # the full batch on one process, float64, from the example's own model and data
    ns: dict = {"__name__": "clip_ddp_example"}
    exec(compile(EXAMPLE_TORCH_CLIP, str(script), "exec"), ns)
    torch.manual_seed(0)
    model = ns["CLIP"]().double()
    images, texts = (a.double() for a in ns["global_batch"]())
    expected = _open_clip_clip(*model(images, texts))
    (expected_grad,) = torch.autograd.grad(expected, [model.logit_scale])
    _example_close(loss, expected.item(), "loss")
    _example_close(scale_grad, expected_grad.item(), "d/dlogit_scale")


def test_docs_example_jax_shard_map_siglip():
    source = EXAMPLE_JAX_SIGLIP + (
        "\nresult = {'loss': loss, 'grads': grads, 'images': images, 'texts': texts,"
        " 'params': params, 'devices': len(jax.devices())}\n"
    )
    out = run_source(source, timeout=180, label="jax")
    assert out["devices"] == 4
    x, y = (torch.tensor(out[k], dtype=torch.float64) for k in ("images", "texts"))
    log_scale, bias = (
        torch.tensor(float(out["params"][k]), dtype=torch.float64, requires_grad=True)
        for k in ("log_scale", "bias")
    )
    expected = _open_clip_siglip(x, y, log_scale.exp(), bias)
    grads = torch.autograd.grad(expected, [log_scale, bias])
    _example_close(out["loss"], expected.item(), "loss")
    _example_close(out["grads"]["log_scale"], grads[0].item(), "d/dlog_scale")
    _example_close(out["grads"]["bias"], grads[1].item(), "d/dbias")


def test_docs_example_tf_mirrored_supcon():
    pytest.importorskip("tensorflow")
    from pytorch_metric_learning.losses import SupConLoss

    source = EXAMPLE_TF_SUPCON + (
        "\nresult = {'loss': loss, 'grad': grad, 'features': features, 'labels': labels,"
        " 'projection': projection.numpy(), 'replicas': strategy.num_replicas_in_sync}\n"
    )
    out = run_source(source, timeout=240, label="tf")
    assert out["replicas"] == 2
    w = torch.tensor(out["projection"], dtype=torch.float64, requires_grad=True)
    expected = SupConLoss(temperature=0.1)(
        torch.tensor(out["features"], dtype=torch.float64) @ w, torch.tensor(out["labels"])
    )
    (expected_grad,) = torch.autograd.grad(expected, [w])
    _example_close(out["loss"], expected.item(), "loss")
    _example_close(out["grad"], expected_grad.numpy(), "d/dprojection")
