"""The one day control: date label, day slider and Previous / Play / Next buttons with a speed.

Playing steps the day on a server-side periodic callback of the session (stopped on pause), so
the page has a single slider track. Every button has a text label, which is its accessible
name.
"""

from __future__ import annotations

import panel as pn

from meltwater_dashboard.state import DashboardState

__all__ = ["SPEEDS", "DayPlayer"]

SPEEDS = {"slow": 1000, "normal": 500, "fast": 250}  # milliseconds per day


class DayPlayer:
    """Slider, buttons and the play timer of one session's `DashboardState`."""

    def __init__(self, state: DashboardState, speed: str = "normal") -> None:
        self.state = state
        self._timer: pn.io.callbacks.PeriodicCallback | None = None
        w = pn.widgets
        self.slider = w.IntSlider.from_param(
            state.param.day, label="Day of season", sizing_mode="stretch_width"
        )
        self.previous = w.Button(label="Previous", width=76, margin=(5, 2, 5, 10), align="end")
        self.play = w.Button(label="Play", color="primary", width=70, margin=(5, 2), align="end")
        self.next = w.Button(label="Next", width=60, margin=(5, 2), align="end")
        self.speed = w.Select(label="Speed", options=list(SPEEDS), value=speed, width=90)
        self.previous.on_click(lambda _: self.step(-1))
        self.next.on_click(lambda _: self.step(1))
        self.play.on_click(lambda _: setattr(state, "playing", not state.playing))
        state.param.watch(self._on_playing, "playing")
        self.speed.param.watch(self._on_speed, "value")

    def step(self, n: int = 1) -> None:
        """Move ``n`` days, wrapping round the season."""
        self.state.day = (self.state.day + n) % len(self.state.days)

    def _on_playing(self, event) -> None:
        self.play.label = "Pause" if event.new else "Play"
        if event.new:
            if self._timer is None:
                self._timer = pn.state.add_periodic_callback(
                    self.step, period=SPEEDS[self.speed.value], start=False
                )
            self._timer.start()
        elif self._timer is not None:
            self._timer.stop()

    def _on_speed(self, event) -> None:
        if self._timer is not None:
            self._timer.period = SPEEDS[event.new]

    def panel(self) -> pn.Column:
        """The date label, the slider and the button row."""
        state = self.state
        label = pn.bind(
            lambda *_: f"### {state.date:%d %b %Y}" + (" · SAR scene" if state.has_sar else ""),
            state.param.day,
            state.param.year,
            state.param.source,
        )
        buttons = pn.Row(self.previous, self.play, self.next, self.speed)
        return pn.Column(pn.pane.Markdown(label), self.slider, buttons)
