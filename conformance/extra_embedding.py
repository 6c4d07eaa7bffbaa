"""Conformance entries for the embedding losses beyond the frameworks (issue 4)."""

from __future__ import annotations

from lossbridge.conformance.registry import Entry

#: This family's registry entries.
ENTRIES: tuple[Entry, ...] = ()
