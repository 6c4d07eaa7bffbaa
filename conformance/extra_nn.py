"""Conformance entries of the ``lossbridge.nn`` dialect (being written)."""

ENTRIES = ()
