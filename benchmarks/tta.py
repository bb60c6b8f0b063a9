"""Cost of the UNet's test-time-augmentation spread (``unc_unet``) against a plain prediction.

For a few SAR days of the demo cube, in the same run and round-robin (a neighbour's load hits
every variant alike): the plain prediction (the naive reference: one pass), the 4-member and
the 8-member TTA (`meltwater.models.tta.tta_predict`). Prints the median CPU time of this
process per day (``time.process_time``, what an idle core would need) and the wall time, the
ratios to the plain pass, and how far the 4-member spread is from the 8-member one. The date
and load average are printed before and after: on a shared machine wall times wait for a core.

    python -m benchmarks.tta [--days 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time

import numpy as np

from meltwater.data.catalog import get_source
from meltwater.data.cube import open_cube, split_dates
from meltwater.models.inference import UNetPredictor
from meltwater.models.tta import tta_predict


def _timed(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=3)
    p.add_argument("--source", default="demo")
    args = p.parse_args(argv)
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}")
    cube = open_cube(get_source(args.source))
    unet = UNetPredictor.from_registry()
    days = split_dates(cube, "test")[: args.days]
    unet.predict(cube, days[0])  # warm-up
    runs: dict[str, list[tuple[float, float]]] = {"plain": [], "tta4": [], "tta8": []}
    gaps = []
    for d in days:
        _, c, w = _timed(lambda d=d: unet.predict(cube, d))
        runs["plain"].append((c, w))
        (_, s4), c, w = _timed(lambda d=d: tta_predict(unet, cube, d, 4))
        runs["tta4"].append((c, w))
        (_, s8), c, w = _timed(lambda d=d: tta_predict(unet, cube, d, 8))
        runs["tta8"].append((c, w))
        gaps.append(float(np.mean(np.abs(s4 - s8))))
    base = statistics.median(c for c, _ in runs["plain"])
    grid = f"{cube.sizes['y']} × {cube.sizes['x']} px"
    print(f"{len(days)} days of {grid}, path {unet.chosen_precision}")
    print("| variant | CPU s / day | wall s / day | CPU / plain |")
    print("|---|---:|---:|---:|")
    for k, v in runs.items():
        cpu, wall = statistics.median(c for c, _ in v), statistics.median(w for _, w in v)
        print(f"| {k} | {cpu:.2f} | {wall:.2f} | {cpu / base:.2f}× |")
    print(f"mean |spread4 − spread8| per pixel: {statistics.mean(gaps):.4f}")
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
