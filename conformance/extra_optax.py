"""Conformance entries of the ``lossbridge.optax`` dialect (being written)."""

ENTRIES = ()
