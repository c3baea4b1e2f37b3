# SPDX-License-Identifier: MIT
"""Which recipe lets every architecture show that it learns in 30 steps (the compare learns-check)?

    python benchmarks/learns_check_recipe.py                       # the default grid, ~10 min on AMX
    python benchmarks/learns_check_recipe.py --models vgg16 --recipes adamw:3e-4 sgd:0.05

Trains each model's small-input variant for ``--steps`` steps of batch 64 on the embedded Fashion-MNIST
sample (one-cycle, gradient clipping 2, precise BN over 8 batches, bf16 where native, seed 0) and tests it
on the 1,000 held-out images. Writes ``benchmarks/results/learns_check_recipe.json`` with the command,
commit and CPU kind. The chosen recipe (AdamW at 2e-3 with batch norm, 3e-4 without) is
``CompareConfig``'s default.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from convzoo.provenance import provenance
from convzoo.training import TrainConfig, train

RESULTS = Path(__file__).parent / "results" / "learns_check_recipe.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--models", nargs="*", default=["vgg16", "alexnet", "mobilenet_v1", "mobilenet_v2", "efficientnet_v2_s"]
    )
    parser.add_argument("--recipes", nargs="*", default=["sgd:0.05", "adamw:2e-3", "adamw:1e-3", "adamw:3e-4"])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--allow-dirty", action="store_true")
    args = parser.parse_args()
    record = provenance(allow_dirty=args.allow_dirty)
    rows = []
    for recipe in args.recipes:
        optimizer, lr = recipe.split(":")
        for name in args.models:
            out = Path(f"/tmp/convzoo-learns-{name}")
            shutil.rmtree(out, ignore_errors=True)
            started = time.perf_counter()
            config = TrainConfig(
                model=name,
                epochs=1,
                steps_per_epoch=args.steps,
                batch_size=64,
                optimizer=optimizer,
                lr=float(lr),
                grad_clip=2.0,
                precise_bn=8,
                out=str(out),
                progress=False,
            )
            final = train(config).final
            shutil.rmtree(out, ignore_errors=True)
            row = {
                "model": name,
                "optimizer": optimizer,
                "lr": float(lr),
                "steps": args.steps,
                "test_top1": final["test_top1"],
                "train_loss": final["train_loss"],
                "seconds": round(time.perf_counter() - started, 1),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    RESULTS.write_text(json.dumps({**record, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
