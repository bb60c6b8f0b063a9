"""``meltwater demo``, ``download`` and ``cube``: the data a source holds and its cube."""

from __future__ import annotations

import argparse

from meltwater.cli.args import add_source, year_list

__all__ = ["setup_cube", "setup_demo", "setup_download"]


def _cmd_demo(args: argparse.Namespace) -> None:
    from meltwater.data.catalog import get_source
    from meltwater.data.synthetic import DemoConfig, write_demo

    source = get_source("demo", args.catalog, args.data_root)
    cfg = DemoConfig.preset(args.size, seed=args.seed, seasons=args.seasons)
    write_demo(source.root, cfg, overwrite=args.overwrite)
    years = f"{cfg.years[0]}–{cfg.years[-1]}" if len(cfg.years) > 1 else str(cfg.years[0])
    print(f"demo data ({args.size}, {years}, seed {args.seed}) in {source.root}")


def setup_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="generate the synthetic Helheim demo data")
    p.add_argument(
        "--size",
        default="default",
        choices=["tiny", "small", "default", "full"],
        help="full: the release's 2863 × 1633 grid (benchmarks only; ~GB per season)",
    )
    p.add_argument(
        "--seasons", type=int, default=None, help="seasons from 2017 (1–7; default: the size's)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--catalog", default=None)
    p.add_argument("--data-root", default=None)
    p.add_argument("--overwrite", action="store_true", help="replace existing demo data")
    p.set_defaults(func=_cmd_demo)


def _cmd_download(args: argparse.Namespace) -> None:
    from meltwater.data.catalog import get_source
    from meltwater.data.download import download

    source = get_source(args.source, args.catalog, args.data_root)
    variables = args.variables.split(",") if args.variables else None
    path = download(source, years=args.years, variables=variables, verify_existing=args.verify)
    print(f"downloaded to {path} (sha256 of every file in {path / 'MANIFEST.sha256'})")


def setup_download(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("download", help="download the real MeltwaterBench data from the hub")
    add_source(p)
    p.set_defaults(source="meltwaterbench")
    p.add_argument(
        "--years", type=year_list, default=None, help="comma-separated years, e.g. 2019,2020"
    )
    p.add_argument("--variables", default=None, help="comma-separated: sar,pmw,mar_wa1")
    p.add_argument(
        "--verify",
        action="store_true",
        help="re-hash files already downloaded and fetch again those that no longer match",
    )
    p.set_defaults(func=_cmd_download)


def _cmd_cube(args: argparse.Namespace) -> None:
    from meltwater.data.catalog import get_source
    from meltwater.data.cube import update_cube

    source = get_source(args.source, args.catalog, args.data_root)
    report = update_cube(source, years=args.years, overwrite=args.overwrite)
    if not report.rebuilt:
        print(f"cube {report.path} is up to date (its source files did not change)")
        return
    print(f"cube written to {report.path} ({report.reason})")
    for var, (kept, had) in report.carried.items():
        redo = f"; {had - kept} to recompute with `meltwater precompute`" if kept < had else ""
        print(f"{var}: {kept} of {had} days carried over (inputs unchanged){redo}")


def setup_cube(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cube", help="build the zarr analysis cube of a source")
    add_source(p)
    p.add_argument(
        "--years", type=year_list, default=None, help="comma-separated years (default: all)"
    )
    p.add_argument("--overwrite", action="store_true", help="rebuild even if the cube is complete")
    p.set_defaults(func=_cmd_cube)
