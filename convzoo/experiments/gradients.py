"""Vanishing gradients, and the lecture's remedies: batch norm, skip connections; gradient clipping for exploding ones.

What is measured is the *back-propagated* gradient: the norm ‖∂L/∂h_l‖ of the
loss's gradient with respect to each block's output h_l (the stem's output and
every two-convolution block's, input side first), the quantity whose shrinking
towards the input "vanishing gradients" names. It is computed for one fixed
batch of 256 training images on a float64 copy of the model (``model.double()``),
so nothing underflows, through forward hooks and ``torch.autograd.grad`` on the
retained block outputs; in training mode, as in a training step (batch norm
uses the batch's statistics). It is taken at initialization and after training.

Networks (the CIFAR ResNet layout: 3×3 convolutions, three stages, He et al.
2015, arXiv:1512.03385), every convolution initialized with the standard
initialization for ReLU nets, Kaiming-normal fan-in (He et al. 2015,
arXiv:1502.01852: variance 2/fan_in), the classifier with LeCun-normal
(variance 1/fan_in), biases zero:

- plain-20 and plain-56 without batch norm: the two depths of the claim;
- plain-56 with batch norm (remedy 1); ResNet-56, skips and batch norm (remedy 2).

Each is trained with one recipe and two seeds (the seed draws the weights and
the batches). Gradient clipping (Pascanu et al. 2013, arXiv:1211.5063) is a
remedy for *exploding* gradients, not vanishing ones — it rescales all gradients
by one factor and cannot make the first layer's larger relative to the last's —
so it is shown where it applies: plain-20 without batch norm trained at ten
times the recipe's learning rate, without clipping and with clipping at the
median global gradient norm of the same net's normal-rate runs (Pascanu et al.'s
§3.2 heuristic: the threshold is the norm seen in ordinary training). The
setups were chosen from the claim and the literature before any run; see the
report for what each part decides and how.
"""

from __future__ import annotations

import copy
import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import registry
from .lab import Data, Lab, Recipe, fashion_mnist_sample, resized, train, training_set_fit
from .verdicts import (
    FAILED,
    HELD,
    UNDECIDED,
    Part,
    compare_seeds,
    diverged,
    every_seed,
    gap_text,
    loss_falls,
    separation,
    vanished,
)

DESCRIPTION = "‖∂L/∂h‖ per block of plain-20/56 (no BN), plain-56+BN, ResNet-56; clipping against a too-high lr"
DEFAULT_BUDGET_MINUTES = 14.0
CLAIM = (
    "In a deep plain network the back-propagated gradient vanishes towards the first layers, more so the deeper the "
    "net, and it trains badly; batch norm and skip connections restore the gradient flow and training; gradient "
    "clipping tames exploding gradients."
)
SEEDS = (0, 1)
IMAGE_SIZE = 16  # 3.4× cheaper per step than 28 px (measured), so more epochs in the budget; the nets take 8 px up
MEASURE_BATCH = 256
VANISHED_BELOW = 1e-2  # first block's ‖∂L/∂h‖ under 1/100 of the last block's: "vanished"
HIGH_LR_FACTOR = 10  # the exploding-gradient runs: ten times the recipe's learning rate

VARIANTS = {  # label: (registered model, create_model options)
    "plain-20": ("cifar_plain20", {"norm_layer": None}),
    "plain-56": ("cifar_plain56", {"norm_layer": None}),
    "plain-56 + BN": ("cifar_plain56", {}),
    "ResNet-56": ("cifar_resnet56", {}),
}


def build(label: str) -> nn.Module:
    """The net of ``label`` with Kaiming-normal fan-in convolutions (He et al. 2015) and a LeCun-normal classifier."""
    name, options = VARIANTS[label]
    model = registry.create_model(name, num_classes=10, in_chans=1, **options)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            elif isinstance(module, nn.Linear):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="linear")
            if isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


def blocks(model: nn.Module) -> list[nn.Module]:
    """The stem and every block, input side first: the outputs h_l whose gradients are measured."""
    return [model.stem, *model.stage1, *model.stage2, *model.stage3]


def block_depths(model: nn.Module) -> list[int]:
    """The weighted layer each measured output comes after: 1 for the stem, then 3, 5, … (two convolutions a block)."""
    return [1 + 2 * index for index in range(len(blocks(model)))]


def block_gradient_norms(model: nn.Module, images: Tensor, labels: Tensor) -> list[float]:
    """‖∂L/∂h_l‖ at each block's output, on a float64 copy of ``model`` in training mode (the model is untouched)."""
    twin = copy.deepcopy(model).double().train()
    outputs: list[Tensor] = []
    hooks = [block.register_forward_hook(lambda _m, _i, out: outputs.append(out)) for block in blocks(twin)]
    try:
        with torch.enable_grad():
            loss = F.cross_entropy(twin(images.double()), labels)
            gradients = torch.autograd.grad(loss, outputs)
    finally:
        for hook in hooks:
            hook.remove()
    return [g.norm().item() for g in gradients]


def ratio(norms: list[float]) -> float:
    """The first block's gradient norm over the last block's (NaN when not finite or the last is zero)."""
    first, last = norms[0], norms[-1]
    return first / last if math.isfinite(first) and math.isfinite(last) and last > 0 else math.nan


def log_ratio(norms: list[float]) -> float:
    value = ratio(norms)
    return math.log10(value) if value > 0 else (-math.inf if value == 0 else math.nan)


def _mean_tail(values: list[float], fraction: float = 0.1) -> float:
    tail = values[-max(1, int(len(values) * fraction)) :]
    return sum(tail) / len(tail)


# ---- measure ------------------------------------------------------------------------------------------------


def measure_run(label: str, data: Data, recipe: Recipe, seed: int, probe: tuple[Tensor, Tensor], fit_limit: int
                ) -> dict:  # fmt: skip
    torch.manual_seed(seed)
    model = build(label)
    at_init = block_gradient_norms(model, *probe)
    curve = train(model, data, recipe, seed=seed)
    subset = _subset(data, fit_limit)
    return {
        "label": label, "seed": seed, "depths": block_depths(model),
        "gradient_norms": {"initialization": at_init, "after training": block_gradient_norms(model, *probe)},
        "loss_curve": curve.loss, "grad_norm_curve": curve.grad_norm,
        "training_set": training_set_fit(model, subset, recipe.image_size),
    }  # fmt: skip


def _subset(data: Data, limit: int) -> Data:
    return Data(data.train_images[:limit], data.train_labels[:limit], data.test_images, data.test_labels, data.classes)


def measure(lab: Lab) -> dict:
    data = fashion_mnist_sample()
    recipe = Recipe(steps=1, lr=0.05, batch_size=8 if lab.quick else 64, image_size=IMAGE_SIZE, track_grad_norm=True)
    small = lab.budget_minutes < 5  # a short run (``convzoo demo``): measure on fewer images, leave time to train
    count = 16 if lab.quick else (64 if small else MEASURE_BATCH)
    probe = (resized(data.train_images[:count], IMAGE_SIZE), data.train_labels[:count])
    fit_limit = 200 if lab.quick else (1000 if small else len(data.train_labels))
    reserve = 0.0
    if not lab.quick:  # what the measurements after training will cost, from one of each on the deepest net
        started = time.perf_counter()
        block_gradient_norms(build("plain-56 + BN"), *probe)
        training_set_fit(build("plain-56 + BN"), _subset(data, fit_limit), IMAGE_SIZE)
        reserve = (time.perf_counter() - started) * 2 * len(VARIANTS) * len(SEEDS)  # 2 gradient measures + 1 fit
    builders = [lambda label=label: build(label) for label in VARIANTS] + [lambda: build("plain-20")] * 2
    recipe.steps = lab.steps(builders, data, recipe, share=0.9, quick_steps=3, maximum=3000, runs_each=len(SEEDS),
                             reserve_seconds=reserve)  # fmt: skip
    runs = [measure_run(label, data, recipe, seed, probe, fit_limit) for label in VARIANTS for seed in SEEDS]

    # exploding gradients: plain-20 at ten times the learning rate, without and with clipping at the median norm
    # of its normal-rate runs (Pascanu et al. 2013, §3.2)
    normal_norms = [n for run in runs if run["label"] == "plain-20" for n in run["grad_norm_curve"]]
    threshold = statistics.median(n for n in normal_norms if math.isfinite(n))
    high = Recipe(**{**recipe.__dict__, "lr": recipe.lr * HIGH_LR_FACTOR})
    exploding = []
    for clip in (None, threshold):
        for seed in SEEDS:
            torch.manual_seed(seed)
            model = build("plain-20")
            curve = train(model, data, Recipe(**{**high.__dict__, "clip_norm": clip}), seed=seed)
            fired = [n / clip for n in curve.grad_norm if clip is not None and not n <= clip]
            exploding.append({
                "seed": seed, "clip_norm": clip, "lr": high.lr, "loss_curve": curve.loss,
                "grad_norm_curve": curve.grad_norm, "clipped_steps": len(fired),
                "clip_ratio_median": statistics.median(fired) if fired else None,
                "clip_ratio_max": max(fired) if fired else None,
                "training_set": training_set_fit(model, _subset(data, fit_limit), recipe.image_size),
            })  # fmt: skip
    return {
        "dataset": "fashion-mnist-mini", "image_size": IMAGE_SIZE, "training_images": len(data.train_labels),
        "measured_batch": count, "fit_images": fit_limit, "seeds": list(SEEDS), "recipe": recipe.__dict__,
        "epochs": recipe.steps * recipe.batch_size / len(data.train_labels), "runs": runs,
        "clip_threshold": threshold, "exploding": exploding, "high_lr": high.lr, "step_seconds": lab.step_seconds,
        "reserved_seconds": reserve,
    }  # fmt: skip


# ---- judge --------------------------------------------------------------------------------------------------


def _by(data: dict, label: str) -> list[dict]:
    return [run for run in data["runs"] if run["label"] == label]


def _fmt(values: list[float], spec: str = ".2e") -> str:
    return "[" + ", ".join(format(v, spec) for v in values) + "]"


def judge(data: dict) -> list[Part]:
    """The claim in parts, from ``measure``'s data alone (pure)."""
    parts = []
    for moment, tag in (("initialization", "at init"), ("after training", "after training")):
        norms = [run["gradient_norms"][moment] for run in _by(data, "plain-56")]
        per_seed = [vanished(n[0], n[-1], below=VANISHED_BELOW) for n in norms]
        ratios = [ratio(n) for n in norms]
        parts.append(Part(
            f"vanishes {tag}", f"plain-56 without BN: ‖∂L/∂h‖ at the first block < {VANISHED_BELOW:g} × the last "
            f"block's, {tag} (every seed)", every_seed(per_seed),
            f"first ÷ last per seed: {_fmt(ratios)} ({', '.join(per_seed)})", {"ratios": ratios, "per_seed": per_seed},
        ))  # fmt: skip
    deep = [log_ratio(r["gradient_norms"]["initialization"]) for r in _by(data, "plain-56")]
    shallow = [log_ratio(r["gradient_norms"]["initialization"]) for r in _by(data, "plain-20")]
    parts.append(Part(
        "deeper vanishes more", "at init, log10(first ÷ last) is lower for plain-56 than for plain-20 (no BN)",
        compare_seeds(deep, shallow, better="lower"),
        f"log10 ratio: plain-56 {_fmt(deep, '.2f')}, plain-20 {_fmt(shallow, '.2f')}; "
        + gap_text(separation(deep, shallow, better="lower"), ".2f"), separation(deep, shallow, better="lower"),
    ))  # fmt: skip
    plain = [r["training_set"]["loss"] for r in _by(data, "plain-56")]
    plain_flow = [log_ratio(r["gradient_norms"]["after training"]) for r in _by(data, "plain-56")]
    for label, name in (("plain-56 + BN", "batch norm"), ("ResNet-56", "skip connections")):
        flow = [log_ratio(r["gradient_norms"]["after training"]) for r in _by(data, label)]
        parts.append(Part(
            f"{name}: gradient reaches the input", f"after training, log10(first ÷ last) is higher for {label} than "
            "for plain-56 (no vanishing; a ratio far above 1 would be another problem, reported, not judged)",
            compare_seeds(flow, plain_flow, better="higher"),
            f"log10 ratio: {label} {_fmt(flow, '.2f')}, plain-56 {_fmt(plain_flow, '.2f')}; "
            + gap_text(separation(flow, plain_flow, better="higher"), ".2f"),
            separation(flow, plain_flow, better="higher"),
        ))  # fmt: skip
        loss = [r["training_set"]["loss"] for r in _by(data, label)]
        parts.append(Part(
            f"{name}: trains better", f"after equal training, {label}'s training-set loss is lower than plain-56's",
            compare_seeds(loss, plain, better="lower"),
            f"training-set loss (eval mode): {label} {_fmt(loss, '.3f')}, plain-56 {_fmt(plain, '.3f')}; "
            + gap_text(separation(loss, plain, better="lower"), ".3f"), separation(loss, plain, better="lower"),
        ))  # fmt: skip
    free = [run for run in data["exploding"] if run["clip_norm"] is None]
    clipped = [run for run in data["exploding"] if run["clip_norm"] is not None]
    blew = [HELD if diverged(run["loss_curve"]) else FAILED for run in free]
    parts.append(Part(
        "too-high lr diverges", f"plain-20 at lr {data['high_lr']:g} without clipping diverges (loss not finite, or "
        "last 10% of steps at or above the first step's loss; every seed)", every_seed(blew),
        "final loss per seed: " + _fmt([_mean_tail(r["loss_curve"]) for r in free], ".3g")
        + "; largest gradient norm: " + _fmt([max(r["grad_norm_curve"], default=math.nan) for r in free], ".3g"),
        {"per_seed": blew},
    ))  # fmt: skip
    window = [max(1, len(r["loss_curve"]) // 10) for r in clipped]
    firsts = [sum(r["loss_curve"][:w]) / w for r, w in zip(clipped, window)]
    lasts = [_mean_tail(r["loss_curve"]) for r in clipped]
    trains = [loss_falls(f, last, drop=0.05) for f, last in zip(firsts, lasts)]
    verdict = every_seed(trains)
    if verdict == HELD and not all(r["clipped_steps"] > 0 for r in clipped):
        verdict = UNDECIDED  # it trained, but not because of clipping
    parts.append(Part(
        "clipping tames it", f"with clipping at {data['clip_threshold']:.3g} (median norm at the normal lr) the same "
        "run trains: loss of the last 10% of steps < 0.95 × the first 10%, finite, clipping fired (every seed)",
        verdict,
        "loss first → last 10%: " + ", ".join(f"{f:.3f} → {last:.3f}" for f, last in zip(firsts, lasts))
        + "; clipped steps: " + ", ".join(f"{r['clipped_steps']} of {len(r['loss_curve'])}" for r in clipped)
        + "; pre-clip norm ÷ threshold, median/max: " + ", ".join(
            f"{r['clip_ratio_median']:.3g}/{r['clip_ratio_max']:.3g}" if r["clipped_steps"] else "-" for r in clipped),
        {"per_seed": trains, "clipped_steps": [r["clipped_steps"] for r in clipped]},
    ))  # fmt: skip
    return parts


# ---- render -------------------------------------------------------------------------------------------------


def render(lab: Lab, data: dict, parts: list[Part]) -> None:
    colors = {label: f"C{index}" for index, label in enumerate(VARIANTS)}

    def draw(plt):
        for panel, moment in enumerate(("initialization", "after training")):
            axis = plt.subplot(1, 2, panel + 1)
            for run in data["runs"]:
                label = run["label"] if run["seed"] == SEEDS[0] else None
                axis.semilogy(run["depths"], run["gradient_norms"][moment], color=colors[run["label"]], label=label,
                              linestyle="-" if run["seed"] == SEEDS[0] else ":", marker=".", markersize=3)  # fmt: skip
            axis.set_xlabel("depth of the block's output (weighted layers from the input)")
            axis.set_ylabel("‖∂L/∂h‖ (float64)")
            steps = data["recipe"]["steps"]
            axis.set_title("at initialization" if panel == 0 else f"after {steps} steps ({data['epochs']:.2f} epochs)")
        axis.legend(fontsize=7, title="dotted: second seed", title_fontsize=7)

    def draw_loss(plt):
        for panel, runs in enumerate((data["runs"], data["exploding"])):
            axis = plt.subplot(1, 2, panel + 1)
            for index, run in enumerate(runs):
                if panel == 0:
                    label, color = run["label"], colors[run["label"]]
                else:
                    label, color = ("no clipping" if run["clip_norm"] is None else "clipped"), f"C{index // 2 + 4}"
                axis.plot(
                    run["loss_curve"], color=color, linewidth=0.8, label=label if run["seed"] == SEEDS[0] else None
                )
            axis.set_xlabel("step")
            axis.set_ylabel("training loss (batch)")
            axis.set_ylim(0, 4)
            axis.set_title("recipe lr" if panel == 0 else f"plain-20 at lr {data['high_lr']:g}")
            axis.legend(fontsize=7)

    plots = [
        lab.plot("gradient_norms.png", draw, size=(11, 4.2)),
        lab.plot("training_loss.png", draw_loss, size=(11, 4)),
    ]
    recipe = data["recipe"]
    rows = "".join(
        f"| {run['label']} | {run['seed']} | {ratio(run['gradient_norms']['initialization']):.2e} | "
        f"{ratio(run['gradient_norms']['after training']):.2e} | {run['training_set']['loss']:.3f} | "
        f"{run['training_set']['error']:.1%} |\n"
        for run in data["runs"]
    )
    body = (
        f"Data: the embedded Fashion-MNIST sample ({data['training_images']:,} training images), resized to "
        f"{data['image_size']}×{data['image_size']} px. Recipe for every net: SGD (Nesterov, momentum 0.9, weight "
        f"decay 1e-4), lr {recipe['lr']:g} with {recipe['warmup_steps']} warm-up steps and cosine decay, batch "
        f"{recipe['batch_size']}, {recipe['steps']} steps = {data['epochs']:.2f} epochs; seeds {data['seeds']} (each "
        f"draws the weights and the batches). Initialization: Kaiming-normal fan-in for ReLU (He et al. 2015) on every "
        f"convolution, LeCun-normal classifier. Gradient norms ‖∂L/∂h‖ at each block's output, in float64, on one "
        f"fixed batch of {data['measured_batch']} training images in training mode. Training-set loss and error: "
        f"the first {data['fit_images']:,} training images in eval mode after training.\n\n"
        f"Exploding gradients: plain-20 (no BN) at lr {data['high_lr']:g} ({HIGH_LR_FACTOR}× the recipe), otherwise "
        f"the same recipe, without clipping and with clipping at {data['clip_threshold']:.3g}, the median global "
        "gradient norm of plain-20's normal-rate runs (Pascanu et al. 2013, §3.2).\n\n"
        "Steps are planned from one timed step of each net (the timings are in results.json, `step_seconds`) and "
        "the timed cost of the float64 measurements, so the run fits its budget on any CPU; a slower CPU gets fewer "
        "steps, which the epochs above say. Batch norm statistics are re-estimated on 2,000 training images before "
        "the eval-mode loss (precise BN, Wu & Johnson 2021): after a short run the running averages still remember "
        "the first steps. With batch norm the gradient can *grow* towards the input at initialization (Yang et al. "
        "2019, arXiv:1902.08129); the ratios in the table show by how much.\n\n"
        "Rules: a comparison of two nets holds when every seed of one beats every seed of the other by more than "
        "the larger seed spread (range); the reverse beyond the spread does not hold; anything else is undecided "
        "(`convzoo/experiments/verdicts.py`). A part over seeds holds when it holds for every seed.\n\n"
        "![gradient norms](gradient_norms.png)\n\n![training loss](training_loss.png)\n\n"
        "| network | seed | first ÷ last block ‖∂L/∂h‖: at init | after training | training-set loss | "
        "training-set error |\n|---|---|---|---|---|---|\n" + rows + "\n| clipping run | seed | clip at | clipped "
        "steps | pre-clip norm ÷ threshold: median / max | training-set loss |\n|---|---|---|---|---|---|\n"
        + "".join(
            f"| {'clipped' if run['clip_norm'] else 'no clipping'} | {run['seed']} | "
            f"{format(run['clip_norm'], '.3g') if run['clip_norm'] else '-'} | {run['clipped_steps']} | "
            + (f"{run['clip_ratio_median']:.3g} / {run['clip_ratio_max']:.3g}" if run["clipped_steps"] else "-")
            + f" | {run['training_set']['loss']:.3g} |\n"
            for run in data["exploding"]
        )
    )
    lab.record({**data, "plots": plots}, body, claim=CLAIM, parts=parts)


def run(lab: Lab) -> None:
    data = measure(lab)
    render(lab, data, judge(data))
