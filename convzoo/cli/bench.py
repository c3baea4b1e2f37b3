# SPDX-License-Identifier: MIT
"""``convzoo bench MODEL...``: images/s, latency (median, p90) and peak memory; ``--against`` for ratios."""

from __future__ import annotations

import argparse

from ..bench.runner import BenchSpec, bench
from ..errors import OptionError
from ..formats import console, emit, to_json


def _batches(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--batch takes comma-separated integers such as 1,16, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"batch sizes must be positive, got {text!r}")
    return values


def _references(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in REFERENCES]
    if unknown or not names or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"--against takes distinct names from {', '.join(REFERENCES)}, got {text!r}")
    return names


REFERENCES = ("torchvision", "timm", "onnxruntime", "openvino")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("bench", help="measure speed and memory, optionally against torchvision/timm")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--mode", choices=("infer", "train"), default="infer")
    parser.add_argument("--batch", type=_batches, default=[1, 16], help="comma-separated batch sizes")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument(
        "--dtype",
        choices=("fp32", "bf16", "int8"),
        default="fp32",
        help="int8: static PT2E quantization (torchao), with --optimize --compile only",
    )
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--optimize", action="store_true", help="fold BN, channels-last (convzoo only)")
    parser.add_argument("--compile", action="store_true", help="torch.compile, with freezing on CPU (convzoo only)")
    parser.add_argument(
        "--against",
        type=_references,
        default=(),
        help="references timed interleaved, comma-separated: torchvision, timm (their model), onnxruntime (ours "
        "exported, fp32), openvino (the same export; bf16 with --dtype bf16 where native, else fp32); ratio is "
        "speed over the first one's",
    )
    parser.add_argument(
        "--reference-same-flags", action="store_true", help="give the reference --dtype and --channels-last too"
    )
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise OptionError("--device cuda asked for, but no CUDA device is available")
    if args.mode == "train" and (args.optimize or args.compile):
        raise OptionError("--optimize/--compile are for --mode infer")
    if args.dtype == "int8" and not (args.optimize and args.compile and args.mode == "infer"):
        raise OptionError("--dtype int8 is an inference optimization of ours: use it with --optimize --compile")
    if args.dtype == "int8" and args.reference_same_flags:
        raise OptionError("--reference-same-flags gives the reference fp32 or bf16 autocast; there is no eager int8")
    for engine in ("onnxruntime", "openvino"):
        if engine in args.against and (args.mode == "train" or args.device == "cuda"):
            raise OptionError(f"--against {engine} times CPU inference: use it with --mode infer on the CPU")
    spec = BenchSpec(
        models=args.models,
        mode=args.mode,
        batches=args.batch,
        size=args.size,
        dtype=args.dtype,
        channels_last=args.channels_last,
        optimize=args.optimize,
        compile=args.compile,
        against=args.against,
        device=args.device,
        warmup=args.warmup,
        repeats=args.repeats,
        memory=not args.no_memory,
        reference_same_flags=args.reference_same_flags,
    )
    progress = (
        None
        if args.format == "json"
        else (
            lambda row: console().print(
                f"  {row['model']} {row['impl']} batch {row['batch']}: {row['images_per_s']} img/s"
            )
        )
    )
    rows = bench(spec, on_row=progress)
    if args.format == "json":
        print(to_json(rows, indent=2))
    else:
        columns = [
            "model",
            "impl",
            "variant",
            "mode",
            "dtype",
            "batch",
            "images_per_s",
            "latency_ms",
            "latency_p90_ms",
            "peak_memory_mib",
            "max_relative_difference",
        ]
        if args.against:
            columns.append("ratio")
        emit(
            [{c: row.get(c, "") for c in columns} for row in rows],
            "table",
            title="convzoo bench (ratio = speed / reference speed; max_relative_difference: outputs against ours in "
            "eager fp32, max |difference| / max |output|)",
        )
    return 0
