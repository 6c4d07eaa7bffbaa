"""Harnesses that run test code on real data-parallel engines, on this CPU machine.

* :func:`run_torch_world` -- a ``torch.distributed`` gloo world of N processes
  (``torch.multiprocessing`` spawn, ``MASTER_ADDR=127.0.0.1`` and a free port): each rank calls
  a function ``fn(rank, world_size, *args)``, given as a module-level callable, as
  ``"module:function"`` or as Python source defining it; the ranks' results come back as
  NumPy (a list indexed by rank); a rank's exception is raised here with its traceback.
* :func:`run_jax_mesh` -- Python source in a fresh interpreter with
  ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` (a JAX mesh of N CPU devices).
* :func:`run_tf_replicas` -- Python source in a fresh interpreter whose CPU is split into N
  logical devices, with ``strategy``, a ``tf.distribute.MirroredStrategy`` over them.

The subprocess harnesses give the source a dict ``inputs`` (NumPy arrays, pickled over) and
return what it leaves in ``result``, converted to NumPy (:func:`to_numpy`). Every run has a
timeout; processes start with one thread each (the test machine has two cores).

This module imports only the standard library and NumPy: spawned torch ranks import it.
"""

from __future__ import annotations

import doctest
import importlib
import os
import pickle
import re
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Timings",
    "docstring_examples",
    "run_doctest",
    "free_port",
    "run_jax_mesh",
    "run_source",
    "run_tf_replicas",
    "run_torch_world",
    "to_numpy",
]

TESTS = Path(__file__).resolve().parent
#: one thread per process: N processes share the machine's cores
QUIET_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "2",
}


#: how the ranks start: "forkserver" (a server process imports torch once per test process and
#: forks every rank of every world from it: ranks start in a fraction of a second) or "spawn"
#: (a fresh interpreter per rank; LOSSBRIDGE_TORCH_START=spawn)
START_METHOD = os.environ.get("LOSSBRIDGE_TORCH_START", "forkserver")


class Timings(dict):
    """Wall times of the last run of each harness (seconds), for the docs' timing note."""


#: ``LAST["torch"]`` = {"total": ..., "startup": ..., "ranks": [...]}; likewise "jax", "tf".
LAST = Timings()


def to_numpy(tree: Any) -> Any:
    """``tree`` with every framework array replaced by a NumPy array (dicts, lists, tuples)."""
    if isinstance(tree, dict):
        return {k: to_numpy(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(to_numpy(v) for v in tree)
    if isinstance(tree, (int, float, bool, str, type(None), np.ndarray, np.generic)):
        return tree
    if hasattr(tree, "detach"):  # torch
        return tree.detach().cpu().numpy()
    if type(tree).__module__.startswith("tensorflow"):
        return tree.numpy()
    return np.asarray(tree)  # jax, anything with __array__


def docstring_examples(obj: Any) -> str:
    """``obj``'s docstring with every ``# doctest: +SKIP`` removed.

    The examples that need a framework or an engine are marked SKIP so that the NumPy-only
    doctest run (``tests/test_doctests.py``) leaves them out; the engine tests run them here,
    as written, with :func:`run_doctest` in the engine's process.
    """
    return re.sub(r"[ \t]*# doctest: \+SKIP", "", obj.__doc__)


def run_doctest(text: str) -> dict[str, Any]:
    """Run the examples of a docstring's text; the failures, the tries and the report."""
    test = doctest.DocTestParser().get_doctest(text, {}, "example", "<docstring>", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    runner.run(test, out=report.append)
    return {"failed": runner.failures, "tried": runner.tries, "report": "".join(report)}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------------------
# torch.distributed: a gloo world of N spawned processes
# ------------------------------------------------------------------------------------------


def _resolve(target: Any, entry: str) -> Callable[..., Any]:
    """The function a rank runs: a callable, ``"module:function"``, or source defining it."""
    if callable(target):
        return target
    if isinstance(target, tuple) and target[0] == "source":
        namespace: dict[str, Any] = {"__name__": "__lossbridge_engine__"}
        exec(compile(target[1], "<torch world source>", "exec"), namespace)
        return namespace[entry]
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _torch_rank(
    rank: int,
    world_size: int,
    port: int,
    target: Any,
    entry: str,
    args: tuple,
    out_dir: str,
    backend: str,
) -> None:
    """One rank: init the gloo group, run the target, write its result (or traceback)."""
    started = time.perf_counter()
    os.environ.update(QUIET_ENV, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    path = Path(out_dir) / f"rank{rank}.pkl"
    try:
        import torch
        import torch.distributed as dist

        torch.set_num_threads(1)
        dist.init_process_group(backend, rank=rank, world_size=world_size)
        ready = time.perf_counter()
        try:
            fn = _resolve(target, entry)
            value = to_numpy(fn(rank, world_size, *args))
        finally:
            dist.destroy_process_group()
        done = time.perf_counter()
        payload = {"value": value, "startup": ready - started, "run": done - ready}
        path.write_bytes(pickle.dumps(payload))
    except BaseException:
        path.write_bytes(pickle.dumps({"error": traceback.format_exc()}))
        raise


def run_torch_world(
    fn: Any = None,
    *,
    world_size: int,
    args: tuple = (),
    source: str | None = None,
    entry: str = "main",
    backend: str = "gloo",
    timeout: float = 60.0,
) -> list[Any]:
    """Run ``fn(rank, world_size, *args)`` on every rank of a ``torch.distributed`` world.

    Parameters
    ----------
    fn : callable or str or None
        A module-level function (pickled by reference: its module must import in a fresh
        interpreter with ``tests/`` on the path) or ``"module:function"``; None with
        ``source``.
    world_size : int
        The number of processes.
    args : tuple
        Extra arguments, pickled to every rank (NumPy arrays, numbers).
    source : str, optional
        Python source that defines the function named ``entry`` (instead of ``fn``).
    backend : str
        The ``torch.distributed`` backend.
    timeout : float
        Seconds for the whole world, start-up included; then every rank is killed.

    Returns
    -------
    list
        Each rank's return value with its tensors converted to NumPy, indexed by rank.
        :data:`LAST` ``["torch"]`` holds the wall times (total, and each rank's start-up
        and run).

    Raises
    ------
    AssertionError
        If a rank raised (its traceback in the message) or the world timed out.
    """
    import torch.multiprocessing as mp

    if START_METHOD == "forkserver":
        # one server per test process imports torch once; each rank is a fork of it
        mp.set_forkserver_preload(
            [
                "torch",
                "torch.distributed",
                "torch.nn.parallel",
                "torch._dynamo",  # DistributedDataParallel() imports it: 4 s per rank here
                "lossbridge.distributed",
                "_engines",
            ]
        )
    if (fn is None) == (source is None):
        raise TypeError("run_torch_world: give fn or source, not both")
    target = ("source", textwrap.dedent(source)) if source is not None else fn
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lossbridge-torch-world-") as out_dir:
        context = mp.start_processes(
            _torch_rank,
            args=(world_size, free_port(), target, entry, tuple(args), out_dir, backend),
            nprocs=world_size,
            join=False,
            start_method=START_METHOD,
        )
        deadline = started + timeout
        try:
            while not context.join(timeout=max(0.0, min(1.0, deadline - time.perf_counter()))):
                if time.perf_counter() > deadline:
                    raise AssertionError(f"torch world of {world_size} timed out ({timeout} s)")
        except Exception as error:
            for process in context.processes:
                if process.is_alive():
                    process.kill()
            errors = []
            for rank in range(world_size):
                path = Path(out_dir) / f"rank{rank}.pkl"
                if path.exists():
                    payload = pickle.loads(path.read_bytes())
                    if "error" in payload:
                        errors.append(f"--- rank {rank} ---\n{payload['error']}")
            detail = "\n".join(errors) or str(error)
            raise AssertionError(f"torch world of {world_size} failed:\n{detail}") from None
        payloads = [
            pickle.loads((Path(out_dir) / f"rank{r}.pkl").read_bytes()) for r in range(world_size)
        ]
    LAST["torch"] = {
        "world_size": world_size,
        "total": time.perf_counter() - started,
        "startup": [p["startup"] for p in payloads],
        "run": [p["run"] for p in payloads],
    }
    return [p["value"] for p in payloads]


# ------------------------------------------------------------------------------------------
# Fresh interpreters: a JAX mesh of CPU devices, TF logical CPU devices
# ------------------------------------------------------------------------------------------

_RUNNER = """
import pickle, sys, time
_started = time.perf_counter()
sys.path.insert(0, {tests!r})
from _engines import to_numpy
with open({inputs!r}, "rb") as _f:
    inputs = pickle.load(_f)
{prelude}
_ready = time.perf_counter()
exec(compile({source!r}, "<engine source>", "exec"))
_done = time.perf_counter()
with open({output!r}, "wb") as _f:
    pickle.dump({{"result": to_numpy(result), "startup": _ready - _started,
                 "run": _done - _ready}}, _f)
"""


def run_source(
    source: str,
    *,
    prelude: str = "",
    env: dict[str, str] | None = None,
    inputs: dict[str, Any] | None = None,
    timeout: float = 120.0,
    label: str = "source",
) -> Any:
    """Run ``source`` in a fresh interpreter after ``prelude``; return its ``result`` as NumPy.

    ``source`` sees ``inputs`` (the dict given, pickled over) and whatever ``prelude``
    defines; it must assign ``result``. A failure raises :class:`AssertionError` with the
    child's stderr (its traceback); so does the timeout.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lossbridge-engine-") as tmp:
        in_path, out_path = os.path.join(tmp, "inputs.pkl"), os.path.join(tmp, "result.pkl")
        with open(in_path, "wb") as f:
            pickle.dump(inputs or {}, f)
        script = _RUNNER.format(
            tests=str(TESTS),
            inputs=in_path,
            output=out_path,
            prelude=textwrap.dedent(prelude),
            source=textwrap.dedent(source),
        )
        try:
            proc = subprocess.run(
                [sys.executable, "-c", script],
                capture_output=True,
                text=True,
                timeout=timeout,
                env={**os.environ, **QUIET_ENV, **(env or {})},
            )
        except subprocess.TimeoutExpired as error:
            tail = (error.stderr or b"")[-3000:]
            raise AssertionError(f"{label} timed out after {timeout} s:\n{tail!r}") from None
        if proc.returncode != 0:
            raise AssertionError(f"{label} failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}")
        with open(out_path, "rb") as f:
            payload = pickle.load(f)
    LAST[label] = {
        "total": time.perf_counter() - started,
        "startup": payload["startup"],
        "run": payload["run"],
    }
    return payload["result"]


_JAX_PRELUDE = """
import jax
jax.config.update("jax_enable_x64", {x64})
assert len(jax.devices("cpu")) == {devices}, jax.devices("cpu")
"""


def run_jax_mesh(
    source: str,
    *,
    devices: int = 4,
    inputs: dict[str, Any] | None = None,
    x64: bool = True,
    timeout: float = 120.0,
) -> Any:
    """Run ``source`` with JAX on ``devices`` CPU devices (``jax.devices()``); see run_source.

    The test process's choice, never the library's: ``jax_enable_x64`` is on when ``x64``.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    env = {
        "XLA_FLAGS": f"{flags} --xla_force_host_platform_device_count={devices}".strip(),
        "JAX_PLATFORMS": "cpu",
    }
    prelude = _JAX_PRELUDE.format(x64=bool(x64), devices=devices)
    return run_source(source, prelude=prelude, env=env, inputs=inputs, timeout=timeout, label="jax")


_TF_PRELUDE = """
import tensorflow as tf
_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range({devices})])
strategy = tf.distribute.MirroredStrategy([f"/cpu:{{i}}" for i in range({devices})])
assert strategy.num_replicas_in_sync == {devices}
"""


def run_tf_replicas(
    source: str,
    *,
    devices: int = 2,
    inputs: dict[str, Any] | None = None,
    timeout: float = 180.0,
) -> Any:
    """Run ``source`` with ``strategy``, a MirroredStrategy over ``devices`` logical CPUs."""
    prelude = _TF_PRELUDE.format(devices=devices)
    return run_source(source, prelude=prelude, inputs=inputs, timeout=timeout, label="tf")
