"""Test-split metrics of the shipped UNet vs the baselines, and its input-ablation table.

Runs `meltwater.evaluation.evaluate` on the demo cube's test days and prints two markdown tables
(the ones in docs/model.md): every model, then the UNet with each input channel removed (set
to its neutral value) and with SAR-interp as its only input.

    python -m benchmarks.model_report [--source demo] [--models unet,mar_interp,...]
"""

from __future__ import annotations

import argparse

import pandas as pd

from meltwater.data.catalog import get_source
from meltwater.data.cube import open_cube
from meltwater.evaluation.evaluate import evaluate, results_table
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
    args = parser.parse_args()
    cube = open_cube(get_source(args.source))
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


if __name__ == "__main__":
    main()
