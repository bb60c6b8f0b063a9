"""``meltwater train``: train the UNet from a config."""

from __future__ import annotations

import argparse

from meltwater.errors import MeltwaterError

__all__ = ["setup_train"]


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
    words += ["--resume"] if args.resume else []
    command = "meltwater train " + shlex.join(words)
    path = train(cfg, resume=args.resume, command=command)
    print(f"best checkpoint: {path}")


def setup_train(sub: argparse._SubParsersAction) -> None:
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
