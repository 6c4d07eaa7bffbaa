"""Finding losses by name: ``lossbridge.get``, ``lossbridge.available`` and the CLI's ``--list``.

The expected names come from the modules' ``__all__`` less the exports this file knows are not
losses (and, for the core, from the conformance registry), never from the functions under test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import lossbridge
import lossbridge.keras as lk
import lossbridge.monai as lm
import lossbridge.nn as lnn
import lossbridge.optax as lo
import lossbridge.tfa as lt
from lossbridge.conformance.registry import REGISTRY

#: Exports that are not losses: an options class and a distance helper (the core); the base
#: classes and keras.losses's get/serialize/deserialize; optax's factory and label transform.
NOT_LOSSES = {
    "core": {"LinearCrossEntropyOptions", "mean_denominator", "pairwise_distance"},
    "keras": {"Loss", "LossFunctionWrapper", "get", "serialize", "deserialize"},
    "optax": {"make_fenchel_young_loss", "smooth_labels"},
    "nn": set(),
    "monai": set(),
    "tfa": {"sparsemax"},  # the activation SparsemaxLoss takes (tfa.activations.sparsemax)
}
MODULES = {"core": lossbridge, "keras": lk, "optax": lo, "nn": lnn, "monai": lm, "tfa": lt}
FRAMEWORKS = ("torch", "tensorflow", "jax", "keras", "optax", "numpy")


def _expected(dialect: str) -> tuple[str, ...]:
    return tuple(sorted(set(MODULES[dialect].__all__) - NOT_LOSSES[dialect]))


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args, "-c", textwrap.dedent(code)] if code else [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


# ------------------------------------------------------------------------------------------
# available
# ------------------------------------------------------------------------------------------


def test_available_lists_every_core_loss_sorted():
    names = lossbridge.available()
    assert isinstance(names, tuple)
    assert names == _expected("core")
    # the registry's core entries are the same set, from an independent source
    assert set(names) == {n for n in REGISTRY if "." not in n}
    assert len(names) == 78


@pytest.mark.parametrize("dialect", ["keras", "optax", "nn", "monai", "tfa"])
def test_available_lists_every_dialect_loss(dialect):
    names = lossbridge.available(dialect)
    assert names == _expected(dialect)
    # every dialect loss with a registry entry is listed (LinearCrossEntropyLoss, NLLLoss2d
    # and the keras functions have none)
    entries = {n.partition(".")[2] for n in REGISTRY if n.startswith(f"{dialect}.")}
    assert entries and entries <= set(names)


def test_available_refuses_an_unknown_dialect():
    with pytest.raises(ValueError, match=r"^available: dialect='torch' .*'keras', 'optax', 'nn'"):
        lossbridge.available("torch")


# ------------------------------------------------------------------------------------------
# get
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", _expected("core"))
def test_get_returns_the_core_loss(name):
    assert lossbridge.get(name) is getattr(lossbridge, name)


@pytest.mark.parametrize("dialect", ["keras", "optax", "nn"])
def test_get_returns_the_dialect_object_for_a_qualified_name(dialect):
    for name in _expected(dialect):
        assert lossbridge.get(f"{dialect}.{name}") is getattr(MODULES[dialect], name), name


@pytest.mark.parametrize(
    ("asked", "suggested"),
    [
        ("cross_entropi", "'cross_entropy'"),
        ("CrossEntropyLoss", "'nn.CrossEntropyLoss'"),  # torch's class name: the nn dialect
        ("torch.CrossEntropyLoss", "'nn.CrossEntropyLoss'"),
        ("keras.MeanSquaredErorr", "'keras.MeanSquaredError'"),
        ("keras.losses.Huber", "'keras.Huber'"),
        ("optax.softmax_crossentropy", "'optax.softmax_cross_entropy'"),
        ("MSE_LOSS", "'mse_loss'"),  # case ignored
        ("mse", "'mse_loss'"),  # a name it is part of
    ],
)
def test_get_suggests_near_names(asked, suggested):
    with pytest.raises(ValueError) as info:
        lossbridge.get(asked)
    message = str(info.value)
    assert message.startswith(f"get: name={asked!r} is not a lossbridge loss")
    did_you_mean = message.partition("Did you mean ")[2]
    assert suggested in did_you_mean


@pytest.mark.parametrize(
    "name",
    [
        "pairwise_distance",  # exported, not a loss
        "LinearCrossEntropyOptions",
        "keras.Loss",
        "keras.get",
        "optax.smooth_labels",
        "nn.cross_entropy",  # a core name under a dialect
        "cross_entropy.",
        "",
        "zzzz",
    ],
)
def test_get_refuses_what_is_not_a_loss(name):
    with pytest.raises(ValueError, match=r"^get: name=.* is not a lossbridge loss; expected"):
        lossbridge.get(name)


def test_get_refuses_a_non_string():
    with pytest.raises(TypeError, match=r"^get: name must be a str .* got function"):
        lossbridge.get(lossbridge.mse_loss)


def test_get_and_available_import_no_framework():
    """In a fresh interpreter: every name listed and looked up, errors included, and nothing
    of torch, TensorFlow, JAX, Keras, optax or NumPy is imported."""
    proc = _run(
        f"""
        import json, sys
        import lossbridge as lb
        found = 0
        for dialect in (None, "keras", "optax", "nn", "monai", "tfa"):
            for name in lb.available(dialect):
                lb.get(name if dialect is None else dialect + "." + name)
                found += 1
        try:
            lb.get("CrossEntropyLoss")
        except ValueError:
            pass
        print(json.dumps({{"found": found,
                          "loaded": [m for m in {FRAMEWORKS!r} if m in sys.modules]}}))
        """
    )
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["loaded"] == []
    assert res["found"] == sum(len(_expected(d)) for d in MODULES)


# ------------------------------------------------------------------------------------------
# python -m lossbridge.conformance --list
# ------------------------------------------------------------------------------------------


def _rows(stdout: str) -> dict[str, tuple[int, str]]:
    lines = stdout.strip().splitlines()
    rows = {}
    for line in lines[1:-1]:
        name, cases, oracles = line.split(None, 2)
        rows[name] = (int(cases), oracles)
    return rows


def test_cli_list_prints_every_entry_and_runs_nothing():
    """Every registry entry with its number of cases and oracles, fast, no framework loaded."""
    proc = _run(
        f"""
        import sys, time
        t0 = time.perf_counter()
        from lossbridge.conformance.__main__ import main
        status = main(["--list"])
        loaded = [m for m in {FRAMEWORKS[:-1]!r} if m in sys.modules]
        print("STATUS", status, loaded, time.perf_counter() - t0, file=sys.stderr)
        """
    )
    assert proc.returncode == 0, proc.stderr
    status_line = proc.stderr.strip().splitlines()[-1].split(" ", 2)
    assert status_line[:2] == ["STATUS", "0"]
    assert status_line[2].startswith("[] "), status_line  # no framework imported
    assert float(status_line[2].split()[-1]) < 10.0  # nothing ran (about 0.3 s here)
    rows = _rows(proc.stdout)
    assert list(rows) == list(REGISTRY)
    for name, entry in REGISTRY.items():
        cases, oracles = rows[name]
        assert cases == len(entry.cases), name
        if entry.oracle:
            assert f"torch.nn.functional.{entry.oracle}" in oracles, name
        for oracle in entry.extra_oracles:
            assert oracle.name in oracles, name
    total = proc.stdout.strip().splitlines()[-1]
    assert total == f"{len(REGISTRY)} entries, {sum(len(e.cases) for e in REGISTRY.values())} cases"
    assert rows["cross_entropy"][1] == "torch.nn.functional.cross_entropy"


def test_cli_list_with_loss_lists_only_those():
    proc = _run(
        "", "-m", "lossbridge.conformance", "--list", "--loss", "mse_loss", "--loss", "keras.Huber"
    )
    assert proc.returncode == 0, proc.stderr
    rows = _rows(proc.stdout)
    assert list(rows) == ["mse_loss", "keras.Huber"]
    assert rows["mse_loss"][0] == len(REGISTRY["mse_loss"].cases)
