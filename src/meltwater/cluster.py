"""dask.distributed for precompute and evaluate: an existing scheduler or a LocalCluster.

``scheduler`` values shared by both: None / ``"threads"`` / ``"synchronous"`` stay in this
process (`is_distributed` is False); ``"local"`` starts a `LocalCluster` of ``workers``
single-threaded worker processes for the run; anything else is a scheduler address
(``tcp://host:8786``) of a running cluster whose workers see the same cube.
Work that loads models keeps them per worker and per run (`worker_states`), so a worker loads
each model once, not once per day; `forget_on_workers` drops them when the run ends.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "LOCAL",
    "connect",
    "forget_on_workers",
    "is_distributed",
    "run_state",
    "worker_states",
]

LOCAL = "local"
_IN_PROCESS = (None, "", "threads", "synchronous")


def is_distributed(scheduler: str | None) -> bool:
    """Whether ``scheduler`` names a dask.distributed cluster (``"local"`` or an address)."""
    return scheduler not in _IN_PROCESS


@contextmanager
def connect(scheduler: str, workers: int | None = None) -> Iterator[Any]:
    """A `dask.distributed.Client` of ``scheduler``, closed (with its LocalCluster) on exit.

    Args:
        scheduler: ``"local"`` or a scheduler address.
        workers: worker processes of the ``"local"`` cluster (default: the CPUs available);
            ignored for an address (the cluster has its own).
    """
    from dask.distributed import Client, LocalCluster

    if scheduler != LOCAL:
        with Client(scheduler) as client:
            yield client
        return
    n = workers or len(os.sched_getaffinity(0))
    with (
        LocalCluster(n_workers=n, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        yield client


def worker_states() -> dict[str, Any] | None:
    """The per-run states kept on this dask.distributed worker (None outside a worker)."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return None
    return worker.__dict__.setdefault("meltwater_runs", {})


def forget_on_workers(dask_worker: Any, run: str) -> None:
    """Drop run ``run``'s loaded state from a worker (``client.run`` after the run)."""
    dask_worker.__dict__.get("meltwater_runs", {}).pop(run, None)


_LOADING = threading.Lock()


def run_state(run: str, load: Callable[[], Any]) -> Any:
    """Run ``run``'s state on this worker, built by ``load`` on its first task (None outside a
    worker: the caller keeps its own)."""
    states = worker_states()
    if states is None:
        return None
    with _LOADING:  # a worker's threads share one state
        if run not in states:
            states[run] = load()
        return states[run]
