# SPDX-License-Identifier: MIT
"""``convzoo train``: the training engine with every ``TrainConfig`` field as an option.

Under ``torchrun --nproc_per_node N -m convzoo train ...`` it trains data-parallel.
"""

from __future__ import annotations

import argparse
from dataclasses import MISSING, fields

from ..training import TrainConfig, train
from .outputs import writable_dir


def _type_of(annotation: str):
    base = annotation.replace(" | None", "").strip()
    return {"int": int, "float": float, "str": str}.get(base, str)


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--option`` per ``TrainConfig`` field, with its help text, default and choices."""
    for spec in fields(TrainConfig):
        flag = "--" + spec.name.replace("_", "-")
        default = spec.default if spec.default is not MISSING else None
        helptext = spec.metadata.get("help", "")
        if spec.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=helptext)
        else:
            parser.add_argument(
                flag,
                type=_type_of(spec.type),
                default=default,
                choices=spec.metadata.get("choices"),
                help=f"{helptext} (default: {default})" if default is not None else helptext,
            )


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a model on a dataset (resumable; torchrun for several processes)"
    )
    add_config_arguments(parser)
    parser.set_defaults(run=run)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(**{spec.name: getattr(args, spec.name) for spec in fields(TrainConfig)})


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)  # validates itself
    writable_dir(config.run_dir())  # a file or a read-only folder as --out: one line now, not after loading data
    result = train(config)
    if not result.is_main:
        return 0
    if result.interrupted:
        print(
            f"stopped by {result.stop_signal}; checkpoint of the exact position saved in {result.run_dir}; continue "
            "with --resume"
        )
        return result.exit_code
    final = result.final
    if final:
        print(f"done: test top-1 {final['test_top1']:.2%} after {final['epoch']} epochs; run in {result.run_dir}")
    return 0
