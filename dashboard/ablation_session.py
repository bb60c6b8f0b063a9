"""A session's live ablation: start it for the shown day, follow it, show how far it has run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import panel as pn
import param

from meltwater.errors import CheckpointError, MeltwaterError
from meltwater_dashboard.live_ablation import AblationJob

if TYPE_CHECKING:
    from meltwater_dashboard.store import Store

__all__ = ["ABLATION_POLL_MS", "FollowsAblation"]

ABLATION_POLL_MS = 400  # how often a session looks at its background ablation


class FollowsAblation(param.Parameterized):
    """The live ablation of `DashboardState` (one of its base classes: the state holds the day)."""

    if TYPE_CHECKING:  # parameters and methods of the state
        store: Store
        source: str
        view: tuple[float, float, float, float] | None

        @property
        def date_str(self) -> str: ...
        @property
        def ablation(self) -> tuple[str, ...]: ...
        def notify(self, msg: str, level: str = "warning") -> None: ...
        def run_name(self, model: str | None = None) -> str: ...
        def _refresh(self, views: tuple[str, ...] = ...) -> None: ...

    busy = param.Boolean(default=False, doc="a live prediction is running")
    ablation_status = param.String(default="", doc="how far the live ablation has run")
    ablation_pending = param.List(
        default=[], doc="(x0, y0, x1, y1) boxes the live ablation has not computed yet"
    )
    ablation_error = param.String(default="", doc="why the input switches are unavailable")

    _job: AblationJob | None = None  # the live ablation this session follows
    _job_key: tuple = ()  # (source, day, ablation) of ``_job``
    _job_timer: Any = None

    @property
    def ablation_ready(self) -> bool:
        """The live ablation of the shown day covers the whole domain (or there is none)."""
        if not self.ablation:
            return True
        job, key = self._job, (self.source, self.date_str, self.ablation)
        return job is not None and self._job_key == key and job.complete

    def _compute_ablation(self) -> bool:
        """Run the ablated UNet on the tiles under the maps' view of the shown day (at once) and
        the rest of the domain in the background; False (and a message) on failure.

        A view that needs every tile (the full view) runs wholly in the background. ``busy`` is
        sent to the page at once (not with the callback's other changes), so its spinner shows
        while the UNet runs; it stays on until the whole domain is done.
        """
        with pn.io.unlocked():
            self.busy = True
        try:
            job = self.store.ablation_job(self.source, self.date_str, self.ablation)
            box = self._view_box()
            if job.run is not None and box is not None:
                if len(job.run.plan.needed(box)) < job.run.total:
                    job.compute(box)
            self._job_key = (self.source, self.date_str, self.ablation)
            self._follow(job)
            return True
        except MeltwaterError as e:
            if isinstance(e, CheckpointError):  # the model cannot load: no switch will work
                self.ablation_error = str(e)
            self.notify(f"ablation unavailable: {e}", "error")
            self._follow(None)
            return False
        finally:
            self.busy = self._job is not None and not self._job.complete

    def _view_box(self) -> tuple[int, int, int, int] | None:
        if self.view is None:
            return None
        return self.store.grid(self.source).view_box(self.view)

    def _follow(self, job: AblationJob | None) -> None:
        """Follow ``job`` (the shown day's ablation) instead of the previous one, whose
        background run stops unless another session follows it."""
        if self._job is not None and self._job is not job:
            self._job.release(id(self))
        self._job = job
        if job is not None and not job.complete:
            self.store.follow_ablation(job, id(self), self._view_box())
            if self._job_timer is None and pn.state.curdoc is not None:
                self._job_timer = pn.state.add_periodic_callback(
                    self.poll_ablation, period=ABLATION_POLL_MS
                )
        self.poll_ablation(refresh=False)

    def poll_ablation(self, refresh: bool = True) -> None:
        """Show how far the followed live ablation has run; once it is whole, redraw the maps
        and the day's metrics with it (``refresh``) and stop looking."""
        job = self._job
        finished = job is None or job.complete or not job.running
        if finished:
            if self._job_timer is not None:
                self._job_timer.stop()
                self._job_timer = None
            self.busy = False
        if job is not None and job.error:
            self.notify(f"ablation: {job.error}", "error")
        self.ablation_status = "" if job is None else job.describe(self.run_name("unet"))
        boxes = [] if job is None else job.pending()
        grid = self.store.grid(self.source)
        self.ablation_pending = [grid.box_extent(b) for b in boxes]
        if refresh and finished:
            self._refresh(("maps", "curves"))
