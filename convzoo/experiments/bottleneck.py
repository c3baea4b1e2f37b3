"""What 1×1 reductions and global average pooling buy, measured in training.

GoogLeNet (Szegedy et al. 2014, arXiv:1409.4842) puts a 1×1 convolution before
each 3×3 and 5×5 branch of its inception module to cut their input channels
(Fig. 2b against the naive Fig. 2a), and ends with global average pooling
instead of AlexNet's and VGG's large fully-connected layers (§5: +0.6% top-1,
and most of the parameters gone). Here one small network (two 3×3 convolutions
to 192 channels at 14×14, one inception module with the paper's 3a channels,
a head) is trained three ways with one recipe: naive module + GAP head,
module with reductions + GAP head, module with reductions + a VGG-style FC
head. Parameters and MACs come from the cost model; step time is measured;
accuracy on the 1,000 test images and on 1,000 training images gives the gap.
"""

from __future__ import annotations

import statistics
import time

import torch
from torch import Tensor, nn

from ..analysis import profile
from ..layers import ConvNormAct
from ..models.googlenet import Inception
from .lab import Lab, Recipe, accuracy, fashion_mnist_sample, train

DESCRIPTION = "inception module with and without 1×1 reductions, GAP head against an FC head: cost and accuracy"
DEFAULT_BUDGET_MINUTES = 6.0
CLAIM = (
    "1×1 reductions and global average pooling remove most of the multiply-adds and parameters without costing "
    "accuracy; a large fully-connected head adds parameters and widens the gap between training and test accuracy."
)
CONFIG_3A = (192, 64, 96, 128, 16, 32, 32)  # Table 1, inception (3a): in, 1×1, 3×3 reduce, 3×3, 5×5 reduce, 5×5, pool


class NaiveInception(nn.Module):
    """Fig. 2a: 1×1, 3×3 and 5×5 convolutions straight on the input, and its 3×3 max pool, concatenated."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int) -> None:
        super().__init__()
        self.branch1 = ConvNormAct(in_channels, ch1x1, 1)
        self.branch2 = ConvNormAct(in_channels, ch3x3, 3)
        self.branch3 = ConvNormAct(in_channels, ch5x5, 5)
        self.branch4 = nn.MaxPool2d(3, stride=1, padding=1)
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + in_channels

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


def inception_module(kind: str) -> nn.Module:
    in_channels, ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj = CONFIG_3A
    if kind == "naive":
        return NaiveInception(in_channels, ch1x1, ch3x3, ch5x5)
    return Inception(in_channels, ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj, paper_5x5=True)


def build(module: str, head: str) -> nn.Module:
    stem = [ConvNormAct(1, 64, 3), ConvNormAct(64, CONFIG_3A[0], 3, stride=2)]  # (N, 192, 14, 14)
    block = inception_module(module)
    channels = block.out_channels
    if head == "GAP":
        classifier = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10)]
    else:  # VGG-style: flatten a 7×7 map into a hidden fully-connected layer
        classifier = [nn.MaxPool2d(2), nn.Flatten(), nn.Linear(channels * 49, 256), nn.ReLU(inplace=True),
                      nn.Dropout(0.5), nn.Linear(256, 10)]  # fmt: skip
    return nn.Sequential(*stem, block, *classifier)


CONFIGS = {"naive module + GAP": ("naive", "GAP"), "1×1 reductions + GAP": ("reduced", "GAP"),
           "1×1 reductions + FC head": ("reduced", "FC")}  # fmt: skip


def run(lab: Lab) -> None:
    data = fashion_mnist_sample()
    seeds = (0,) if lab.quick else (0, 1)
    recipe = Recipe(steps=1, lr=0.05, weight_decay=5e-4, batch_size=8 if lab.quick else 128)
    builders = [lambda c=c: build(*c) for c in CONFIGS.values()]
    recipe.steps = lab.steps(builders, data, recipe, share=0.85, quick_steps=3, maximum=3000, runs_each=len(seeds))
    train_subset = data.train_images[:1000], data.train_labels[:1000]
    rows = {}
    for label, config in CONFIGS.items():
        cost = profile(build(*config), (1, 28, 28))
        module_cost = profile(inception_module(config[0]), (CONFIG_3A[0], 14, 14))
        tests, trains, seconds = [], [], []
        for seed in seeds:
            torch.manual_seed(seed)
            model = build(*config)
            started = time.perf_counter()
            train(model, data, recipe, seed=seed)
            seconds.append((time.perf_counter() - started) / recipe.steps)
            tests.append(accuracy(model, *lab.test_split(data)))
            trains.append(accuracy(model, *train_subset))
        rows[label] = {
            "params": cost.total_params, "macs": cost.total_macs, "step_seconds": statistics.median(seconds),
            "module_params": module_cost.total_params, "module_macs": module_cost.total_macs,
            "test_accuracy": tests, "train_accuracy": trains,
            "gap": statistics.mean(trains) - statistics.mean(tests),
        }  # fmt: skip

    naive, reduced, fc = rows["naive module + GAP"], rows["1×1 reductions + GAP"], rows["1×1 reductions + FC head"]
    mean = statistics.mean
    saves = (
        reduced["module_macs"] < 0.5 * naive["module_macs"] and reduced["module_params"] < 0.5 * naive["module_params"]
    )
    keeps_accuracy = mean(reduced["test_accuracy"]) >= mean(naive["test_accuracy"]) - 0.01
    head_costs = fc["params"] > 2 * reduced["params"] and fc["gap"] >= reduced["gap"]
    held = None if lab.quick else bool(saves and keeps_accuracy and head_costs)

    def draw(plt):
        labels = list(rows)
        for panel, (key, title, scale) in enumerate((("params", "parameters (M)", 1e6), ("macs", "MACs (M)", 1e6),
                                                      ("step_seconds", "training step (ms)", 1e-3))):  # fmt: skip
            axis = plt.subplot(1, 4, panel + 1)
            axis.bar(range(len(labels)), [rows[label][key] / scale for label in labels], color=["C3", "C0", "C1"])
            axis.set_xticks(range(len(labels)), [label.replace(" + ", "\n+ ") for label in labels], fontsize=7)
            axis.set_title(title, fontsize=9)
        axis = plt.subplot(1, 4, 4)
        for index, label in enumerate(labels):
            axis.bar(
                index - 0.2,
                100 * mean(rows[label]["train_accuracy"]),
                0.4,
                color="C2",
                label="train" if not index else None,
            )
            axis.bar(
                index + 0.2,
                100 * mean(rows[label]["test_accuracy"]),
                0.4,
                color="C4",
                label="test" if not index else None,
            )
        axis.set_xticks(range(len(labels)), [label.replace(" + ", "\n+ ") for label in labels], fontsize=7)
        axis.set_ylim(50, 100)
        axis.set_title("accuracy (%)", fontsize=9)
        axis.legend(fontsize=7)

    plots = [lab.plot("cost_and_accuracy.png", draw, size=(13, 3.8))]
    table = "| network | module parameters | module MACs | parameters | MACs | step | test accuracy | train accuracy | train − test |\n"
    table += "|---|---|---|---|---|---|---|---|---|\n" + "".join(
        f"| {label} | {row['module_params']:,} | {row['module_macs'] / 1e6:.1f}M | {row['params']:,} | {row['macs'] / 1e6:.1f}M | {row['step_seconds'] * 1e3:.0f} ms | "
        f"{' / '.join(f'{a:.1%}' for a in row['test_accuracy'])} | {' / '.join(f'{a:.1%}' for a in row['train_accuracy'])} | "
        f"{100 * row['gap']:+.1f} pt |\n"
        for label, row in rows.items()
    )
    verdict = (
        f"The 1×1 reductions cut the inception module's MACs {naive['module_macs'] / reduced['module_macs']:.1f}× and "
        f"its parameters {naive['module_params'] / reduced['module_params']:.1f}× (the whole network's "
        f"{naive['macs'] / reduced['macs']:.1f}× and {naive['params'] / reduced['params']:.1f}×); mean test accuracy {mean(reduced['test_accuracy']):.1%} against "
        f"{mean(naive['test_accuracy']):.1%} naive. The FC head has {fc['params'] / reduced['params']:.1f}× the "
        f"parameters of the GAP one and a train−test gap of {100 * fc['gap']:+.1f} pt against {100 * reduced['gap']:+.1f} pt."
    )
    body = (
        f"One recipe: SGD (Nesterov, momentum 0.9, weight decay 5e-4), lr 0.05 with warm-up and cosine decay, batch "
        f"{recipe.batch_size}, {recipe.steps} steps, seeds {', '.join(map(str, seeds))} (accuracies per seed). "
        "MACs for one 28×28 image, from `convzoo.profile` (the module alone: its 192×14×14 input). Step: the "
        "median over seeds of a run's mean step time (forward, backward, update).\n\n![cost and accuracy](cost_and_accuracy.png)\n\n"
        + table
    )
    lab.record({"recipe": recipe.__dict__, "seeds": list(seeds), "rows": rows, "plots": plots}, body, claim=CLAIM,
               held=held, verdict=verdict)  # fmt: skip
