"""The upstream tests allowed to fail in ``tests/test_framework_suites.py``, and why.

Each entry names upstream tests (``'<suite>::<class>::<method>'``, ``fnmatch`` wildcards
allowed), the input backends it covers, the exception and a regular expression its message
must contain (so an allowed test that starts failing for another reason fails the run), and
the reason: a difference documented in ``docs/porting.md`` or the dialect's docstrings, a
feature the dialect deliberately lacks, or a fix still pending (those lines go when it lands).
The tests are marked ``xfail(strict=True)``: an entry whose tests start passing fails the run,
so delete it then.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

import pytest

ALL = ("numpy", "torch", "jax", "tensorflow")

#: ``pytest.raises`` failing with "DID NOT RAISE" raises this.
DID_NOT_RAISE = pytest.fail.Exception


@dataclass(frozen=True)
class Allowed:
    """Upstream tests allowed to fail on some backends, with the failure they must show."""

    tests: tuple[str, ...]
    backends: tuple[str, ...]
    raises: type[BaseException]
    match: str
    why: str

    def matches(self, test_id: str) -> bool:
        return any(fnmatchcase(test_id, pattern) for pattern in self.tests)


def _keras(cls: str, *methods: str) -> tuple[str, ...]:
    return tuple(f"keras/losses_test::{cls}::{m}" for m in methods)


ALLOWED = [
    # ---------------------------------------------------------------- keras/losses_test
    # Documented difference (docs/porting.md, Precision: Keras): every dialect class's
    # get_config holds its hyperparameters, so from_config rebuilds the same loss; Keras
    # 3.15.1's Huber and CosineSimilarity leave delta and axis out (Huber(delta=2) comes back
    # from its config with delta=1), and their tests check for exactly that config.
    Allowed(
        ("keras/losses_test::HuberLossTest::test_config",),
        ALL,
        AssertionError,
        r"'delta': 1\.0",
        "documented: the dialect's Huber config keeps delta (Keras 3.15.1's drops it)",
    ),
    Allowed(
        ("keras/losses_test::CosineSimilarityTest::test_config",),
        ALL,
        AssertionError,
        r"'axis': 2",
        "documented: the dialect's CosineSimilarity config keeps axis (Keras 3.15.1's drops it)",
    ),
    # Documented difference (docs/porting.md 3.12, lossbridge.keras docstring): alpha weights
    # false positives and beta false negatives, as Keras's docstring says; Keras 3.15.1's code
    # swaps them (keras-team/keras#23333), and these tests hold its numbers.
    Allowed(
        _keras(
            "TverskyTest",
            "test_correctness_custom_coefficients",
            "test_binary_segmentation_custom_coefficients",
            "test_binary_segmentation_custom_coefficients_with_axis",
        ),
        ALL,
        AssertionError,
        "Not equal to tolerance",
        "documented: Keras 3.15.1's Tversky swaps alpha and beta (keras-team/keras#23333)",
    ),
    # Documented difference (lossbridge.keras.sparse_categorical_crossentropy, `axis`): Keras's
    # TensorFlow backend raises "Only axis=-1 is currently supported"; the dialect takes any
    # class axis (as Keras's torch backend does, whose branch of these tests it passes).
    Allowed(
        _keras(
            "SparseCategoricalCrossentropyTest",
            "test_binary_segmentation_different_axis",
            "test_multi_class_segmentation_different_axis",
        ),
        ALL,
        DID_NOT_RAISE,
        "DID NOT RAISE",
        "documented: the dialect takes any class axis; Keras's TF backend accepts only -1",
    ),
    # ---------------------------------------------------------------- keras/loss_test
    # Documented difference (docs/porting.md, Precision: Keras): with dtype=None a float64
    # prediction stays float64; Keras casts it to floatx (float32). These tests pass float64
    # NumPy arrays and check for a float32 loss.
    Allowed(
        (
            "keras/loss_test::LossTest::test_reduction",
            "keras/loss_test::LossTest::test_sample_weight",
        ),
        ALL,
        AssertionError,
        "float64",
        "documented: a float64 prediction stays float64 with dtype=None (Keras: float32)",
    ),
    # The same float64 difference, and behind it a second one (lossbridge.keras.Loss, Notes):
    # a Keras mask attached to y_pred (backend.set_keras_mask, `_keras_mask`) is not read, so
    # the masked items are not left out.
    Allowed(
        tuple(
            f"keras/loss_test::LossTest::{m}"
            for m in (
                "test_mask",
                "test_mask_and_sample_weight",
                "test_rank_adjustment_mask",
                "test_rank_adjustment_sample_weight",
                "test_rank_adjustment_ys",
            )
        ),
        ALL,
        AssertionError,
        "float64",
        "documented: float64 stays float64, and Keras masks on y_pred are not read",
    ),
    # ---------------------------------------------------------------- optax
    # Documented difference (lossbridge.optax.make_fenchel_young_loss, `max_fun`): max_fun
    # takes the whole (..., n) array and must reduce its last axis (the array API has no
    # jnp.vectorize); optax calls it on each row. The test passes
    # jax.scipy.special.logsumexp, which reduces every axis. (JAX only: on the other backends
    # the test differentiates the loss with jax.grad, not applicable.)
    Allowed(
        ("optax/_fenchel_young_test::FenchelYoungTest::test_fenchel_young_reg",),
        ("jax",),
        ValueError,
        "max_fun returned shape",
        "documented: max_fun must reduce the last axis (optax vectorizes it over rows)",
    ),
]


def entry_for(test_id: str, backend: str) -> Allowed | None:
    """The allow-list entry covering ``test_id`` on ``backend`` (the first that matches)."""
    for entry in ALLOWED:
        if backend in entry.backends and entry.matches(test_id):
            return entry
    return None
