"""``meltwater precompute``: store every model's predictions in the cube."""

from __future__ import annotations

import argparse

from meltwater.cli.args import add_source, bounded_int, channel_list, year_list
from meltwater.errors import InvalidArgumentError
from meltwater.schema import CHANNELS

__all__ = ["setup_precompute"]


def _cmd_precompute(args: argparse.Namespace) -> None:
    from meltwater.data.catalog import get_source
    from meltwater.precompute import precompute

    source = get_source(args.source, args.catalog, args.data_root)
    models = args.models.split(",") if args.models else None
    dates = None
    if args.years or args.split:
        from meltwater.data.cube import open_cube, split_dates

        cube = open_cube(source)
        times = cube.indexes["time"]
        if args.years:
            dates = times[times.year.isin(args.years)]
            if len(dates) == 0:
                raise InvalidArgumentError(
                    f"--years: no day of {args.years} in {source.cube}; "
                    f"it holds {sorted(set(times.year))}"
                )
        if args.split:
            days = split_dates(cube, args.split)
            dates = days if dates is None else dates.intersection(days)
    ablations = channel_list(args.ablations, CHANNELS, "--ablations")
    if args.uncertainty:
        from meltwater.models.tta import MEMBERS

        if args.uncertainty not in MEMBERS:
            raise InvalidArgumentError(
                f"--uncertainty: expected 0 or a number of TTA members {list(MEMBERS)}, "
                f"got {args.uncertainty}"
            )
        if "unet" not in (models or ("unet",)):
            raise InvalidArgumentError(
                "--uncertainty: the spread is the UNet's; add unet to --models"
            )
    done = precompute(
        source.cube,
        models,
        ablations,
        dates=dates,
        scheduler=args.scheduler,
        workers=args.workers,
        overwrite=args.overwrite,
        verify=args.verify,
        uncertainty=args.uncertainty,
    )
    for var, n in done.items():
        print(f"{var}: {n} days")


def setup_precompute(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("precompute", help="store every model's predictions in the cube")
    add_source(p)
    p.add_argument("--models", default=None, help="comma-separated model names (default: all)")
    p.add_argument(
        "--years", type=year_list, default=None, help="comma-separated years (default: all)"
    )
    p.add_argument(
        "--split",
        default=None,
        choices=["train", "val", "test"],
        help="only the days of this split (default: every day; with --years, both)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        help="run on dask.distributed: 'local' (a LocalCluster of --workers processes) or a "
        "scheduler address such as tcp://host:8786 (default: threads here)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="threads, or the worker processes of --scheduler local (default: the CPUs)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="recompute the days asked for, even if done"
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="decode every stored day and recompute the damaged ones",
    )
    p.add_argument(
        "--ablations",
        default="all",
        help="UNet input channels to ablate one at a time on SAR days: all, none, or a "
        "comma-separated list (default: all)",
    )
    p.add_argument(
        "--uncertainty",
        type=bounded_int(0, 8),
        default=0,
        metavar="N",
        help="write unc_unet on SAR days: the spread of N test-time augmentation members "
        "(flips/rotations; 4 or 8; default 0: none)",
    )
    p.set_defaults(func=_cmd_precompute)
