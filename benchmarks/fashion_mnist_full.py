# SPDX-License-Identifier: MIT
"""Accuracy after real training: the compare line-up on full Fashion-MNIST, a recipe per family.

    python benchmarks/fashion_mnist_full.py --models resnet18 mobilenet_v2 --epochs 10
    python benchmarks/fashion_mnist_full.py --device cuda --seeds 0 1          # all 13 on a GPU, two seeds

Each model trains on all 60,000 training images (its small-input variant for 28x28) and is tested on
the 10,000 test images. Each (model, seed) run is appended to ``benchmarks/results/fashion_mnist_full.json``
as soon as it finishes, with the command, commit, device and CPU kind; a rerun of the same (model, seed,
epochs) replaces its entry. ``convzoo compare`` reads the file for its "after real training" column.

Recipes: SGD + Nesterov with one-cycle and label smoothing for the batch-norm nets; a lower peak rate and
gradient clipping for AlexNet and VGG (no batch norm); AdamW for ConvNeXt, as its paper trains it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from convzoo.compare import LINEUP
from convzoo.provenance import provenance
from convzoo.registry import get_entry
from convzoo.runtime import cpu_kind
from convzoo.training import TrainConfig, train

RESULTS = Path(__file__).parent / "results" / "fashion_mnist_full.json"
RECIPES = {  # TrainConfig overrides per family; anything not named uses the engine's defaults
    "alexnet": {"lr": 0.02, "grad_clip": 2.0},
    "vgg": {"lr": 0.02, "grad_clip": 2.0},
    "convnext": {"optimizer": "adamw", "lr": 1e-3, "grad_clip": 1.0},
}


def _device_label(device: str) -> str:
    if device == "cuda":
        import torch

        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"cpu ({cpu_kind()['label']})"


def _store(run: dict, header: dict) -> None:
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"runs": []}
    key = (run["model"], run["seed"], run["epochs"])
    results["runs"] = [r for r in results["runs"] if (r["model"], r["seed"], r["epochs"]) != key] + [run]
    results["runs"].sort(key=lambda r: (LINEUP.index(r["model"]) if r["model"] in LINEUP else 99, r["seed"]))
    results["about"] = header
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=list(LINEUP))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--allow-dirty", action="store_true", help="record figures from uncommitted code, marked dirty")
    args = parser.parse_args()
    record = provenance(allow_dirty=args.allow_dirty)
    header = {
        "what": "test top-1 on Fashion-MNIST's 10,000 test images after training on all 60,000, per (model, seed)",
        "published": (
            "Fashion-MNIST benchmark table: VGG16 93.5, GoogLeNet 93.7, ResNet18 94.9, MobileNet 95.0, "
            "WRN-28-10+RE 96.3"
        ),
    }
    for name in args.models:
        family = get_entry(name).family
        for seed in args.seeds:
            out = Path(f"/tmp/convzoo-full-{name}-{seed}")
            shutil.rmtree(out, ignore_errors=True)
            config = TrainConfig(
                model=name,
                data="fashion-mnist",
                data_dir=args.data_dir,
                epochs=args.epochs,
                batch_size=args.batch_size,
                seed=seed,
                device=args.device,
                out=str(out),
                progress=False,
                **RECIPES.get(family, {}),
            )
            started = time.perf_counter()
            result = train(config)
            if result.interrupted:
                print(f"{name} seed {seed}: stopped by {result.stop_signal}; nothing recorded")
                return
            final = result.final
            run = {
                "model": name,
                "seed": seed,
                "epochs": args.epochs,
                "recipe": RECIPES.get(family, {}),
                "device": _device_label(
                    config.device if config.device != "auto" else ("cuda" if result_uses_cuda() else "cpu")
                ),
                "test_top1": final["test_top1"],
                "best_top1": max(r["test_top1"] for r in result.history),
                "train_minutes": round(sum(r["epoch_seconds"] for r in result.history) / 60, 2),
                "wall_minutes": round((time.perf_counter() - started) / 60, 2),
                **record,
            }
            _store(run, header)
            shutil.rmtree(out, ignore_errors=True)
            print(
                f"{name} seed {seed}: test top-1 {final['test_top1']:.2%} after {args.epochs} epochs, "
                f"{run['train_minutes']} min",
                flush=True,
            )


def result_uses_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    main()
