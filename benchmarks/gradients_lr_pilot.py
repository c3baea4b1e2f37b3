# SPDX-License-Identifier: MIT
"""At which learning rate does plain-20 without batch norm train? The pilot behind the gradients experiment's ``LR``.

    python benchmarks/gradients_lr_pilot.py            # lr 0.05, 0.02, 0.01 × pilot seeds 10–13, 300 steps each

The gradients experiment trains plain-20/56 without batch norm (He init) beside plain-56 + BN and ResNet-56 with one
recipe. Its "trains better" parts compare against plain-56, and the clipping threshold comes from plain-20's healthy
runs, so the recipe's learning rate must be one at which the *20-layer* plain net trains rather than dies (its
loss stuck at the constant-output ln 10). This trains plain-20 with the experiment's recipe (batch 64, 16 px, 20
warm-up steps, cosine decay, SGD Nesterov 0.9, weight decay 1e-4) for 300 steps at each learning rate, on seeds
the experiment does not use (10–13), one thread, and records the training-set loss and error in eval mode (the
first 1,000 training images), the fraction of dead ReLU channels, and whether the run trained
(``verdicts.not_trained``). Writes ``benchmarks/results/gradients_lr_pilot.json`` with the command, commit and CPU kind.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch

from convzoo.experiments.gradient_flow import HE_INIT, IMAGE_SIZE, build, dead_fraction
from convzoo.experiments.lab import fashion_mnist_sample
from convzoo.experiments.scoring import training_set_fit
from convzoo.experiments.verdicts import not_trained
from convzoo.provenance import provenance
from convzoo.runtime import cpu_kind
from convzoo.training.short_run import Data, Recipe, resized, train

ROOT = Path(__file__).resolve().parents[1]
RATES = (0.05, 0.02, 0.01)
SEEDS = (10, 11, 12, 13)  # not the experiment's (0, 1)
STEPS = 300


def main() -> int:
    torch.set_num_threads(1)
    data = fashion_mnist_sample()
    fit = Data(data.train_images[:1000], data.train_labels[:1000], data.test_images, data.test_labels, data.classes)
    probe = resized(data.train_images[:256], IMAGE_SIZE)
    runs = []
    for lr in RATES:
        for seed in SEEDS:
            torch.manual_seed(seed)
            model = build("plain-20", HE_INIT)
            started = time.perf_counter()
            train(model, data, Recipe(steps=STEPS, batch_size=64, lr=lr, image_size=IMAGE_SIZE), seed=seed)
            scores = training_set_fit(model, fit, IMAGE_SIZE)
            run = {
                "lr": lr,
                "seed": seed,
                "training_set": scores,
                "dead_fraction": dead_fraction(model, probe),
                "trained": not not_trained(scores["loss"], math.log(10)),
                "seconds": round(time.perf_counter() - started, 1),
            }
            runs.append(run)
            print(json.dumps(run), flush=True)
    summary = {str(lr): sum(r["trained"] for r in runs if r["lr"] == lr) for lr in RATES}
    record = {
        "what": "plain-20 without BN, He init: runs that trained (loss below ln 10 by more than 1%) per learning rate",
        "steps": STEPS,
        "seeds": list(SEEDS),
        "trained_of_4": summary,
        "runs": runs,
        "cpu": cpu_kind(),
        "threads": 1,
        "provenance": provenance(),
    }
    (ROOT / "benchmarks" / "results" / "gradients_lr_pilot.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"trained, of {len(SEEDS)} seeds: {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
