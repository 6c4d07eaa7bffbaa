"""The command line on a user's module: ``--target package.module:function``.

The user's module is written here into a temporary directory (nothing of it ships). The command
runs in-process through :func:`lossbridge.conformance.__main__.main`; only ``--help`` of the
console script runs in a subprocess.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lossbridge.conformance.__main__ import main, parse_kwarg, parse_spec
from lossbridge.conformance.drivers import available_drivers

BACKENDS = [d.name for d in available_drivers()]

USER_MODULE = '''
import numpy as np

from lossbridge.backends import framework_name, get_namespace
from lossbridge.conformance import spec


def pinball(pred, target, tau=0.5):
    """Quantile (pinball) loss, written against the array API."""
    xp, _ = get_namespace(pred, target)
    d = target - pred
    return xp.mean(xp.maximum(tau * d, (tau - 1) * d))


def pinball_eps_tf(pred, target, tau=0.5):
    """A port that adds 1e-4 on TensorFlow only."""
    out = pinball(pred, target, tau)
    return out + 1e-4 if framework_name(pred) == "tensorflow" else out


def per_sample(pred, target):
    xp, _ = get_namespace(pred, target)
    return xp.sum((pred - target) ** 2, axis=-1)


per_sample.parity_inputs = lambda: {"pred": spec((4, 3)), "target": spec((4, 3))}
per_sample.parity_options = {"skip": {"grad_fd": "not needed"}}

def f32_inside(pred, target):
    """Mean squared error computed in float32 and rounded once to the input dtype."""
    xp, _ = get_namespace(pred, target)
    d = xp.astype(pred, xp.float32) - xp.astype(target, xp.float32)
    return xp.astype(xp.mean(d * d), pred.dtype)


FIXED = {"pred": np.linspace(-1, 1, 6), "target": np.zeros(6)}


def make_inputs():
    return {"pred": spec((5, 3), scale=2.0), "target": spec((5, 3))}
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "user_cli_losses.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    sys.modules.pop("user_cli_losses", None)


def test_target_on_every_backend_with_reports(user_module, capsys) -> None:
    paths = {k: user_module / f"out.{k}" for k in ("json", "md", "xml", "png")}
    argv = ["--target", "user_cli_losses:pinball", "--no-compile", "-q"]
    argv += ["--json", str(paths["json"]), "--markdown", str(paths["md"])]
    argv += ["--junit", str(paths["xml"]), "--heatmap", str(paths["png"])]
    if importlib_missing("matplotlib"):
        argv = argv[:-2]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "pinball" in out and "checks run" in out and "0 failed" in out
    doc = json.loads(paths["json"].read_text())
    ran = {(r["backend"], r["dtype"]) for r in doc["results"] if not r["skipped"]}
    assert ran == {(b, dt) for b in BACKENDS for dt in ("float32", "float64")}
    assert {r["loss"] for r in doc["results"]} == {"pinball"}  # no registry loss ran
    md = paths["md"].read_text()
    assert "**PASS**" in md and all(f"| pinball | {b} | float32 |" in md for b in BACKENDS)
    junit = ET.parse(paths["xml"]).getroot()
    assert junit.get("tests") == str(2 * len(BACKENDS)) and junit.get("failures") == "0"
    if paths["png"].exists():
        assert paths["png"].read_bytes()[:4] == b"\x89PNG"


def importlib_missing(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is None


@pytest.mark.skipif("tensorflow" not in BACKENDS, reason="the broken port is TensorFlow's")
def test_broken_port_exits_1_and_names_tensorflow(user_module, capsys) -> None:
    junit = user_module / "j.xml"
    backends = [b for b in ("numpy", "tensorflow") if b in BACKENDS]
    argv = ["--target", "user_cli_losses:pinball_eps_tf", "--no-compile", "-q"]
    argv += ["--dtype", "float64", "--junit", str(junit)]
    argv += [x for b in backends for x in ("--backend", b)]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "FAILURES" in out and "Pointing at: pinball_eps_tf on tensorflow float64" in out
    assert "value: pinball_eps_tf[specs]() on tensorflow float64" in out
    assert "worst element (scalar)" in out and "from user_cli_losses import pinball_eps_tf" in out
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "1" and root.get("tests") == str(len(backends))
    (case,) = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert case.get("name") == "specs[tensorflow-float64]"


def test_inputs_from_attribute_flag_spec_and_kwarg(user_module, capsys) -> None:
    common = ["--backend", "numpy", "--dtype", "float64", "--no-compile", "-q"]
    js = user_module / "a.json"
    # the function's parity_inputs attribute, and its parity_options (skip)
    assert main(["--target", "user_cli_losses:per_sample", *common, "--json", str(js)]) == 0
    results = json.loads(js.read_text())["results"]
    assert {r["case"] for r in results} == {"specs"}
    # --inputs NAME in the target's module (fixed arrays), --kwarg, --spec replacing one input
    argv = ["--target", "user_cli_losses:pinball", "--inputs", "FIXED", "--kwarg", "tau=0.9"]
    assert main([*argv, *common, "--json", str(js)]) == 0
    (r,) = [r for r in json.loads(js.read_text())["results"] if r["check"] == "value"]
    assert r["case"] == "inputs" and r["passed"]
    # the keyword really reaches the function: a string tau breaks the NumPy reference
    assert main([*argv, "--kwarg", "tau='x'", *common]) == 2
    assert "pinball on NumPy float64 arrays (input set 'inputs') raised" in capsys.readouterr().err
    argv = ["--target", "user_cli_losses:pinball", "--spec", "target=5x3:uniform:low=-2,high=2"]
    assert main([*argv, *common]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--target", "no_such_module:f"], "cannot import 'no_such_module'"),
        (["--target", "user_cli_losses:nope"], "has no attribute 'nope'"),
        (["--target", "user_cli_losses"], "expected package.module:function"),
        (["--target", "user_cli_losses:FIXED"], "not callable"),
        (["--target", "user_cli_losses:pinball", "--spec", "pred=8x5:gauss"], "unknown spec"),
        (["--target", "user_cli_losses:pinball", "--spec", "oops"], "bad --spec"),
        (["--spec", "x=3"], "apply to --target functions only"),
        (["--target", "user_cli_losses:pinball", "--dtype", "float8"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(user_module, capsys, argv, message) -> None:
    assert main([*argv, "-q"]) == 2
    assert message in capsys.readouterr().err


def test_target_at_the_half_dtypes(user_module, capsys) -> None:
    """--dtype float16 --dtype bfloat16 runs a --target at both (bounds in ulps), and the
    report shows the half rows; a half-ulp-accurate function (the squared error in float32,
    rounded once) passes."""
    argv = ["--target", "user_cli_losses:f32_inside", "--backend", "numpy", "--no-compile"]
    argv += ["--dtype", "float16", "--dtype", "bfloat16", "--json", "out.json", "-q"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "float16: values 1 ulp" in out and "bfloat16: values 1 ulp" in out
    doc = json.loads((user_module / "out.json").read_text())
    ran = {(r["backend"], r["dtype"]) for r in doc["results"] if not r["skipped"]}
    assert ran == {("numpy", "float16"), ("numpy", "bfloat16")}


def test_no_inputs_is_a_usage_error(user_module, capsys, monkeypatch) -> None:
    import user_cli_losses

    monkeypatch.delattr(user_cli_losses, "make_inputs")
    assert main(["--target", "user_cli_losses:pinball", "-q"]) == 2
    assert "no inputs for user_cli_losses:pinball" in capsys.readouterr().err


@pytest.mark.skipif("torch" not in BACKENDS, reason="needs torch")
def test_absent_device_fails_exit_2(user_module, capsys) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    argv = ["--target", "user_cli_losses:pinball", "--device", "cuda", "--backend", "torch"]
    assert main([*argv, "-q"]) == 2
    err = capsys.readouterr().err
    assert "device 'cuda' is not available" in err and "torch has no device cuda:0" in err


def test_progress_bar_on_a_terminal_only(user_module, capsys, monkeypatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    argv = ["--target", "user_cli_losses:pinball", "--backend", "numpy", "--dtype", "float32"]
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    assert main(argv) == 0
    text = tty.getvalue()
    assert (
        "\r[" in text
        and "#" in text
        and "100%" in text
        and "left" in text
        and "pinball: 0 failures" in text
    )
    plain = io.StringIO()
    monkeypatch.setattr(sys, "stderr", plain)
    assert main(argv) == 0
    assert "\r" not in plain.getvalue() and "pinball: 0 failures" in plain.getvalue()
    quiet = io.StringIO()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert main([*argv, "-q"]) == 0 and quiet.getvalue() == ""
    capsys.readouterr()


def test_parse_spec_and_kwarg() -> None:
    name, s = parse_spec("target=8:labels:5")
    assert name == "target" and s.shape == (8,) and s.kind == "labels" and s.num_classes == 5
    name, s = parse_spec("var=8x5:positive:low=0.5,high=3")
    assert s.shape == (8, 5) and s.range == (0.5, 3)
    assert parse_spec("x=scalar")[1].shape == ()
    assert parse_kwarg("reduction=sum") == ("reduction", "sum")
    assert parse_kwarg("eps=1e-3") == ("eps", 1e-3)
    assert parse_kwarg("weight=[1, 2]") == ("weight", [1, 2])


def test_console_script_help() -> None:
    """The console script pip installed next to this interpreter (the venv need not be on PATH)."""
    script = Path(sys.executable).with_name("lossbridge-conformance")
    assert script.exists(), f"no console script at {script}"
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    for flag in ("--target", "--device", "--markdown", "--junit", "--heatmap", "exit status"):
        assert flag in proc.stdout
