"""Test-split metrics of the shipped UNet vs the baselines, and its input-ablation table.

Runs `meltwater.evaluation.evaluate` on the demo cube's test days and prints two markdown tables
(the ones in docs/model.md): every model, then the UNet with each input channel removed (set
to its neutral value) and with SAR-interp as its only input. ``--teaching-day DATE`` prints
instead what each input removed changes on the map of that day (issue 16: "costs something
visible on the map of a chosen teaching day"): the day's MAE against SAR, the mean |change| of
the UNet's map and the share of land pixels whose melt fraction moves by more than 0.1 (a step
of the map's colour scale).

    python -m benchmarks.model_report [--source demo] [--models unet,mar_interp,...]
    python -m benchmarks.model_report --teaching-day 2022-06-16
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from meltwater.data.catalog import get_source
from meltwater.data.cube import day_map, open_cube
from meltwater.evaluation.evaluate import evaluate, results_table
from meltwater.evaluation.metrics import mae
from meltwater.evaluation.predictors import make_predictors
from meltwater.models.inference import UNetPredictor
from meltwater.models.registry import MODEL_NAMES
from meltwater.schema import CHANNELS

SAR_ONLY = tuple(c for c in CHANNELS if c != "sar_interp")


class Ablated:
    """The UNet with some input channels set to their neutral value."""

    def __init__(self, unet: UNetPredictor, ablate: tuple[str, ...], name: str) -> None:
        self.unet, self.ablate, self.name = unet, ablate, name

    def predict(self, cube, date, ablate=()):
        return self.unet.predict(cube, pd.Timestamp(date), ablate=self.ablate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="demo")
    parser.add_argument("--models", default=",".join(MODEL_NAMES))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--teaching-day", default=None, help="only the one-day ablation table")
    args = parser.parse_args()
    cube = open_cube(get_source(args.source))
    if args.teaching_day:
        teaching_day(cube, pd.Timestamp(args.teaching_day))
        return
    models = args.models.split(",")
    train = pd.DatetimeIndex(cube["time"].values[cube["split"].values == "train"], name="time")
    preds = make_predictors(cube, models, train, use_cube=False)
    ds = evaluate(cube, models, "test", predictors=preds, area_days="split", workers=args.workers)
    print("## Test split: UNet vs baselines\n")
    print(results_table(ds))

    unet = UNetPredictor.from_registry()
    variants = {"unet (all inputs)": ()}
    variants.update({f"unet without {c}": (c,) for c in CHANNELS})
    variants["unet, SAR-interp only"] = SAR_ONLY
    abl = {name: Ablated(unet, a, name) for name, a in variants.items()}
    ds = evaluate(cube, list(abl), "test", predictors=abl, area_days="split", workers=1)
    print("## Test split: UNet input ablations\n")
    print(results_table(ds))


def teaching_day(cube, day: pd.Timestamp) -> None:
    """Print what removing each input does to the UNet's map of ``day`` (a SAR day)."""
    unet = UNetPredictor.from_registry()
    land = day_map(cube, "land", day) > 0
    sar = day_map(cube, "sar", day)
    full = unet.predict(cube, day).values
    print(f"## UNet input ablations on {day:%d %b %Y} ({int(land.sum())} land pixels)\n")
    print("| inputs | MAE vs SAR | mean abs change | land pixels changed by > 0.1 |")
    print("|---|---|---|---|")
    print(f"| all | {mae(full, sar, land):.3f} | – | – |")
    for c in CHANNELS:
        abl = unet.predict(cube, day, ablate=(c,)).values
        delta = np.abs(abl - full)[land]
        print(
            f"| without {c} | {mae(abl, sar, land):.3f} | {delta.mean():.3f} | "
            f"{(delta > 0.1).mean():.1%} |"
        )


if __name__ == "__main__":
    main()
