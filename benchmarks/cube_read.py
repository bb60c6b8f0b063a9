"""One-day read time from the analysis cube vs the naive path (open the day's GeoTIFFs).

Prints medians and the ratio; run after `make demo`. Usage: python -m benchmarks.cube_read [source]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import rioxarray

from meltwater.data.catalog import get_source
from meltwater.data.cube import open_cube

VARIABLES = ("pmw", "mar_wa1", "sar")


def _median_ms(fn, days) -> float:
    times = []
    for d in days:
        t = time.perf_counter()
        fn(d)
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


def main(name: str = "demo") -> None:
    source = get_source(name)
    cube = open_cube(source)
    days = cube.indexes["time"][cube["has_sar"].values][:40]

    def from_cube(d):
        return [cube[v].sel(time=d).values for v in VARIABLES]

    def from_geotiffs(d):
        return [
            rioxarray.open_rasterio(source.day_path(v, d), masked=True).values for v in VARIABLES
        ]

    from_cube(days[0]), from_geotiffs(days[0])  # warm caches
    naive, fast = _median_ms(from_geotiffs, days), _median_ms(from_cube, days)
    ny, nx = cube.sizes["y"], cube.sizes["x"]
    print(f"grid {ny}×{nx}, {len(VARIABLES)} variables, median over {len(days)} days")
    print(f"GeoTIFFs via rioxarray (naive): {naive:7.1f} ms/day")
    print(f"analysis cube (zarr):           {fast:7.1f} ms/day   ratio {naive / fast:.1f}×")


if __name__ == "__main__":
    main(*sys.argv[1:])
