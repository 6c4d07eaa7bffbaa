"""lossbridge at home in Keras (issue 17, item 1).

* A ``lossbridge.keras`` loss is a ``keras.losses.Loss`` whatever the import order, so
  ``model.fit`` weights it as Keras weights its own class (the expected value is Keras's own
  class on the same model, weights and data).
* ``model.save`` then ``keras.models.load_model`` in a fresh process, with no
  ``custom_objects``, on the TensorFlow, JAX and torch Keras backends (one process saves,
  a second loads; the expected losses are the ones the saving process evaluated).
* A core (torch-order) loss handed to Keras, which calls it as ``fn(y_true, y_pred)``, is
  stopped with an error that names ``lossbridge.keras``.

Tolerances: the losses below are means of at most 16 float32 terms of size ~1; the same
computation in another process or another order of the same float32 operations differs by a
few float32 ulps of the sum, far under ``rtol=1e-5`` (the wrong numbers these tests catch
differ by 2% or more).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lossbridge as lb
import lossbridge.keras as lk

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":
    pytest.skip("the in-process tests run on Keras's TensorFlow backend", allow_module_level=True)

RTOL = 1e-5


def _run(code: str, *args: str, backend: str = "tensorflow") -> str:
    """Run ``code`` in a fresh interpreter on the Keras ``backend``; its stdout."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


# ------------------------------------------------------------------------------------------
# Import order
# ------------------------------------------------------------------------------------------

IMPORT_ORDER = """
    import json, sys
    import numpy as np
    import lossbridge.keras as lk

    before = lk.BinaryCrossentropy()  # made before Keras is imported
    isinstance(before, int)  # reads before.__class__, which must not import Keras
    bad = [m for m in ("keras", "tensorflow", "jax", "torch") if m in sys.modules]
    assert not bad, bad
    import keras

    after = lk.BinaryCrossentropy()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype("float32")
    y = rng.integers(0, 2, size=(16, 1)).astype("float32")
    w = rng.uniform(0.1, 2.0, size=(16,)).astype("float32")
    kernel = rng.normal(size=(4, 1)).astype("float32")

    def fit_loss(loss):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
        model.set_weights([kernel, np.zeros(1, "float32")])
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss)
        history = model.fit(x, y, sample_weight=w, batch_size=16, epochs=1, verbose=0)
        return float(history.history["loss"][0])

    print(json.dumps({
        "isinstance": [isinstance(before, keras.losses.Loss), isinstance(after, keras.losses.Loss)],
        "before": fit_loss(before),
        "after": fit_loss(after),
        "keras": fit_loss(keras.losses.BinaryCrossentropy()),
    }))
"""


def test_loss_made_before_keras_import_is_a_keras_loss():
    """Made before and after ``import keras``, the loss is a ``keras.losses.Loss`` and
    ``fit`` with sample weights gives Keras's own class's loss (before the fix, the loss made
    first was wrapped by Keras, which weighted the reduced value: a different number)."""
    out = json.loads(_run(IMPORT_ORDER).strip().splitlines()[-1])
    assert out["isinstance"] == [True, True]
    np.testing.assert_allclose(out["before"], out["keras"], rtol=RTOL)
    np.testing.assert_allclose(out["after"], out["keras"], rtol=RTOL)


# ------------------------------------------------------------------------------------------
# Saving and loading
# ------------------------------------------------------------------------------------------

SAVE = """
    import json, sys
    import numpy as np
    import lossbridge.keras as lk  # before Keras: registered when Keras's import completes
    import keras

    path = sys.argv[1]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 5)).astype("float32")
    ys = [
        rng.integers(0, 3, size=(16,)),
        rng.integers(0, 2, size=(16, 1)).astype("float32"),
        rng.normal(size=(16, 2)).astype("float32"),
    ]
    inp = keras.Input((5,))
    outs = [
        keras.layers.Dense(3, name="cls")(inp),
        keras.layers.Dense(1, activation="sigmoid", name="bin")(inp),
        keras.layers.Dense(2, name="reg")(inp),
    ]
    model = keras.Model(inp, outs)
    losses = [
        lk.SparseCategoricalCrossentropy(from_logits=True),
        lk.BinaryCrossentropy(label_smoothing=0.1),
        lk.mean_squared_error,
    ]
    model.compile(optimizer="sgd", loss=losses)
    model.fit(x, ys, batch_size=16, epochs=1, verbose=0)
    before = model.evaluate(x, ys, verbose=0, return_dict=True)
    model.save(path + "/m.keras")
    np.savez(path + "/data.npz", x=x, y0=ys[0], y1=ys[1], y2=ys[2])
    configs = [losses[0].get_config(), losses[1].get_config()]
    json.dump({"before": before, "configs": configs}, open(path + "/saved.json", "w"))
"""

LOAD = """
    import json, sys
    import numpy as np

    path, order = sys.argv[1], sys.argv[2]
    if order == "lossbridge-first":
        import lossbridge.keras as lk
        import keras
    else:  # Keras first; Keras 3.15.1 imports no module outside its own packages on load
        import keras
        try:
            keras.models.load_model(path + "/m.keras")
        except TypeError as e:
            assert "lossbridge>SparseCategoricalCrossentropy" in str(e), e
        else:
            raise AssertionError("Keras found the class without lossbridge.keras")
        import lossbridge.keras as lk
    import lossbridge as lb

    saved = json.load(open(path + "/saved.json"))
    data = np.load(path + "/data.npz")
    ys = [data["y0"], data["y1"], data["y2"]]
    model = keras.models.load_model(path + "/m.keras")
    after = model.evaluate(data["x"], ys, verbose=0, return_dict=True)
    scce, bce, mse = model.loss
    assert type(scce) is not lk.SparseCategoricalCrossentropy  # the Keras-compatible class
    assert isinstance(scce, lk.SparseCategoricalCrossentropy), type(scce)
    assert isinstance(bce, lk.BinaryCrossentropy), type(bce)
    assert isinstance(scce, keras.losses.Loss) and isinstance(bce, keras.losses.Loss)
    assert [scce.get_config(), bce.get_config()] == saved["configs"]
    assert mse is lk.mean_squared_error, mse

    # a core (torch-order) loss given to Keras is stopped on this backend too
    small = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, activation="sigmoid")])
    small.compile(loss=lb.binary_cross_entropy)
    try:
        small.evaluate(data["x"], ys[1], verbose=0)
    except TypeError as e:
        assert "lossbridge.keras.BinaryCrossentropy" in str(e), e
    else:
        raise AssertionError("a core loss called by Keras was not stopped")
    print(json.dumps({"before": saved["before"], "after": after}))
"""


@pytest.mark.parametrize(
    "backend, order",
    [
        ("tensorflow", "lossbridge-first"),
        ("jax", "keras-first"),
        ("torch", "lossbridge-first"),
    ],
)
def test_save_and_load_in_a_fresh_process(backend, order, tmp_path):
    """Saved in one process, loaded in another with no ``custom_objects``: the same losses
    (the saving process's evaluation of the same weights and data) and the same loss objects.
    Before registration, ``load_model`` failed with "Could not locate class"."""
    if backend != "tensorflow":
        pytest.importorskip(backend)
    _run(SAVE, str(tmp_path), backend=backend)
    out = json.loads(_run(LOAD, str(tmp_path), order, backend=backend).strip().splitlines()[-1])
    assert out["after"].keys() == out["before"].keys()
    for key, value in out["before"].items():
        np.testing.assert_allclose(out["after"][key], value, rtol=RTOL, err_msg=key)


def test_registration_survives_a_query_for_keras_before_its_import():
    """``importlib.util.find_spec("keras")`` (what availability checks do) between
    ``import lossbridge.keras`` and ``import keras`` imports nothing: the functions are still
    registered when Keras is imported (the import hook used to disarm itself on the query)."""
    out = _run(
        """
        import importlib.util
        import lossbridge.keras as lk
        assert importlib.util.find_spec("keras") is not None
        import keras
        print(keras.saving.get_registered_name(lk.mean_squared_error))
        print(keras.saving.get_registered_name(lk.huber))
        """,
        backend="jax",
    )
    assert out.split() == ["lossbridge>mean_squared_error", "lossbridge>huber"]


def test_serialize_names_the_keras_registration():
    """Our own config dicts carry Keras's registered name and Keras reads them back."""
    loss = lk.BinaryCrossentropy(label_smoothing=0.1)
    config = lk.serialize(loss)
    assert config["registered_name"] == "lossbridge>BinaryCrossentropy"
    assert keras.saving.get_registered_name(type(loss)) == "lossbridge>BinaryCrossentropy"
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, lk.BinaryCrossentropy) and again.get_config() == loss.get_config()
    again = keras.losses.get(config)  # Keras's own get on lossbridge's dict
    assert isinstance(again, lk.BinaryCrossentropy) and again.get_config() == loss.get_config()
    saved = keras.losses.serialize(lk.mean_squared_error)  # what model.save writes
    assert saved["config"] == "lossbridge>mean_squared_error"
    assert keras.losses.deserialize(saved) is lk.mean_squared_error
    assert lk.deserialize(saved) is lk.mean_squared_error
    assert isinstance(lk.get("lossbridge>Huber"), lk.Huber)


# ------------------------------------------------------------------------------------------
# Core (torch-order) functions given to model.compile
# ------------------------------------------------------------------------------------------


def _data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 4)).astype("float32")
    y = rng.integers(0, 2, size=(16, 1)).astype("float32")
    w = rng.uniform(0.1, 2.0, size=(16,)).astype("float32")
    kernel = rng.normal(size=(4, 1)).astype("float32")
    return x, y, w, kernel


def _model(kernel, activation="sigmoid"):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation=activation)])
    model.set_weights([kernel, np.zeros(1, "float32")])
    return model


def _fit(model, loss, x, y, w=None, **compile_kwargs):
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss, **compile_kwargs)
    history = model.fit(x, y, sample_weight=w, batch_size=16, epochs=1, verbose=0)
    return float(history.history["loss"][0])


def test_core_bce_in_compile_is_stopped():
    """``compile(loss=lb.binary_cross_entropy)``: Keras calls it as ``fn(y_true, y_pred)``
    (before the fix: the labels taken for probabilities, a loss of tens, no error)."""
    x, y, _, kernel = _data()
    with pytest.raises(TypeError, match=r"lossbridge\.keras\.BinaryCrossentropy"):
        _fit(_model(kernel), lb.binary_cross_entropy, x, y)
    # what the message points to gives Keras's own number
    want = _fit(_model(kernel), keras.losses.BinaryCrossentropy(), x, y)
    np.testing.assert_allclose(_fit(_model(kernel), lk.BinaryCrossentropy(), x, y), want, RTOL)
    # a core loss called by the user, in its own order, is not stopped
    p = 1.0 / (1.0 + np.exp(-(x.astype("f8") @ kernel)))  # float64 formula
    want = -np.mean(y * np.log(p) + (1 - y) * np.log1p(-p))
    got = _fit(_model(kernel), lambda t, p: lb.binary_cross_entropy(p, t, reduction="none"), x, y)
    np.testing.assert_allclose(got, want, RTOL)


def test_core_mse_with_sample_weight_is_stopped():
    """``lb.mse_loss`` with sample weights: Keras would weight the already reduced value
    (before the fix: a different number from Keras's, no error); as a metric too."""
    x, y, w, kernel = _data()
    with pytest.raises(TypeError, match=r"mse_loss: .*lossbridge\.keras\.MeanSquaredError"):
        _fit(_model(kernel, None), lb.mse_loss, x, y, w)
    with pytest.raises(TypeError, match=r"lossbridge\.keras"):
        _fit(_model(kernel, None), "mse", x, y, w, metrics=[lb.mse_loss])
    want = _fit(_model(kernel, None), keras.losses.MeanSquaredError(), x, y, w)
    got = _fit(_model(kernel, None), lk.MeanSquaredError(), x, y, w)
    np.testing.assert_allclose(got, want, RTOL)


def test_core_loss_in_our_wrapper_is_stopped():
    """``lossbridge.keras.LossFunctionWrapper`` calls ``fn(y_true, y_pred)`` too."""
    with pytest.raises(TypeError, match=r"LossFunctionWrapper: .*lossbridge\.keras"):
        lk.LossFunctionWrapper(lb.mse_loss)
    assert lk.LossFunctionWrapper(lk.mean_squared_error).fn is lk.mean_squared_error
