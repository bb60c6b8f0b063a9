"""A live ablation on a big grid: the UNet on the visible window first, the rest in the background.

`AblationJob` wraps one day's `meltwater.models.tiles.TiledRun` (one ablated input set, one
source). `compute` gives a window values at once: when the window needs more than one tile, one
forward pass over the window and a `PREVIEW_MARGIN` px border (`TiledRun.preview`: provisional
values, a few times fewer pixels than the window's tiles), else the window's tile itself (all
of each cell's tiles, so the values there equal the whole-day run's); `follow` runs the
remaining tiles on the store's background thread, nearest to the shown view first, for as long
as some session follows the job (`release` when its day or ablation changes: the last one
leaving cancels the run between two batches; tiles already run are kept). `values` is the
mosaic so far (NaN where a cell still lacks a tile; the provisional window where it still lacks
its tiles). A job made from a whole map (a stand-in predictor, a precomputed ablation) is
complete at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from concurrent.futures import Executor

import numpy as np

from meltwater.errors import InvalidArgumentError
from meltwater.models.tiles import Box, TiledRun

__all__ = ["PREVIEW_MARGIN", "AblationJob"]

PREVIEW_MARGIN = 32  # px of context around a provisional window (the sliding window erodes 16)


class AblationJob:
    """One day's live ablation, computed window first (thread-safe).

    Args:
        run: the day's tiled UNet run, or None with ``whole``.
        whole: the whole map (rows as stored in the cube), complete at once.
    """

    def __init__(self, run: TiledRun | None = None, whole: np.ndarray | None = None) -> None:
        if (run is None) == (whole is None):
            raise InvalidArgumentError("AblationJob: expected a tiled run or a whole map")
        self.run = run
        self._whole = whole
        self._lock = threading.Lock()
        self._owners: set[Hashable] = set()
        self._cancel = threading.Event()
        self._running = False
        self._focus: Box | None = None
        self._snapshot: tuple[tuple[int, int], np.ndarray] | None = None
        self._previews: list[tuple[Box, np.ndarray]] = []  # provisional windows, in order
        self.seconds: dict[str, float] = {}  # wall time of the window run and of the whole run
        self.error = ""  # why the background run stopped, if it failed
        self._t0 = time.perf_counter()

    @property
    def complete(self) -> bool:
        return self.run is None or self.run.complete

    @property
    def progress(self) -> tuple[int, int]:
        """(tiles run, tiles in all); (1, 1) for a whole map."""
        if self.run is None:
            return 1, 1
        return len(self.run.done), self.run.total

    def describe(self, name: str) -> str:
        """How far the run of ``name`` (e.g. ``unet_no_dem``) is, as one line ("" when whole
        from the start)."""
        if self.run is None:
            return ""
        done, total = self.progress
        shown = self.seconds.get("window")
        first = f"shown window in {shown:.1f} s, " if shown is not None else ""
        if shown is not None and self._previews:
            first = f"shown window in {shown:.1f} s (provisional until its tiles have run), "
        if self.complete:
            took = self.seconds.get("whole", 0.0)
            return f"{name}: {first}whole domain computed ({total} tiles, {took:.1f} s)."
        if not self.running:
            return f"{name}: {done} of {total} tiles computed; the rest has stopped."
        return (
            f"{name}: {first}rest of the domain running, {done} of {total} tiles "
            "(hatched: not computed yet)."
        )

    def pending(self) -> list[Box]:
        """Boxes (stored rows, columns) of the cells still waiting for a tile."""
        return [] if self.run is None else self.run.plan.pending(self.run.done)

    def compute(self, box: Box | None = None) -> None:
        """Values for ``box`` now, in the calling thread: its one tile, or a provisional pass
        over it when it needs several (None: every tile)."""
        if self.run is None:
            return
        t0 = time.perf_counter()
        plan = self.run.plan
        tiles = range(self.run.total) if box is None else plan.needed(box)
        preview = None
        if box is not None and len(tiles) > 1:
            preview = self.run.preview(box, PREVIEW_MARGIN)
        if preview is not None and box is not None:
            self._previews.append((box, preview))
        else:
            self.run.run(tiles)
        if box is not None and "window" not in self.seconds:
            self.seconds["window"] = time.perf_counter() - t0
        self._mark_complete()

    def values(self) -> np.ndarray:
        """The map so far (rows as stored): the tiles' mosaic, provisional window values where
        it still lacks a tile, NaN elsewhere."""
        if self.run is None:
            assert self._whole is not None
            return self._whole
        key = (len(self.run.done), len(self._previews))
        snap = self._snapshot
        if snap is None or snap[0] != key:
            values = self.run.result()
            for (r0, r1, c0, c1), provisional in list(self._previews):
                window = values[r0:r1, c0:c1]
                missing = np.isnan(window)
                window[missing] = provisional[missing]
            snap = (key, values)
            self._snapshot = snap
        return snap[1]

    def follow(self, owner: Hashable, executor: Executor, focus: Box | None = None) -> None:
        """Run the rest of the domain on ``executor`` while ``owner`` (or another) follows."""
        if self.complete:
            return
        with self._lock:
            self._owners.add(owner)
            if focus is not None:
                self._focus = focus
            if self._running:
                return
            self._running = True
            self._cancel = threading.Event()
            cancel = self._cancel
        executor.submit(self._rest, cancel)

    def refocus(self, focus: Box) -> None:
        """Run the tiles nearest to ``focus`` next."""
        self._focus = focus

    def release(self, owner: Hashable) -> None:
        """``owner`` no longer follows the job; the background run stops when none does."""
        with self._lock:
            self._owners.discard(owner)
            if not self._owners:
                self._cancel.set()

    @property
    def running(self) -> bool:
        """The background run is going on."""
        return self._running

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the background run to end; True when it has."""
        end = time.perf_counter() + timeout
        while self._running and time.perf_counter() < end:
            time.sleep(0.01)
        return not self._running

    def _rest(self, cancel: threading.Event) -> None:
        run = self.run
        assert run is not None
        try:
            while not run.complete and not cancel.is_set():
                run.run(self._next(run), cancel)
        except Exception as e:  # reported by the sessions that follow the job
            self.error = f"the UNet stopped on the rest of the domain: {e}"
        finally:
            with self._lock:
                self._running = False
            self._mark_complete()

    def _next(self, run: TiledRun) -> list[int]:
        """The next batch: the tiles not run yet, nearest to the focus first."""
        plan, focus = run.plan, self._focus
        todo = [k for k in range(run.total) if k not in run.done]
        if focus is not None:
            cy, cx = (focus[0] + focus[1]) / 2, (focus[2] + focus[3]) / 2

            def dist(k: int) -> float:
                i, j = plan.boxes[k]
                return (i + plan.th / 2 - cy) ** 2 + (j + plan.tw / 2 - cx) ** 2

            todo.sort(key=dist)
        return todo[: run.batch_size]

    def _mark_complete(self) -> None:
        if self.complete and "whole" not in self.seconds:
            self.seconds["whole"] = time.perf_counter() - self._t0
