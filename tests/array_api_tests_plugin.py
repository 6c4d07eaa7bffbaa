"""pytest plugin for running data-apis/array-api-tests on ``lossbridge.backends.tensorflow``.

Loaded with ``-p array_api_tests_plugin`` by ``nox -s array_api_tests`` and
tests/test_array_api_tests.py (both copy this file into their temporary copy of the suite).

The suite walks every output element with ``ndindex``, which accepts any
:class:`collections.abc.Sequence` of ints as a shape. ``tf.Tensor.shape`` is a
``tf.TensorShape``: it iterates, indexes and compares like a tuple of ints (for the eager tensors
the suite makes) but is not registered as a ``Sequence``, so without this every value check of
the suite fails on the shape before it looks at a value, and the functions' results go untested.
Registering the ABC changes no TensorFlow behaviour (no method or attribute is patched; the
namespace under test never asks ``isinstance(..., Sequence)``) and lasts only for the test
process. The array object's own non-conformance (``shape`` is not a ``tuple``; no
``__setitem__``, ``__pos__``, ``mT``...) stays visible: the tests that check it are listed in
backends/tensorflow/tensorflow-xfails.txt.
"""

from __future__ import annotations

import collections.abc

import tensorflow as tf

collections.abc.Sequence.register(tf.TensorShape)
