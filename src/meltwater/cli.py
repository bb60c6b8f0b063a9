"""The ``meltwater`` command. Each subcommand is a small function registered in `COMMANDS`."""

from __future__ import annotations

import argparse
import errno
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from meltwater.errors import InvalidArgumentError, MeltwaterError, UnknownNameError
from meltwater.schema import CHANNELS

__all__ = ["main"]

log = logging.getLogger("meltwater")


def _add_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", default="demo", help="catalog source (default: demo)")
    p.add_argument(
        "--catalog", default=None, help="catalog YAML (default: data_catalog/catalog.yaml)"
    )
    p.add_argument(
        "--data-root", default=None, help="data directory (default: $MELTWATER_DATA or data/)"
    )


def _years(text: str) -> list[int]:
    """argparse type of ``--years``: comma-separated four-digit years."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() and len(p) == 4 for p in parts):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated years like 2019,2020, got {text!r}"
        )
    return [int(p) for p in parts]


def _cmd_demo(args: argparse.Namespace) -> None:
    from meltwater.data.catalog import get_source
    from meltwater.data.synthetic import DemoConfig, write_demo

    source = get_source("demo", args.catalog, args.data_root)
    cfg = DemoConfig.preset(args.size, seed=args.seed, seasons=args.seasons)
    write_demo(source.root, cfg, overwrite=args.overwrite)
    years = f"{cfg.years[0]}–{cfg.years[-1]}" if len(cfg.years) > 1 else str(cfg.years[0])
    print(f"demo data ({args.size}, {years}, seed {args.seed}) in {source.root}")


def _setup_demo(sub: argparse._SubParsersAction) -> None:
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


def _setup_cube(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cube", help="build the zarr analysis cube of a source")
    _add_source(p)
    p.add_argument(
        "--years", type=_years, default=None, help="comma-separated years (default: all)"
    )
    p.add_argument("--overwrite", action="store_true", help="rebuild even if the cube is complete")
    p.set_defaults(func=_cmd_cube)


def _cmd_download(args: argparse.Namespace) -> None:
    from meltwater.data.catalog import get_source
    from meltwater.data.download import download

    source = get_source(args.source, args.catalog, args.data_root)
    variables = args.variables.split(",") if args.variables else None
    path = download(source, years=args.years, variables=variables, verify_existing=args.verify)
    print(f"downloaded to {path} (sha256 of every file in {path / 'MANIFEST.sha256'})")


def _setup_download(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("download", help="download the real MeltwaterBench data from the hub")
    _add_source(p)
    p.set_defaults(source="meltwaterbench")
    p.add_argument(
        "--years", type=_years, default=None, help="comma-separated years, e.g. 2019,2020"
    )
    p.add_argument("--variables", default=None, help="comma-separated: sar,pmw,mar_wa1")
    p.add_argument(
        "--verify",
        action="store_true",
        help="re-hash files already downloaded and fetch again those that no longer match",
    )
    p.set_defaults(func=_cmd_download)


def _cmd_train(args: argparse.Namespace) -> None:
    import shlex

    from meltwater.models.train import TrainConfig, train

    try:
        cfg = TrainConfig.from_yaml(
            args.config,
            source=args.source,
            catalog=args.catalog,
            data_root=args.data_root,
            out=args.out,
            epochs=args.epochs,
            max_minutes=args.max_minutes,
        )
    except ValueError as e:
        raise MeltwaterError(f"--config {args.config}: {e}") from e
    opts = {"--config": args.config, "--source": args.source, "--catalog": args.catalog}
    opts.update({"--data-root": args.data_root, "--out": args.out, "--epochs": args.epochs})
    opts["--max-minutes"] = args.max_minutes
    words = [w for k, v in opts.items() if v is not None for w in (k, str(v))]
    command = "meltwater train " + shlex.join(words)
    path = train(cfg, resume=args.resume, command=command)
    print(f"best checkpoint: {path}")


def _setup_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the UNet on a source's training split")
    p.add_argument("--config", required=True, help="training config YAML (see configs/)")
    p.add_argument("--source", default=None, help="override the config's catalog source")
    p.add_argument("--catalog", default=None)
    p.add_argument("--data-root", default=None)
    p.add_argument("--out", default=None, help="override the checkpoint path stem")
    p.add_argument("--epochs", type=int, default=None, help="override the number of epochs")
    p.add_argument("--max-minutes", type=float, default=None, help="override the time budget")
    p.add_argument("--resume", action="store_true", help="continue from the last saved state")
    p.set_defaults(func=_cmd_train)


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from meltwater.atomic import check_writable
    from meltwater.data.catalog import get_source
    from meltwater.data.cube import open_cube
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
    ablations = _channels(args.ablations, CHANNELS, "--ablations")
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


def _setup_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score models against SAR on a split (netCDF + table)")
    _add_source(p)
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
        type=_bounded_int(1, MAX_BOOTSTRAP),
        default=1000,
        metavar="N",
        help=f"resamples of the score cards' bootstrap intervals (1–{MAX_BOOTSTRAP}, default 1000)",
    )
    p.add_argument(
        "--seed",
        type=_bounded_int(0, 2**32 - 1),
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


MAX_BOOTSTRAP = 100_000


def _bounded_int(lo: int, hi: int) -> Callable[[str], int]:
    """argparse type of an integer option in ``[lo, hi]`` (argparse names the option)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip()) if len(text) <= 20 else None
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(
                f"expected an integer from {lo} to {hi}, got {text[:40]!r}"
            )
        return value

    return parse


def _channels(text: str, valid: tuple[str, ...], option: str) -> tuple[str, ...]:
    """``all`` → every channel of ``valid``, else `_names` (``none`` → empty)."""
    return valid if text.strip() == "all" else _names(text, valid, option)


def _names(text: str, valid: tuple[str, ...], option: str) -> tuple[str, ...]:
    """Comma-separated names checked against ``valid`` (``none`` → empty)."""

    names = tuple(n.strip() for n in text.split(",") if n.strip() and n.strip() != "none")
    unknown = sorted(set(names) - set(valid))
    if unknown:
        raise UnknownNameError(f"{option}: unknown {unknown}; valid: {list(valid)}")
    return names


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
    ablations = _channels(args.ablations, CHANNELS, "--ablations")
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


def _setup_precompute(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("precompute", help="store every model's predictions in the cube")
    _add_source(p)
    p.add_argument("--models", default=None, help="comma-separated model names (default: all)")
    p.add_argument(
        "--years", type=_years, default=None, help="comma-separated years (default: all)"
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
        type=_bounded_int(0, 8),
        default=0,
        metavar="N",
        help="write unc_unet on SAR days: the spread of N test-time augmentation members "
        "(flips/rotations; 4 or 8; default 0: none)",
    )
    p.set_defaults(func=_cmd_precompute)


def serve_command(args: argparse.Namespace) -> list[str]:
    """The ``panel serve`` command line of the installed dashboard app."""
    from importlib.resources import files

    app = str(files("meltwater_dashboard") / "app.py")
    origins = [f"--allow-websocket-origin={h}:{args.port}" for h in ("localhost", args.address)]
    return [
        sys.executable,
        "-m",
        "panel",
        "serve",
        app,
        "--warm",
        "--unused-session-lifetime",
        "120000",
        "--address",
        args.address,
        "--port",
        str(args.port),
        *dict.fromkeys(origins),
        *(["--num-procs", str(args.num_procs)] if args.num_procs > 1 else []),
    ]


def _cmd_serve(args: argparse.Namespace) -> None:
    import os
    import subprocess

    from meltwater.resources import DATA_ENV

    env = dict(os.environ)
    if args.data_root:
        env[DATA_ENV] = str(Path(args.data_root).resolve())
    raise SystemExit(subprocess.call(serve_command(args), env=env))


def _setup_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the dashboard (panel serve of the installed app)")
    p.add_argument("--address", default="127.0.0.1", help="bind address (default: loopback)")
    p.add_argument("--port", type=int, default=5006)
    p.add_argument("--num-procs", type=int, default=1, help="server processes (default 1)")
    p.add_argument("--data-root", default=None, help="data directory (sets $MELTWATER_DATA)")
    p.set_defaults(func=_cmd_serve)


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _setup_demo,
    _setup_download,
    _setup_cube,
    _setup_evaluate,
    _setup_train,
    _setup_precompute,
    _setup_serve,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meltwater", description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="full tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True)
    for setup in COMMANDS:
        setup(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors print one clear line and exit 2 (tracebacks with --verbose)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    if not args.verbose:  # the hub client logs every HTTP request at INFO
        for name in ("httpx", "httpx2", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        args.func(args)
    except (MeltwaterError, FileNotFoundError) as e:
        if args.verbose:
            raise
        print(f"meltwater {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # full disk, read-only or forbidden folder, I/O error
        if args.verbose:
            raise
        print(f"meltwater {args.command}: error: {_os_error(e)}", file=sys.stderr)
        return 2
    return 0


_OS_ERRORS = {
    errno.ENOSPC: ("no space left on the device", "free some space or use another --data-root"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or use another --data-root"),
    errno.EROFS: ("read-only file system", "use a writable --data-root (or $MELTWATER_DATA)"),
    errno.EACCES: ("permission denied", "use a writable --data-root (or $MELTWATER_DATA)"),
    errno.EPERM: ("operation not permitted", "use a writable --data-root (or $MELTWATER_DATA)"),
}


def _os_error(e: OSError) -> str:
    """One line for an OSError: the path, what went wrong and what to do."""
    what, hint = _OS_ERRORS.get(e.errno or 0, (e.strerror or str(e), ""))
    line = f"{e.filename or '(no path given)'}: {what}"
    return f"{line}; {hint}" if hint else line


if __name__ == "__main__":
    sys.exit(main())
