"""Load Keras's and optax's own loss test files with their imports pointed at our dialects.

The test files ship inside the installed wheels (``keras/src/losses/losses_test.py`` and
``loss_test.py``, ``optax/losses/*_test.py``); nothing of them is copied here. A suite is loaded
once per input backend: its source is executed as a fresh module whose ``__import__`` hands out
a *proxy* where the file imports the module under test (``from keras.src.losses import losses``,
``from optax.losses import _classification``, ...). Everything else the file imports (numpy,
jax, Keras's ``backend``/``ops``/``testing``, absl, optax's ``test_utils``) is the real thing.

A proxy has the dialect's names (``lossbridge.keras`` or ``lossbridge.optax``). Each function,
and the ``__call__`` of each Keras class, converts the arrays it is given (NumPy, JAX,
TensorFlow or torch; Python scalars and lists pass unchanged) to the chosen backend's arrays,
calls lossbridge, and returns the result as the test expects it: NumPy arrays for the Keras
tests (Keras's ``assertAllClose``, ``backend.shape`` and ``assertDType`` read them), JAX arrays
for the optax tests (which apply ``jnp`` to them). On the JAX backend the arrays are passed as
they are, so ``jax.jit``, ``jax.grad`` and ``jax.vmap`` of our functions trace lossbridge's JAX
path. On the other backends a call that receives traced values (the test jits or vmaps our
function) goes through ``jax.pure_callback``, whose host function converts the values to that
backend and calls lossbridge there (:meth:`Converter.through_callback`); differentiating
through that raises :class:`JaxOnly`, which the pytest module reports as *not applicable*
(only JAX arrays can flow through ``jax.grad``).

Each ``unittest.TestCase`` method (absl's parameterized expansions included) becomes one
:class:`UpstreamTest`; :func:`run_upstream` runs it through unittest (``setUp``, the test,
``tearDown`` and cleanups) and re-raises its first failure for pytest.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.metadata
import importlib.util
import os
import sys
import types
import unittest
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: The input backends every test runs on.
BACKENDS = ("numpy", "torch", "jax", "tensorflow")


@dataclass(frozen=True)
class Suite:
    """One upstream test file.

    Attributes
    ----------
    name : str
        Our short name, e.g. ``'keras/losses_test'``; the first part of every test id.
    dist, version : str
        The distribution whose wheel holds the file and the version the dialect imitates.
    relpath : str
        The file inside the distribution's top-level package directory.
    dialect : str
        The lossbridge module the redirected imports point at.
    redirects : tuple of (str, str)
        ``(dotted, attribute)``: where the file imports ``dotted`` (a module, or
        ``module.name`` in ``from module import name``), it gets the proxy (``attribute``
        ``''``) or the proxy's ``attribute``.
    """

    name: str
    dist: str
    version: str
    relpath: str
    dialect: str
    redirects: tuple[tuple[str, str], ...]


_KERAS = dict(dist="keras", version="3.15.1", dialect="lossbridge.keras")
_OPTAX = dict(dist="optax", version="0.2.8", dialect="lossbridge.optax")

SUITES = (
    Suite(
        name="keras/losses_test",
        relpath="src/losses/losses_test.py",
        redirects=(("keras.src.losses.losses", ""),),
        **_KERAS,
    ),
    Suite(
        name="keras/loss_test",
        relpath="src/losses/loss_test.py",
        redirects=(
            ("keras.src.losses", ""),
            ("keras.src.losses.loss.Loss", "Loss"),
            ("keras.src.losses.loss.squeeze_or_expand_to_same_rank", "squeeze_or_expand"),
        ),
        **_KERAS,
    ),
    *(
        Suite(
            name=f"optax/{part}_test",
            relpath=f"losses/{part}_test.py",
            redirects=tuple((f"optax.losses.{m}", "") for m in modules),
            **_OPTAX,
        )
        for part, modules in (
            ("_classification", ("_classification",)),
            ("_regression", ("_regression",)),
            ("_segmentation", ("_segmentation",)),
            ("_self_supervised", ("_self_supervised",)),
            ("_smoothing", ("_smoothing",)),
            ("_ranking", ("_ranking",)),
            ("_fenchel_young", ("_classification", "_fenchel_young")),
        )
    ),
)


def suite_problem(suite: Suite) -> str | None:
    """Why ``suite`` cannot run here (None: it can): a missing package or another version."""
    needed = ("keras", "tensorflow") if suite.dist == "keras" else ("optax", "jax")
    for dist in needed:
        if importlib.util.find_spec(dist) is None:
            return f"{dist} is not installed"
    version = importlib.metadata.version(suite.dist)
    if version != suite.version:
        return (
            f"{suite.name}: the installed {suite.dist} is {version}; {suite.dialect} imitates "
            f"{suite.dist} {suite.version}, whose test files these must be"
        )
    return None


def suite_path(suite: Suite) -> Path:
    """The test file inside the installed wheel (found without importing the package)."""
    spec = importlib.util.find_spec(suite.dist)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / suite.relpath


# ------------------------------------------------------------------------------------------
# Array conversion
# ------------------------------------------------------------------------------------------


class JaxOnly(Exception):
    """The test differentiates our function with JAX (or hands a traced value to a Keras
    class): only JAX arrays can flow through that, so the test applies on the JAX backend
    only."""


def _framework(x: Any) -> str | None:
    """'numpy', 'jax', 'tensorflow' or 'torch' for an array of that framework, else None."""
    if isinstance(x, np.ndarray):
        return "numpy"
    root = type(x).__module__.split(".")[0]
    if root in ("jax", "jaxlib"):
        return "jax"
    if root in ("tensorflow", "keras") and hasattr(x, "numpy") and hasattr(x, "dtype"):
        return "tensorflow"
    if root == "torch" and hasattr(x, "detach"):
        return "torch"
    return None


def _host(x: Any, kind: str) -> np.ndarray:
    """A NumPy copy of an array of framework ``kind`` (bfloat16 kept through ml_dtypes)."""
    if kind == "torch":
        from lossbridge.conformance.drivers import get_driver

        return get_driver("torch").to_numpy(x)
    if kind == "tensorflow":
        return np.asarray(x.numpy())
    return np.asarray(x)


def _traced(args: tuple, kwargs: dict) -> bool:
    """Whether any argument is a traced JAX value (inside ``jit``, ``vmap``, ``grad``)."""
    if "jax" not in sys.modules:
        return False
    tracer = sys.modules["jax"].core.Tracer
    return any(isinstance(a, tracer) for a in (*args, *kwargs.values()))


class Converter:
    """Moves a call's arrays to one backend and its results back to what the test reads."""

    def __init__(self, backend: str, result: str):
        self.backend = backend
        self.result = result  # 'numpy' or 'jax'

    def arg(self, x: Any) -> Any:
        kind = _framework(x)
        if kind is None:
            return x
        if kind == "jax":
            import jax

            if isinstance(x, jax.core.Tracer):
                if self.backend == "jax":
                    return x
                raise JaxOnly(
                    f"the test transforms the loss with JAX (a {type(x).__name__} reached it)"
                )
        if kind == self.backend:
            return x
        from lossbridge.conformance.drivers import get_driver

        a = _host(x, kind)
        if not a.flags.writeable:  # a view of a JAX buffer; torch wants its own memory
            a = a.copy()
        out = get_driver(self.backend).from_numpy(a)
        if a.ndim == 0 and tuple(out.shape) != ():
            out = out.reshape(())
        return out

    def args(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        return tuple(self.arg(a) for a in args), {k: self.arg(v) for k, v in kwargs.items()}

    def through_callback(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        """``fn`` on this backend's arrays, called from inside ``jax.jit``/``jax.vmap``.

        The arrays (traced or not) go through ``jax.pure_callback``: the host function receives
        their values as NumPy arrays, converts them to this backend and calls ``fn``; the result
        shape and dtype come from ``jax.eval_shape`` of ``fn`` on the JAX path. ``vmap`` calls
        it once per element (``vmap_method='sequential'``). Differentiation cannot pass through
        it: that raises :class:`JaxOnly` (the test applies on the JAX backend only).
        """
        import jax

        slots = [("a", i) for i, a in enumerate(args) if _framework(a) is not None]
        slots += [("k", k) for k, v in kwargs.items() if _framework(v) is not None]

        def call_with(values: Any) -> Any:
            a, k = list(args), dict(kwargs)
            for (where, key), v in zip(slots, values, strict=True):
                if where == "a":
                    a[key] = v
                else:
                    k[key] = v
            return fn(*a, **k)

        operands = [args[key] if where == "a" else kwargs[key] for where, key in slots]
        shapes = jax.eval_shape(lambda *xs: call_with(xs), *operands)

        def host(*values: Any) -> Any:
            out = call_with([self.arg(np.asarray(v)) for v in values])
            return jax.tree.map(lambda y: _host(y, _framework(y) or "numpy"), out)

        @jax.custom_jvp
        def bridged(*xs: Any) -> Any:
            return jax.pure_callback(host, shapes, *xs, vmap_method="sequential")

        @bridged.defjvp
        def _no_jvp(primals: Any, tangents: Any) -> Any:
            raise JaxOnly("the test differentiates the loss with JAX (jax.grad or jvp)")

        return bridged(*operands)

    def out(self, y: Any) -> Any:
        if isinstance(y, tuple):
            return tuple(self.out(v) for v in y)
        kind = _framework(y)
        if kind is None:
            return y
        if self.result == "jax":
            if kind == "jax":
                return y
            import jax.numpy as jnp

            return jnp.asarray(_host(y, kind))
        return _host(y, kind)


# ------------------------------------------------------------------------------------------
# Proxies
# ------------------------------------------------------------------------------------------

#: Every proxy made in this process, by key (pickled proxy functions are looked up here).
_PROXIES: dict[tuple[str, str, int], Proxy] = {}


def _lookup(key: tuple[str, str, int], name: str) -> Any:
    """The proxy function ``name`` of proxy ``key`` (how a pickled proxy function returns)."""
    return getattr(_PROXIES[key], name)


class ProxyFunction:
    """A dialect function that converts its arrays (picklable: unpickles to itself)."""

    def __init__(self, proxy: Proxy, name: str, fn: Callable[..., Any]):
        self._proxy = proxy
        self.__name__ = name
        self.__wrapped__ = fn
        self.__doc__ = fn.__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        conv = self._proxy.converter
        if conv.backend != "jax" and _traced(args, kwargs):
            return conv.through_callback(self.__wrapped__, args, kwargs)
        args, kwargs = conv.args(args, kwargs)
        return self._proxy.wrap_result(self.__wrapped__(*args, **kwargs), conv)

    def __reduce__(self) -> Any:
        return (_lookup, (self._proxy.key, self.__name__))

    def __repr__(self) -> str:
        return f"<{self._proxy.key[1]} proxy of {self.__wrapped__!r}>"


class Proxy(types.ModuleType):
    """The dialect's names, each converting its arrays for one backend."""

    def __init__(self, suite: Suite, backend: str):
        super().__init__(f"{suite.dialect}[{backend}]")
        self.key = (suite.name, backend, len(_PROXIES))
        self.dialect = importlib.import_module(suite.dialect)
        self.converter = Converter(backend, "jax" if suite.dist == "optax" else "numpy")
        self._made: dict[int, Any] = {}
        for name in self.dialect.__all__:
            setattr(self, name, self._wrap(name, getattr(self.dialect, name)))
        if suite.dist == "keras":
            self.squeeze_or_expand = self._squeeze_or_expand
        _PROXIES[self.key] = self

    def _wrap(self, name: str, obj: Any) -> Any:
        if isinstance(obj, type):
            made = _converting_class(obj, self.converter)
        elif callable(obj):
            made = ProxyFunction(self, name, obj)
        else:
            return obj
        self._made[id(obj)] = made
        return made

    def wrap_result(self, y: Any, conv: Converter) -> Any:
        """Our function's result for the test: a dialect object handed back as its proxy
        (``get('mse')``), a returned function (``make_fenchel_young_loss``) made converting,
        arrays converted."""
        if id(y) in self._made:
            return self._made[id(y)]
        if callable(y) and not isinstance(y, type) and _framework(y) is None:
            if getattr(y, "__module__", "").startswith("lossbridge"):
                return ProxyFunction(self, getattr(y, "__name__", "fn"), y)
            return y
        return conv.out(y)

    def _squeeze_or_expand(self, x1: Any, x2: Any, expand_rank_1: bool = True) -> tuple:
        """Keras's ``squeeze_or_expand_to_same_rank(x1, x2)``: the dialect's helper (which
        takes the namespace first)."""
        from lossbridge.backends import get_namespace

        conv = self.converter
        x1, x2 = conv.arg(x1), conv.arg(x2)
        out = self.dialect.squeeze_or_expand_to_same_rank(
            get_namespace(x1, x2)[0], x1, x2, expand_rank_1
        )
        return conv.out(out)


def _converting_class(cls: type, conv: Converter) -> type:
    """A subclass of the Keras-dialect class ``cls``, same name, whose ``__call__`` converts."""

    class Converting(cls):  # type: ignore[misc, valid-type]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            args, kwargs = conv.args(args, kwargs)
            return conv.out(super().__call__(*args, **kwargs))

    Converting.__name__ = cls.__name__
    Converting.__qualname__ = cls.__qualname__
    Converting.__module__ = cls.__module__
    Converting.__doc__ = cls.__doc__
    return Converting


# ------------------------------------------------------------------------------------------
# Loading a suite
# ------------------------------------------------------------------------------------------


class _Overlay(types.ModuleType):
    """A package as ``from package import name`` sees it, some names replaced."""

    def __init__(self, real: types.ModuleType, replaced: dict[str, Any]):
        super().__init__(real.__name__)
        self.__dict__.update(replaced)
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _importer(targets: dict[str, Any]) -> Callable[..., Any]:
    """An ``__import__`` that returns ``targets[name]`` wherever the file imports ``name``."""
    real_import = builtins.__import__

    def redirecting_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
        module = real_import(name, globals, locals, fromlist, level)
        if level == 0 and fromlist:
            replaced = {f: targets[f"{name}.{f}"] for f in fromlist if f"{name}.{f}" in targets}
            if replaced:
                return _Overlay(module, replaced)
        return module

    return redirecting_import


_LOADED: dict[tuple[str, str], types.ModuleType] = {}


def load_suite(suite: Suite, backend: str) -> types.ModuleType:
    """The upstream test file ``suite`` executed with its imports redirected to a proxy for
    ``backend`` (once per process)."""
    key = (suite.name, backend)
    if key in _LOADED:
        return _LOADED[key]
    if suite.dist == "keras":
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    proxy = Proxy(suite, backend)
    targets = {
        dotted: (proxy if not attr else getattr(proxy, attr)) for dotted, attr in suite.redirects
    }
    path = suite_path(suite)
    modname = f"_upstream_{suite.name.replace('/', '_')}_{backend}"
    module = types.ModuleType(modname)
    module.__file__ = str(path)
    module.__builtins__ = {**builtins.__dict__, "__import__": _importer(targets)}
    sys.modules[modname] = module  # classes defined in it pickle and unittest finds it
    code = compile(path.read_text(), str(path), "exec")
    exec(code, module.__dict__)
    _LOADED[key] = module
    return module


@dataclass(frozen=True)
class UpstreamTest:
    """One test method of an upstream file: ``'<suite>::<Class>::<method>'``."""

    suite: Suite
    cls: str
    method: str

    @property
    def id(self) -> str:
        return f"{self.suite.name}::{self.cls}::{self.method}"


def collect(suite: Suite) -> list[UpstreamTest]:
    """The file's test methods (absl's parameterized expansions included), in file order."""
    module = load_suite(suite, "numpy")
    loader = unittest.TestLoader()
    found = []
    for name, obj in vars(module).items():
        if isinstance(obj, type) and issubclass(obj, unittest.TestCase):
            if obj.__module__ != module.__name__:
                continue  # an imported base class (keras testing.TestCase)
            for method in loader.getTestCaseNames(obj):
                found.append(UpstreamTest(suite, name, method))
    return found


def pytest_marks(test: UpstreamTest) -> list[Any]:
    """The test method's own pytest marks (Keras skips some tests per Keras backend)."""
    module = load_suite(test.suite, "numpy")
    fn = getattr(getattr(module, test.cls), test.method)
    return list(getattr(fn, "pytestmark", []))


class _Result(unittest.TestResult):
    """Keeps the exceptions themselves (unittest keeps formatted text)."""

    def __init__(self) -> None:
        super().__init__()
        self.raised: list[BaseException] = []

    def addError(self, test, err):  # noqa: N802
        super().addError(test, err)
        self.raised.append(err[1])

    def addFailure(self, test, err):  # noqa: N802
        super().addFailure(test, err)
        self.raised.append(err[1])

    def addSubTest(self, test, subtest, err):  # noqa: N802
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.raised.append(err[1])


def run_upstream(test: UpstreamTest, backend: str) -> str | None:
    """Run ``test`` on ``backend``'s arrays; raise its first failure, or return the reason
    unittest skipped it (None if it ran and passed)."""
    module = load_suite(test.suite, backend)
    case = getattr(module, test.cls)(test.method)
    result = _Result()
    # Some upstream tests draw from NumPy's global generator unseeded: seed it from the test id,
    # so that a run is reproducible and every backend sees the same numbers.
    state = np.random.get_state()
    np.random.seed(zlib.crc32(test.id.encode()))
    try:
        case.run(result)
    finally:
        np.random.set_state(state)
    if result.raised:
        raise result.raised[0]
    if result.skipped:
        return result.skipped[0][1]
    return None


# ------------------------------------------------------------------------------------------
# The counts table (docs/framework_suites.md): python tests/_framework_suites.py [pytest options]
# ------------------------------------------------------------------------------------------


class _Counts:
    """A pytest plugin counting ``test_upstream`` outcomes per suite and backend."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], dict[str, int]] = {}
        self.reasons: dict[tuple[str, str], int] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        name = report.nodeid.partition("::")[2]
        if not name.startswith("test_upstream[") or "-" not in name:
            return
        inner = name[len("test_upstream[") : -1]
        test_id, _, backend = inner.rpartition("-")
        suite = test_id.split("::")[0]
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if report.passed:
                kind = "pass"
            elif report.skipped and hasattr(report, "wasxfail"):
                kind = "allowed"
            elif report.skipped:
                kind = "n/a"
                reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""
                reason = reason.removeprefix("Skipped: ").replace(f" on {backend}", "")
                self.reasons[(suite, reason)] = self.reasons.get((suite, reason), 0) + 1
            else:
                kind = "FAILED"
            cell = self.counts.setdefault((suite, backend), {})
            cell[kind] = cell.get(kind, 0) + 1

    def table(self) -> str:
        suites = list(dict.fromkeys(s.name for s in SUITES))
        names = {"numpy": "NumPy", "torch": "torch", "jax": "JAX", "tensorflow": "TensorFlow"}
        head = "| Suite (upstream tests) | " + " | ".join(names[b] for b in BACKENDS) + " |"
        lines = [head, "|---" * (len(BACKENDS) + 1) + "|"]
        total: dict[str, dict[str, int]] = {b: {} for b in BACKENDS}
        for suite in suites:
            cells = []
            n = max(sum(self.counts.get((suite, b), {}).values()) for b in BACKENDS)
            if n == 0:
                continue
            for b in BACKENDS:
                c = self.counts.get((suite, b), {})
                for k, v in c.items():
                    total[b][k] = total[b].get(k, 0) + v
                cells.append(_cell(c))
            lines.append(f"| {suite} ({n}) | " + " | ".join(cells) + " |")
        n = max(sum(total[b].values()) for b in BACKENDS)
        lines.append(f"| all ({n}) | " + " | ".join(_cell(total[b]) for b in BACKENDS) + " |")
        return "\n".join(lines)


def _cell(c: dict[str, int]) -> str:
    cell = f"{c.get('pass', 0)} / {c.get('allowed', 0)} / {c.get('n/a', 0)}"
    return cell + (f" / **{c['FAILED']} failed**" if c.get("FAILED") else "")


def main(argv: list[str]) -> int:
    """Run ``tests/test_framework_suites.py`` and print the counts (pass / allowed / n/a)."""
    import pytest

    here = Path(__file__).parent
    plugin = _Counts()
    code = pytest.main(
        [str(here / "test_framework_suites.py"), "-q", "-p", "no:cacheprovider", *argv],
        plugins=[plugin],
    )
    print("\nPer suite and input backend: passed / allowed (allow-list) / not applicable\n")
    print(plugin.table())
    print("\nNot applicable, by reason:")
    for (suite, reason), n in sorted(plugin.reasons.items()):
        print(f"- {suite}: {n} x {reason}")
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
