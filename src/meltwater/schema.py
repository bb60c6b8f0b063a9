"""The one owner of the analysis cube's names: input channels, prediction variables, ablations.

Every reader and writer builds and parses these names here, never by hand:

* a model's precomputed prediction is ``pred_<model>`` (`pred_var`);
* the UNet with input channels ablated is ``pred_unet_no_<channel>[_no_<channel>…]``;
* a model's per-pixel uncertainty is ``unc_<model>`` (`unc_var`).

Model ids are the registry's (`meltwater.models.registry.MODEL_NAMES`); this module knows only
the naming rule, so it imports nothing of the project.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

__all__ = [
    "CHANNELS",
    "UNET",
    "ablations_in",
    "models_in",
    "parse_pred_var",
    "is_pred_var",
    "is_unc_var",
    "pred_var",
    "run_name",
    "unc_var",
]

CHANNELS: tuple[str, ...] = ("pmw", "mar_wa1", "sar_interp", "dem")
"""The UNet's input channels, in the order of its input stack."""
UNET = "unet"
_PRED = "pred_"
_UNC = "unc_"
_NO = "_no_"


def run_name(model: str, ablate: Sequence[str] = ()) -> str:
    """Name of ``model`` with ``ablate`` channels off (``unet_no_dem``), as users see it."""
    return model + "".join(_NO + c for c in ablate)


def pred_var(model: str, ablate: Sequence[str] = ()) -> str:
    """Variable of ``model``'s prediction with ``ablate`` channels off (``pred_unet_no_dem``)."""
    return _PRED + run_name(model, ablate)


def unc_var(model: str) -> str:
    """Cube variable of ``model``'s per-pixel uncertainty (``unc_unet``)."""
    return _UNC + model


def is_pred_var(name: str) -> bool:
    """Whether ``name`` follows the prediction naming rule (``pred_`` + anything)."""
    return name.startswith(_PRED)


def is_unc_var(name: str) -> bool:
    """Whether ``name`` follows the uncertainty naming rule (``unc_`` + a model)."""
    return name.startswith(_UNC) and len(name) > len(_UNC)


def parse_pred_var(name: str) -> tuple[str, tuple[str, ...]] | None:
    """``(model, ablated channels)`` of a prediction variable name, or None for other names."""
    if not is_pred_var(name):
        return None
    model, *ablate = name[len(_PRED) :].split(_NO)
    if not model or any(c not in CHANNELS for c in ablate):
        return None
    return model, tuple(ablate)


def models_in(variables: Iterable[Hashable], order: Sequence[str] = ()) -> list[str]:
    """Models with a full-input prediction among ``variables``: those of ``order`` first, in
    that order, then any others sorted by name."""
    found = {p[0] for v in variables if (p := parse_pred_var(str(v))) and not p[1]}
    return [m for m in order if m in found] + sorted(found - set(order))


def ablations_in(variables: Iterable[Hashable], model: str = UNET) -> list[str]:
    """Channels (in `CHANNELS` order) with a precomputed single-channel ablation of ``model``."""
    names = {str(v) for v in variables}
    return [c for c in CHANNELS if pred_var(model, (c,)) in names]
