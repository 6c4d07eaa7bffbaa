"""Conformance entries of the ``lossbridge.keras`` dialect (being written)."""

ENTRIES = ()
