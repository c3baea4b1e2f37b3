# SPDX-License-Identifier: MIT
"""Time-to-accuracy of the training engine on full Fashion-MNIST (2 CPU cores).

    python benchmarks/time_to_accuracy.py                             # the 5-minute budget (10 epochs)
    python benchmarks/time_to_accuracy.py --epochs 28 --tag 15min     # the 15-minute budget
    python benchmarks/time_to_accuracy.py --avx2 --tag avx2-10min ... # PyTorch limited to AVX2 kernels

Trains with ``convzoo.training.train`` (defaults: SGD + Nesterov, one-cycle, label smoothing 0.1,
crop + flip, bf16 autocast where the CPU supports it) and evaluates on the 10,000 test images after
every epoch. "Training time" sums the epochs' training wall-clock (data, forward, backward, step);
the per-epoch evaluation is reported apart. The final checkpoint is then evaluated again by
``convzoo eval`` (its top-1 and images/s are recorded too). Writes
``benchmarks/results/time_to_accuracy-TAG.json`` with the command, commit and CPU kind; refuses a
dirty tree unless ``--allow-dirty``.

``--avx2`` reruns the script with PyTorch limited to AVX2 kernels (``ATEN_CPU_CAPABILITY=avx2
ONEDNN_MAX_CPU_ISA=AVX2``): fp32 only, as on an AVX2-only CPU; the JSON's CPU label says it was limited.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from convzoo.provenance import add_machine_arguments, start_measuring
from convzoo.training import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="cifar_resnet20")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--amp", default="auto")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--progressive-resize", type=int, default=None)
    parser.add_argument("--progressive-until", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tag", default="5min")
    add_machine_arguments(parser)
    args = parser.parse_args()
    record = start_measuring(args)
    out = Path(f"/tmp/convzoo-tta-{args.tag}")
    shutil.rmtree(out, ignore_errors=True)
    config = TrainConfig(
        model=args.model,
        data="fashion-mnist",
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        amp=args.amp,
        channels_last=args.channels_last,
        seed=args.seed,
        out=str(out),
        progress=False,
        progressive_resize=args.progressive_resize,
        progressive_until=args.progressive_until,
    )
    result = train(config)
    if result.interrupted:  # stopped (Ctrl-C, SIGTERM): its checkpoint is for --resume, not for the table
        sys.exit(result.exit_code)
    elapsed, rows = 0.0, []
    for row in result.history:
        elapsed += row["epoch_seconds"]
        rows.append({**row, "train_seconds_cumulative": round(elapsed, 1)})
        print(
            f"epoch {row['epoch']:2d}  {row['train_side']} px  {elapsed / 60:5.2f} min  test top-1 "
            f"{row['test_top1']:.2%}",
            flush=True,
        )

    def first_reaching(target: float):
        hit = next((r for r in rows if r["test_top1"] >= target), None)
        return (
            None if hit is None else {"epoch": hit["epoch"], "minutes": round(hit["train_seconds_cumulative"] / 60, 2)}
        )

    evaluation = subprocess.run(
        [
            sys.executable,
            "-m",
            "convzoo",
            "eval",
            "--checkpoint",
            str(out / "last.pt"),
            "--data",
            "fashion-mnist",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    evaluated = json.loads(evaluation.stdout)
    summary = {
        **record,
        "config": asdict(config),
        "torch": torch.__version__,
        "final_top1": rows[-1]["test_top1"],
        "eval": {key: evaluated[key] for key in ("top1", "count", "images_per_s")},
        "train_minutes": round(elapsed / 60, 2),
        "reached_93": first_reaching(0.93),
        "reached_94": first_reaching(0.94),
        "epochs": rows,
    }
    target = Path(__file__).parent / "results" / f"time_to_accuracy-{args.tag}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: summary[k] for k in ("final_top1", "train_minutes", "reached_93", "reached_94")}))


if __name__ == "__main__":
    main()
