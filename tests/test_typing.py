"""Static types of the package and of its public API seen from a user's code (issue 17, item 4).

One mypy run (``--strict``, the project's ``[tool.mypy]`` in pyproject.toml, as ``nox -s lint``
runs it) checks ``src/lossbridge`` and two small user modules: the package must be clean; the
user module that uses the API correctly must type-check, with each loss typed as the caller's
array type (a ``numpy.ndarray`` in, a ``numpy.ndarray`` out); the one with a misspelt reduction
and other wrong string options must fail with mypy's argument error at each of those lines.
About 20 s on a 2-core machine with no ``.mypy_cache``, under a second with one.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy", reason="mypy is not installed (the test extra installs it)")

# one worker runs the one mypy process (the module fixture) and owns .mypy_cache
pytestmark = pytest.mark.xdist_group("mypy")

ROOT = Path(__file__).resolve().parents[1]

#: Correct use: each ``reveal_type`` line is checked by :func:`test_loss_has_callers_array_type`.
CORRECT = """\
import numpy as np
import numpy.typing as npt

import lossbridge as lb

x: npt.NDArray[np.float64] = np.zeros((4, 3))
t = np.array([0, 1, 2, 1])
w = np.ones(3)
reveal_type(lb.cross_entropy(x, t, w, reduction="sum", label_smoothing=0.1))
reveal_type(lb.mse_loss(x, [[0.0, 1.0, 2.0]] * 4, "none"))
reveal_type(lb.kl_div(x, x, reduction="batchmean", log_target=True))
reveal_type(lb.huber_loss(x, 0.5, delta=2.0))
reveal_type(lb.dice_loss(x, t, activation="sigmoid", reduction="none"))
reveal_type(lb.dice_loss(x, t, activation=None))
reveal_type(lb.lovasz_softmax_loss(x, t, classes="all"))
reveal_type(lb.l2_regularization([x, x], scale=0.1))
reveal_type(lb.elastic_net_regularization({"w": x}))
reveal_type(lb.l1_regularization(x))
reveal_type(lb.optax.huber_loss(x, x, delta=0.5))
reveal_type(lb.nn.CrossEntropyLoss(w, label_smoothing=0.1)(x, t))
reveal_type(lb.nn.KLDivLoss(reduction="batchmean").forward(x, x))
reveal_type(lb.nn.LinearCrossEntropyLoss(3, 4, bias=True)(x, t, linear_weight=w))
reveal_type(lb.keras.huber(x, x, delta=2.0))
reveal_type(lb.keras.BinaryCrossentropy(True, 0.1, reduction="none")(x, x, sample_weight=w))
reduced: npt.NDArray[np.float64] = lb.binary_cross_entropy_with_logits(x, x, pos_weight=w)
loss = lb.get("mse_loss")
names: tuple[str, ...] = lb.available()
dialect = lb.keras.MeanSquaredError
"""

#: Wrong options, one per line from line 6 on: (line, argument, function, got, expected).
WRONG = """\
import numpy as np

import lossbridge as lb

x = np.zeros((2, 3))
lb.mse_loss(x, x, reduction="meen")
lb.cross_entropy(x, np.array([0, 1]), reduction="batchmean")
lb.kl_div(x, x, reduction="average")
lb.dice_loss(x, x, activation="relu")
lb.lovasz_softmax_loss(x, x, classes="some")
lb.nn.MSELoss(reduction="meen")
lb.nn.KLDivLoss(reduction="average")
lb.keras.Huber(reduction="meen")
"""
WRONG_CALLS = [
    (6, "reduction", "mse_loss", "'meen'", "Literal['none', 'mean', 'sum']"),
    (7, "reduction", "cross_entropy", "'batchmean'", "Literal['none', 'mean', 'sum']"),
    (8, "reduction", "kl_div", "'average'", "Literal['none', 'mean', 'sum', 'batchmean']"),
    (9, "activation", "dice_loss", "'relu'", "Literal['softmax', 'sigmoid'] | None"),
    (
        10,
        "classes",
        "lovasz_softmax_loss",
        "'some'",
        "Literal['all', 'present'] | list[int] | tuple[int, ...]",
    ),
    (11, "reduction", "MSELoss", "'meen'", "Literal['none', 'mean', 'sum']"),
    (12, "reduction", "KLDivLoss", "'average'", "Literal['none', 'mean', 'sum', 'batchmean']"),
    (
        13,
        "reduction",
        "Huber",
        "'meen'",
        "Literal['sum_over_batch_size', 'sum', 'mean', 'mean_with_sample_weight', 'none'] | None",
    ),
]

NDARRAY_F64 = "numpy.ndarray[tuple[Any, ...], numpy.dtype[numpy.float64]]"


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[int, str]]]:
    """mypy's lines by module, ``[(line, "error: ...")]``; the package's under "lossbridge"."""
    folder = tmp_path_factory.mktemp("typing")
    (folder / "user_correct.py").write_text(CORRECT)
    (folder / "user_wrong.py").write_text(WRONG)
    # cwd=ROOT: the configuration's mypy_path ("src") finds lossbridge's sources (mypy cannot
    # see through the editable install's import hook)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--no-error-summary",
            "--hide-error-context",
            str(ROOT / "src" / "lossbridge"),
            str(folder / "user_correct.py"),
            str(folder / "user_wrong.py"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 2: mypy itself failed
    report: dict[str, list[tuple[int, str]]] = {
        "user_correct": [],
        "user_wrong": [],
        "lossbridge": [],
    }
    for line in result.stdout.splitlines():
        m = re.match(r"(.*)\.py:(\d+): (.*)$", line)
        assert m is not None, f"unexpected mypy output: {line!r}\n{result.stdout}"
        path, line_no, text = m.groups()
        if Path(path).name in ("user_correct", "user_wrong"):
            report[Path(path).name].append((int(line_no), text))
        else:
            report["lossbridge"].append((int(line_no), f"{path}.py: {text}"))
    return report


def test_package_type_checks_strictly(mypy_report: dict[str, list[tuple[int, str]]]) -> None:
    """``mypy --strict`` over ``src/lossbridge`` (with pyproject.toml's documented relaxations)."""
    assert mypy_report["lossbridge"] == []


def test_correct_use_type_checks(mypy_report: dict[str, list[tuple[int, str]]]) -> None:
    errors = [e for e in mypy_report["user_correct"] if e[1].startswith("error")]
    assert errors == []


def test_loss_has_callers_array_type(mypy_report: dict[str, list[tuple[int, str]]]) -> None:
    """Every ``reveal_type`` of a loss on NumPy arrays is the NumPy array type, not ``Any``."""
    reveal_lines = [
        i for i, text in enumerate(CORRECT.splitlines(), start=1) if "reveal_type" in text
    ]
    revealed = {
        line: text.partition("Revealed type is ")[2].strip('"')
        for line, text in mypy_report["user_correct"]
        if "Revealed type is" in text
    }
    assert revealed == {line: NDARRAY_F64 for line in reveal_lines}


@pytest.mark.parametrize(("line", "argument", "function", "got", "expected"), WRONG_CALLS)
def test_wrong_option_is_a_type_error(
    mypy_report: dict[str, list[tuple[int, str]]],
    line: int,
    argument: str,
    function: str,
    got: str,
    expected: str,
) -> None:
    """A misspelt reduction (or activation, classes) is mypy's argument error at its line."""
    message = (
        f'error: Argument "{argument}" to "{function}" has incompatible type '
        f'"Literal[{got}]"; expected "{expected}"'
    )
    at_line = [text for n, text in mypy_report["user_wrong"] if n == line]
    assert any(text.startswith(message) for text in at_line), at_line


def test_only_the_wrong_calls_fail(mypy_report: dict[str, list[tuple[int, str]]]) -> None:
    lines = {n for n, text in mypy_report["user_wrong"] if text.startswith("error")}
    assert lines == {call[0] for call in WRONG_CALLS}
