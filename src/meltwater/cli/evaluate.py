"""``meltwater evaluate``: score models against SAR on a split."""

from __future__ import annotations

import argparse
from pathlib import Path

from meltwater.cli.args import MAX_BOOTSTRAP, add_source, bounded_int, channel_list
from meltwater.errors import InvalidArgumentError, UnknownNameError
from meltwater.schema import CHANNELS

__all__ = ["setup_evaluate"]


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from meltwater.atomic import check_writable
    from meltwater.data.catalog import get_source
    from meltwater.data.cube import open_cube
    from meltwater.data.remote import beside, upload
    from meltwater.evaluation.evaluate import (
        default_models,
        evaluate,
        results_path,
        results_table,
        save_results,
    )
    from meltwater.models.registry import MODEL_NAMES
    from meltwater.resources import data_dir
    from meltwater.schema import UNET

    source = get_source(args.source, args.catalog, args.data_root)
    cube = open_cube(source)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if models == ["auto"]:
        models = default_models(cube)
    unknown = [m for m in models if m not in MODEL_NAMES]
    if unknown or not models:
        raise UnknownNameError(f"--models: unknown {unknown or models}; valid: {list(MODEL_NAMES)}")
    ablations = channel_list(args.ablations, CHANNELS, "--ablations")
    if ablations and UNET not in models:
        raise InvalidArgumentError(
            f"--ablations {args.ablations}: ablations of the UNet need 'unet' in --models "
            f"(got {','.join(models)})"
        )
    root = Path(args.data_root) if args.data_root else data_dir(args.catalog)
    check_writable(results_path(root, source.name, args.split).parent)  # before minutes of work
    ds = evaluate(
        cube,
        models,
        args.split,
        ablations=ablations,
        use_cube=not args.live,
        area_days=args.area_days,
        workers=args.workers,
        n_boot=args.bootstrap,
        seed=args.seed,
        scheduler=args.scheduler,
    )
    nc, md = save_results(ds.assign_attrs(source=source.name), root)
    print(results_table(ds))
    print(f"results written to {nc} and {md} ({ds.attrs['elapsed_s']} s)")
    if source.cube_url:  # the dashboard serving a remote cube reads them beside it
        url = beside(source.cube_url, f"results/{nc.name}")
        upload(nc, url)
        print(f"results uploaded to {url}")


def setup_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score models against SAR on a split (netCDF + table)")
    add_source(p)
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument(
        "--models", default="auto", help="comma-separated model names (default auto: all available)"
    )
    p.add_argument(
        "--live", action="store_true", help="predict live even where the cube has pred_<model>"
    )
    p.add_argument(
        "--area-days", default="all", choices=["all", "split"], help="days of the melt-area series"
    )
    p.add_argument(
        "--ablations",
        default="none",
        help="also score the UNet with each of these input channels off (unet_no_<channel>): "
        "all, none, or a comma-separated list of " + ", ".join(CHANNELS) + " (default none)",
    )
    p.add_argument(
        "--bootstrap",
        type=bounded_int(1, MAX_BOOTSTRAP),
        default=1000,
        metavar="N",
        help=f"resamples of the score cards' bootstrap intervals (1–{MAX_BOOTSTRAP}, default 1000)",
    )
    p.add_argument(
        "--seed",
        type=bounded_int(0, 2**32 - 1),
        default=0,
        metavar="S",
        help="seed of the bootstrap resampling (0 to 2**32 - 1, default 0)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        help="score the days on dask.distributed: 'local' (a LocalCluster of --workers "
        "processes) or a scheduler address such as tcp://host:8786 (default: threads here)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="threads over days (default 1), or the worker processes of --scheduler local "
        "(default: the CPUs)",
    )
    p.set_defaults(func=_cmd_evaluate)
