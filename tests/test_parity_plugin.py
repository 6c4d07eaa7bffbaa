"""The pytest plugin, run the way a user runs it: test files written by ``pytester``.

The user's loss and its tests live in files written here into a temporary directory (nothing of
them ships); pytest runs them in-process with the plugin loaded from its ``pytest11`` entry
point. The worked example of ``docs/parity.md`` is executed too: its files, its Python block and
its command line.
"""

from __future__ import annotations

import re
import shlex
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lossbridge.conformance.drivers import available_drivers

pytest_plugins = ["pytester"]

BACKENDS = [d.name for d in available_drivers()]
DOCS = Path(__file__).resolve().parents[1] / "docs" / "parity.md"

USER_LOSS = '''
from lossbridge.backends import framework_name, get_namespace


def log_cosh(pred, target):
    """mean(log(cosh(pred - target))), written against the array API."""
    xp, _ = get_namespace(pred, target)
    d = pred - target
    return xp.mean(xp.abs(d) + xp.log1p(xp.exp(-2 * xp.abs(d))) - 0.6931471805599453)


def log_cosh_eps_torch(pred, target):
    """A port with a stray epsilon, on torch only."""
    out = log_cosh(pred, target)
    return out + 1e-3 if framework_name(pred) == "torch" else out
'''

USER_TESTS = """
from lossbridge.conformance import spec
from user_losses import log_cosh, log_cosh_eps_torch

SPECS = {"pred": spec((6, 4), scale=2.0), "target": spec((6, 4))}


def test_log_cosh(parity):
    parity(log_cosh, specs=SPECS)


def test_log_cosh_eps_torch(parity):
    parity(log_cosh_eps_torch, specs=SPECS)
"""


@pytest.fixture(autouse=True, scope="module")
def _imported_outside_pytester() -> None:
    """Import the frameworks and lossbridge's modules before any pytester run.

    pytester forgets the modules first imported inside a run; a framework (or a part of one)
    imported again afterwards registers its native parts twice (TensorFlow aborts, torch's
    operator libraries raise), and a second copy of lossbridge.conformance.parity would have a
    second Spec class.
    """
    import importlib
    import importlib.util

    for name in ("torch", "jax", "tensorflow", "array_api_strict", "matplotlib.figure"):
        if importlib.util.find_spec(name.split(".")[0]) is not None:
            importlib.import_module(name)
    for name in ("parity", "report", "heatmap", "pytest_plugin", "__main__"):
        importlib.import_module(f"lossbridge.conformance.{name}")
    # One eager check on every backend: the frameworks' lazily imported parts (torch's meta
    # device registers operators when first used) load here, once.
    from lossbridge.backends import get_namespace
    from lossbridge.conformance import check, spec

    def warm(x):
        xp, _ = get_namespace(x)
        return xp.sum(x * x)

    check(warm, specs={"x": spec(3)}, compiled=False)


@pytest.fixture
def user_project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(user_losses=USER_LOSS, test_user=USER_TESTS)
    return pytester


def _forget(*modules: str) -> None:
    for m in modules:
        sys.modules.pop(m, None)


def test_plugin_is_registered_by_its_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--parity-backends=LIST*", "*--parity-device=DEVICE*"])
    pytester.makepyfile(test_fixture="def test_it(parity):\n    assert parity\n")
    assert pytester.runpytest().ret == 0
    result = pytester.runpytest("-p", "no:lossbridge")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'parity' not found*"])


@pytest.mark.skipif("torch" not in BACKENDS, reason="the broken variant is broken on torch")
def test_user_loss_checked_on_every_backend_and_broken_port_caught(user_project, tmp_path):
    reports = tmp_path / "reports"
    result = user_project.runpytest("--parity-no-compile", f"--parity-report={reports}")
    _forget("user_losses", "test_user")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_log_cosh_eps_torch*",
            "*parity of log_cosh_eps_torch: * checks failed, pointing at torch float32, "
            "torch float64*",
            "*value: log_cosh_eps_torch[[]specs[]]() on torch float32: relative error * "
            "against the float64 reference exceeds 1e-06; worst element (scalar): got *, "
            "expected * ulp)*",
            "*repro:*",
            "*from user_losses import log_cosh_eps_torch*",
        ]
    )
    text = result.stdout.str()
    # the traceback ends at the user's line, not inside lossbridge
    assert re.search(r">\s+parity\(log_cosh_eps_torch, specs=SPECS\)", text)
    assert re.search(r"test_user.py:\d+: AssertionError", text)
    assert "pytest_plugin.py" not in text and "parity.py" not in text
    good = (reports / "test_log_cosh-log_cosh.md").read_text()
    for backend in BACKENDS:  # every installed backend, both dtypes
        for dtype in ("float32", "float64"):
            assert f"| log_cosh | {backend} | {dtype} |" in good
    assert "**PASS**" in good
    bad = (reports / "test_log_cosh_eps_torch-log_cosh_eps_torch.md").read_text()
    assert "**FAIL**" in bad and "Pointing at: log_cosh_eps_torch on torch float32" in bad


def test_options_set_the_defaults(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(user_losses=USER_LOSS)
    pytester.makepyfile(
        test_opts="""
from lossbridge.conformance import spec
from user_losses import log_cosh


def test_defaults(parity):
    report = parity.check(log_cosh, specs={"pred": spec(5), "target": spec(5)})
    assert report.ok and report.backends == ("numpy",) and report.dtypes == ("float32",)
    assert {r.backend for r in report.results} == {"numpy"}


def test_explicit_arguments_win(parity):
    report = parity(log_cosh, specs={"pred": spec(5), "target": spec(5)}, dtypes=["float64"])
    assert report.dtypes == ("float64",)
"""
    )
    result = pytester.runpytest("--parity-backends=numpy", "--parity-dtypes", "float32")
    _forget("user_losses", "test_opts")
    result.assert_outcomes(passed=2)


def test_half_dtypes_through_the_plugin(pytester: pytest.Pytester) -> None:
    """--parity-dtypes takes float16 and bfloat16 (bounds in ulps); an unknown dtype's error
    lists the four."""
    pytester.makepyfile(
        test_half="""
import pytest
from lossbridge.backends import get_namespace
from lossbridge.conformance import spec


def sq_f32(pred, target):
    xp, _ = get_namespace(pred, target)
    d = xp.astype(pred, xp.float32) - xp.astype(target, xp.float32)
    return xp.astype(xp.mean(d * d), pred.dtype)


def test_half(parity):
    report = parity(sq_f32, specs={"pred": spec(6), "target": spec(6)})
    assert report.dtypes == ("float16", "bfloat16")
    assert {r.dtype for r in report.ran} == {"float16", "bfloat16"}


def test_unknown(parity):
    with pytest.raises(ValueError, match="float32, float64, float16, bfloat16"):
        parity(sq_f32, specs={"pred": spec(6), "target": spec(6)}, dtypes=["float8"])
"""
    )
    result = pytester.runpytest(
        "--parity-backends=numpy", "--parity-dtypes=float16,bfloat16", "--parity-no-compile"
    )
    _forget("test_half")
    result.assert_outcomes(passed=2)


@pytest.mark.skipif("torch" not in BACKENDS, reason="needs torch")
def test_absent_device_skips_with_the_reason(user_project) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = user_project.runpytest(
        "--parity-device=cuda", "--parity-backends=torch", "--parity-skip-missing-device", "-rs"
    )
    _forget("user_losses", "test_user")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*no check ran: torch has no device cuda:0*"])


@pytest.mark.skipif(
    not {"torch", "tensorflow"} <= set(BACKENDS), reason="needs torch and tensorflow"
)
def test_porting_check_in_a_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_port="""
import tensorflow as tf
import torch

from lossbridge.conformance import spec

SPECS = {"x": spec((4, 3)), "y": spec((4, 3), "binary")}


def bce_torch(x, y):
    return torch.nn.functional.binary_cross_entropy_with_logits(x, y)


def bce_tf(x, y):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=x))


def bce_tf_sum(x, y):
    return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=x))


def test_port(parity):
    parity.port(bce_torch, bce_tf, specs=SPECS)


def test_port_wrong_reduction(parity):
    parity.port(bce_torch, bce_tf_sum, specs=SPECS, dtypes=["float32"])
"""
    )
    result = pytester.runpytest()
    _forget("test_port")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*cross: bce_torch vs bce_tf_sum*on tensorflow float32*against bce_torch on torch*"]
    )


# ------------------------------------------------------------------------------------------
# docs/parity.md's worked example
# ------------------------------------------------------------------------------------------


def _blocks(text: str) -> list[tuple[str, str, str]]:
    """``(marker, language, code)`` of every fenced block; marker is the HTML comment just
    before it (``file: NAME``, ``run``) or ''."""
    pattern = re.compile(r"(?:<!-- (.*?) -->\n)?```(\w*)\n(.*?)\n```", re.S)
    return [(m.group(1) or "", m.group(2), m.group(3)) for m in pattern.finditer(text)]


def test_docs_python_blocks_compile() -> None:
    blocks = _blocks(DOCS.read_text())
    python = [code for _, lang, code in blocks if lang == "python"]
    assert len(python) >= 6
    for code in python:
        compile(code, str(DOCS), "exec")


@pytest.mark.skipif("torch" not in BACKENDS, reason="the example's broken port is torch's")
def test_docs_worked_example(pytester: pytest.Pytester, monkeypatch, capsys) -> None:
    from lossbridge.conformance.__main__ import main

    blocks = _blocks(DOCS.read_text())
    files = {m.removeprefix("file: "): code for m, _, code in blocks if m.startswith("file: ")}
    assert set(files) == {"my_losses.py", "test_my_losses.py"}
    for name, code in files.items():
        pytester.path.joinpath(name).write_text(code + "\n")
    result = pytester.runpytest("test_my_losses.py", "--parity-no-compile")
    _forget("my_losses", "test_my_losses")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*pointing at torch float32, torch float64*"])

    monkeypatch.chdir(pytester.path)
    monkeypatch.syspath_prepend(str(pytester.path))
    runs = [(lang, code) for m, lang, code in blocks if m == "run"]
    assert [lang for lang, _ in runs] == ["python", "bash"]
    try:
        exec(compile(runs[0][1], "docs/parity.md", "exec"), {"__name__": "__docs__"})  # noqa: S102
        assert "pointing at torch float32" in capsys.readouterr().out
        argv = shlex.split(runs[1][1])
        assert argv[:3] == ["python", "-m", "lossbridge.conformance"]
        assert main(argv[3:] + ["-q"]) == 1
    finally:
        _forget("my_losses")
    out = capsys.readouterr().out
    assert "charbonnier_eps_torch" in out and "Pointing at: charbonnier_eps_torch on torch" in out
    md = (pytester.path / "parity.md").read_text()
    assert "| charbonnier | torch | float32 |" in md
    junit = ET.parse(pytester.path / "parity.xml").getroot()
    assert int(junit.get("failures")) >= 2  # torch float32 and float64 at least
    assert (pytester.path / "parity.png").read_bytes()[:4] == b"\x89PNG"
