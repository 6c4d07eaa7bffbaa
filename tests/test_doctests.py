"""The docstring examples: every module's doctests pass, and every public loss has some.

Every name of ``lossbridge.__all__``, ``lossbridge.optax.__all__``, ``lossbridge.keras.__all__``
and ``lossbridge.nn.__all__`` must have a numpydoc Examples section whose examples the doctests
below run.

The README's plain ``python -m pytest`` runs them (no ``--doctest-modules`` needed): each module
of ``lossbridge``, ``lossbridge.backends`` and ``lossbridge.conformance`` whose source holds an
example is imported and its doctests are run here. The examples use NumPy only, so they run in
every environment, the NumPy-only one included.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
import re

import pytest

import lossbridge

PACKAGES = ("lossbridge", "lossbridge.backends", "lossbridge.conformance")
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# a numpydoc section heading: "Examples" underlined with dashes, at any indentation
EXAMPLES_HEADING = re.compile(r"^[ \t]*Examples[ \t]*\n[ \t]*-{8,}[ \t]*$", re.MULTILINE)


def _modules_with_examples() -> list[str]:
    """Every module of :data:`PACKAGES` whose source has a ``>>>`` prompt (none is imported)."""
    names = []
    for package in PACKAGES:
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            name = f"{package}.{info.name}"
            spec = importlib.util.find_spec(name)
            if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
                continue
            with open(spec.origin, encoding="utf-8") as f:
                if ">>>" in f.read():
                    names.append(name)
    return sorted(names)


MODULES = _modules_with_examples()


def _doctests(module_name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(module_name)
    return [t for t in doctest.DocTestFinder().find(module) if t.examples]


@pytest.mark.parametrize("module_name", MODULES)
def test_module_doctests_pass(module_name: str) -> None:
    """Each module's examples give the output their docstrings show."""
    tests = _doctests(module_name)
    assert tests, f"{module_name}: its source has '>>>' but no doctest was collected"
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    failed = sum(runner.run(test, out=report.append).failed for test in tests)
    assert failed == 0, "".join(report)


def test_the_modules_of_the_losses_are_collected() -> None:
    """The scan above finds the loss modules (so an empty list cannot pass silently)."""
    modules = {getattr(importlib.import_module(m), n).__module__ for m, n in PUBLIC}
    assert modules <= set(MODULES), sorted(modules - set(MODULES))


# the public names that must have examples: the core's and the optax, Keras, torch.nn, MONAI and
# TF Addons dialects'
DIALECTS = ("optax", "keras", "nn", "monai", "tfa")
PUBLIC = [("lossbridge", name) for name in lossbridge.__all__] + [
    (f"lossbridge.{dialect}", name)
    for dialect in DIALECTS
    for name in importlib.import_module(f"lossbridge.{dialect}").__all__
]


@pytest.mark.parametrize(("module_name", "name"), PUBLIC, ids=[f"{m}.{n}" for m, n in PUBLIC])
def test_public_name_has_a_running_example(module_name: str, name: str) -> None:
    """Every public name has a numpydoc Examples section with examples that the doctests run."""
    obj = getattr(importlib.import_module(module_name), name)
    where = f"{module_name}.{name}"
    doc = obj.__doc__ or ""
    heading = EXAMPLES_HEADING.search(doc)
    assert heading is not None, f"{where}: its docstring has no 'Examples' section"
    examples = doctest.DocTestParser().get_examples(doc[heading.end() :])
    assert examples, f"{where}: its Examples section has no '>>>' example"
    collected = {t.name for t in _doctests(obj.__module__)}
    assert f"{obj.__module__}.{name}" in collected, (
        f"{where}: its examples are not collected from {obj.__module__}"
    )
