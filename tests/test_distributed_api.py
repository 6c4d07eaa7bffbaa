"""``lossbridge.distributed`` without an engine: its import, the group protocol, the errors.

The engines themselves are tested in ``test_distributed_torch.py``, ``test_distributed_jax.py``
and ``test_distributed_tf.py`` (real multi-process and multi-device runs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import lossbridge.distributed as lbd

FRAMEWORKS = ("torch", "tensorflow", "jax", "keras", "optax", "array_api_strict")


def test_import_loads_no_framework():
    """``import lossbridge.distributed`` imports no framework; a group's adapter is imported
    on the call only (the adapters are not imported either)."""
    code = textwrap.dedent(
        f"""
        import json, sys
        import lossbridge.distributed
        print(json.dumps({{
            "frameworks": [m for m in {FRAMEWORKS!r} if m in sys.modules],
            "adapters": [m for m in sys.modules if m.startswith("lossbridge.backends._distrib")],
        }}))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"frameworks": [], "adapters": []}


class _Fake:
    """Duck-typed group: what the protocol checks (attributes and methods)."""

    world_size, rank = 1, 0

    def all_sum(self, x):
        return x

    def all_gather(self, x):
        return x

    def shift(self, x, offset=1):
        return x


def test_group_protocol_is_structural():
    assert isinstance(_Fake(), lbd.Group)
    assert not isinstance(object(), lbd.Group)


def test_global_denominator_refuses_a_non_group():
    import numpy as np

    import lossbridge

    x, t = np.zeros((2, 3)), np.array([0, 2])
    with pytest.raises(TypeError, match=r"global_denominator: group must be .*; got str"):
        lbd.global_denominator(lossbridge.cross_entropy, x, t, group="world")


def test_global_denominator_is_the_groups_sum_of_mean_denominator():
    """With a group of one (the fake's identity sum) it is ``mean_denominator`` itself."""
    import numpy as np

    import lossbridge

    x, t = np.zeros((4, 3)), np.array([0, -100, 2, 2])
    w = np.array([1.0, 5.0, 0.5])
    got = lbd.global_denominator(lossbridge.cross_entropy, x, t, group=_Fake(), weight=w)
    assert float(got) == 1.0 + 0.5 + 0.5  # the class weights of the kept targets


def test_ring_offset_refuses_non_integers():
    with pytest.raises(TypeError, match=r"jax_axis.shift: offset must be an int; got 1.0"):
        lbd._ring_offset(1.0, 4, "jax_axis.shift")
    with pytest.raises(TypeError, match="got True"):
        lbd._ring_offset(True, 4, "jax_axis.shift")
    assert lbd._ring_offset(-1, 4, "x") == 3
