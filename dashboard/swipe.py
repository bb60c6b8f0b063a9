"""State of the swipe comparison: two layers (model predictions or SAR) in one map frame.

Layer names are the cube's model names and `SAR`; the two layers are always distinct (picking
the other side's layer swaps them, as the compare mode's models do). ``at`` is the divider's
position in percent of the frame's width.
"""

from __future__ import annotations

import param

__all__ = ["SAR", "Swipe"]

SAR = "sar"


class Swipe(param.Parameterized):
    """Whether the Maps tab shows the swipe frame, its two layers and the divider position."""

    on = param.Boolean(default=False, doc="the Maps tab shows the swipe frame")
    left: param.Selector[str] = param.Selector(
        objects=[], doc="layer left of the divider: a model or 'sar'"
    )
    right: param.Selector[str] = param.Selector(
        objects=[], doc="layer right of the divider: a model or 'sar'"
    )
    at = param.Integer(default=50, bounds=(0, 100), doc="divider position, % of the frame width")

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self.param.watch(self._keep_distinct, ["left", "right"])

    @property
    def layers(self) -> list[str]:
        """Every layer that can be shown: the models, then SAR."""
        return list(self.param.left.objects)

    def set_layers(self, models: list[str]) -> None:
        """Offer ``models`` and SAR; keep the chosen layers where they are still offered (else
        the first model left, SAR right)."""
        layers = [*models, SAR]
        self.param.left.objects = layers
        self.param.right.objects = layers
        left = self.left if self.left in layers else layers[0]
        right = self.right if self.right in layers and self.right != left else SAR
        if right == left:
            right = layers[1]
        with param.parameterized.discard_events(self):
            self.param.update(left=left, right=right)

    def _keep_distinct(self, event) -> None:
        other = "right" if event.name == "left" else "left"
        if event.new == getattr(self, other) and event.old is not None:
            setattr(self, other, event.old)  # the two swap
