"""Keras's and optax's own loss tests, run against ``lossbridge.keras`` and ``lossbridge.optax``.

The test files are the ones shipped in the installed wheels (Keras 3.15.1's
``keras/src/losses/losses_test.py`` and ``loss_test.py``; optax 0.2.8's
``optax/losses/*_test.py``), loaded at test time with the import of the module under test
pointed at the dialect (``tests/_framework_suites.py`` says how). Every upstream test is one
pytest item per input backend (NumPy, torch, JAX, TensorFlow): ``test_upstream[<suite>::<class>::
<method>-<backend>]``. Expected values are upstream's own (Keras's and optax's numbers).

Outcomes:

* passed: the upstream test passes on our dialect with that backend's arrays;
* xfailed (strict): an entry of ``tests/framework_suites_allowlist.py``, a documented difference
  or a fix still pending; the failure must be the one the entry names, and an entry that
  starts passing fails the run, so the list stays true;
* skipped: not applicable, with the reason: the test differentiates our function with
  ``jax.grad`` (only JAX arrays can flow through that; ``jax.jit``/``jax.vmap`` of our function
  do run on every backend, through ``jax.pure_callback``), or upstream skips it itself on
  Keras's TensorFlow backend, or the installed Keras/optax is not the version imitated.

Any other failure fails CI. Run alone:
``.venv/bin/python -m pytest tests/test_framework_suites.py``; the per-suite counts
(``docs/framework_suites.md``):
``.venv/bin/python tests/_framework_suites.py``.
"""

from __future__ import annotations

import os
import re

import pytest
from _framework_suites import (
    BACKENDS,
    SUITES,
    JaxOnly,
    Proxy,
    collect,
    pytest_marks,
    run_upstream,
    suite_problem,
)
from framework_suites_allowlist import ALLOWED, entry_for

os.environ.setdefault("KERAS_BACKEND", "tensorflow")


class NotTheAllowedFailure(BaseException):
    """An allowed test failed, but not as its entry says (never an instance of the entry's
    ``raises``, so the strict xfail reports it as a failure)."""


def _keras_problem() -> str | None:
    """Why the Keras suites cannot run in this process: Keras on another backend than
    TensorFlow (KERAS_BACKEND, ~/.keras/keras.json), the one ``tests/test_keras_dialect.py``
    compares with and whose branches of Keras's tests the dialect follows."""
    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":  # pragma: no cover - the default, and test_keras_dialect's
        return f"Keras runs on {backend} in this process; these tests expect tensorflow"
    return None


def _backends() -> list[str]:
    from lossbridge.conformance.drivers import available_drivers

    have = {d.name for d in available_drivers()}
    return [b for b in BACKENDS if b in have]


def _params() -> list:
    params = []
    for suite in SUITES:
        problem = suite_problem(suite) or (_keras_problem() if suite.dist == "keras" else None)
        if problem is not None:
            params.append(pytest.param(None, None, id=suite.name, marks=pytest.mark.skip(problem)))
            continue
        for test in collect(suite):
            for backend in _backends():
                # One worker runs an upstream test on every backend: JAX compiles its inputs
                # (jax.random, jnp ops at new shapes) once.
                marks = [pytest.mark.xdist_group(test.id), *pytest_marks(test)]
                entry = entry_for(test.id, backend)
                if entry is not None:
                    marks.append(
                        pytest.mark.xfail(strict=True, raises=entry.raises, reason=entry.why)
                    )
                params.append(pytest.param(test, backend, id=f"{test.id}-{backend}", marks=marks))
    return params


PARAMS = _params()


@pytest.mark.parametrize(("test", "backend"), PARAMS)
def test_upstream(test, backend):
    """One upstream test on ``backend``'s arrays."""
    entry = entry_for(test.id, backend)
    try:
        skipped = run_upstream(test, backend)
    except JaxOnly as exc:
        pytest.skip(f"not applicable on {backend}: {exc}")
    except BaseException as exc:
        if entry is not None and not (
            isinstance(exc, entry.raises) and re.search(entry.match, str(exc))
        ):
            raise NotTheAllowedFailure(
                f"{test.id} on {backend} fails otherwise than its allow-list entry says "
                f"({entry.raises.__name__} matching {entry.match!r}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        raise
    if skipped is not None:
        pytest.skip(f"skipped by the upstream test: {skipped}")


def test_allowlist_entries_match_collected_tests():
    """Every allow-list entry names tests that exist here (a renamed upstream test or a typo
    would otherwise leave a dead entry)."""
    ids = {p.values[0].id for p in PARAMS if p.values[0] is not None}
    running = {i.split("::")[0] for i in ids}
    if not ids:
        pytest.skip("no suite runs in this environment")
    dead = [
        e.tests
        for e in ALLOWED
        if {t.split("::")[0] for t in e.tests} & running and not any(e.matches(i) for i in ids)
    ]
    assert dead == [], f"allow-list entries matching no collected test: {dead}"


# ------------------------------------------------------------------------------------------
# The harness itself: the proxy really hands lossbridge the chosen backend's arrays.
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", _backends())
def test_proxy_converts_inputs_and_results(backend):
    pytest.importorskip("optax")
    np = pytest.importorskip("numpy")
    jax = pytest.importorskip("jax")
    from _framework_suites import ProxyFunction, _framework

    seen = []

    def spy(x, y, *, scale=1.0):
        seen.append((_framework(x), _framework(y), _framework(scale)))
        return x * scale + y

    suite = next(s for s in SUITES if s.dist == "optax")
    proxy = Proxy(suite, backend)
    f = ProxyFunction(proxy, "spy", spy)
    x, y = np.arange(3.0), jax.numpy.ones(3)
    eager = f(x, y, scale=np.float64(2.0))
    jitted = jax.jit(f)(x, y, scale=2.0)
    assert seen[0][:2] == (backend, backend)
    assert seen[-1] == (backend, backend, backend)  # inside jit: traced scale, a 0-d array
    for out in (eager, jitted):
        assert isinstance(out, jax.Array)
        np.testing.assert_array_equal(np.asarray(out), [1.0, 3.0, 5.0])
    if backend != "jax":
        with pytest.raises(JaxOnly):
            jax.grad(lambda a: f(a, y).sum())(x)
