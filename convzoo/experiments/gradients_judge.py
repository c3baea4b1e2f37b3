# SPDX-License-Identifier: MIT
"""The gradients experiment's parts, decided from its data alone (pure), and its report."""

from __future__ import annotations

import math

from .gradient_flow import (
    HIGH_LR_FACTOR,
    MIN_EPOCHS_TRAINED,
    SEEDS,
    VANISHED_BELOW,
    VARIANTS,
    log_ratio,
    mean_tail,
    ratio,
)
from .lab import Lab
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
    short_training,
    vanished,
)

CLAIM = (
    "In a deep plain network the back-propagated gradient vanishes towards the first layers, more so the deeper the "
    "net, and it trains badly; batch norm and skip connections restore the gradient flow and training; gradient "
    "clipping tames exploding gradients."
)


# ---- judge --------------------------------------------------------------------------------------------------


def _by(data: dict, label: str) -> list[dict]:
    return [run for run in data["runs"] if run["label"] == label]


def _fmt(values: list[float], spec: str = ".2e") -> str:
    return "[" + ", ".join(format(v, spec) for v in values) + "]"


def reaches_further(flow: list[float], plain_flow: list[float]) -> str:
    """``compare_seeds`` on log10 ratios, where a ratio of exactly 0 (log −inf) is a measurement, not an overflow.

    The norms are float64, so a first-block gradient of exactly 0 is no underflow: no path carries any gradient
    back (a whole block's ReLUs are off on the measured batch). Every seed of ``plain_flow`` at −inf against
    every seed of ``flow`` finite is decided (held); any other non-finite value (NaN, +inf) stays undecided.
    """
    if plain_flow and all(v == -math.inf for v in plain_flow) and flow and all(math.isfinite(v) for v in flow):
        return HELD if len(flow) >= 2 and len(plain_flow) >= 2 else UNDECIDED
    return compare_seeds(flow, plain_flow, better="higher")


def _cut_off(norms: list[list[float]]) -> str:
    """What an exact 0 means, when a seed has one: the blocks whose output gets no gradient at all."""
    notes = []
    for seed, profile in enumerate(norms):
        dead = [index for index, value in enumerate(profile) if value == 0]
        if dead:
            notes.append(f"seed {seed}: {len(dead)} of {len(profile)} block outputs get exactly 0")
    if not notes:
        return ""
    return (
        "; " + ", ".join(notes) + " (float64: no underflow; no path carries gradient back, every ReLU of a block is "
        "off on the batch: the net has died, which is how this vanishing shows here)"
    )


def judge(data: dict) -> list[Part]:
    """The claim in parts, from ``measure``'s data alone (pure)."""
    parts = []
    for moment, tag in (("initialization", "at init"), ("after training", "after training")):
        norms = [run["gradient_norms"][moment] for run in _by(data, "plain-56")]
        per_seed = [vanished(n[0], n[-1], below=VANISHED_BELOW) for n in norms]
        ratios = [ratio(n) for n in norms]
        verdict = every_seed(per_seed)
        evidence = f"first ÷ last per seed: {_fmt(ratios)} ({', '.join(per_seed)})" + _cut_off(norms)
        short = short_training(data["epochs"], minimum=MIN_EPOCHS_TRAINED) if moment == "after training" else None
        if short:
            verdict, evidence = UNDECIDED, f"{short}; {evidence}"
        trained = f" of at least {MIN_EPOCHS_TRAINED:g} epoch" if moment == "after training" else ""
        parts.append(
            Part(
                f"vanishes {tag}",
                f"plain-56 without BN: ‖∂L/∂h‖ at the first block < {VANISHED_BELOW:g} × the last "
                f"block's, {tag}{trained} (every seed)",
                verdict,
                evidence,
                {"ratios": ratios, "per_seed": per_seed},
            )
        )
    deep = [log_ratio(r["gradient_norms"]["initialization"]) for r in _by(data, "plain-56")]
    shallow = [log_ratio(r["gradient_norms"]["initialization"]) for r in _by(data, "plain-20")]
    parts.append(
        Part(
            "deeper vanishes more",
            "at init, log10(first ÷ last) is lower for plain-56 than for plain-20 (no BN)",
            compare_seeds(deep, shallow, better="lower"),
            f"log10 ratio: plain-56 {_fmt(deep, '.2f')}, plain-20 {_fmt(shallow, '.2f')}; "
            + gap_text(separation(deep, shallow, better="lower"), ".2f"),
            separation(deep, shallow, better="lower"),
        )
    )
    plain = [r["training_set"]["loss"] for r in _by(data, "plain-56")]
    plain_flow = [log_ratio(r["gradient_norms"]["after training"]) for r in _by(data, "plain-56")]
    for label, name in (("plain-56 + BN", "batch norm"), ("ResNet-56", "skip connections")):
        flow = [log_ratio(r["gradient_norms"]["after training"]) for r in _by(data, label)]
        parts.append(
            Part(
                f"{name}: gradient reaches the input",
                f"after training, log10(first ÷ last) is higher for {label} than "
                "for plain-56 (no vanishing; a ratio far above 1 would be another problem, reported, not judged; "
                "a first-block gradient of exactly 0 in float64, −inf, is the lowest)",
                reaches_further(flow, plain_flow),
                f"log10 ratio: {label} {_fmt(flow, '.2f')}, plain-56 {_fmt(plain_flow, '.2f')}; "
                + gap_text(separation(flow, plain_flow, better="higher"), ".2f"),
                separation(flow, plain_flow, better="higher"),
            )
        )
        loss = [r["training_set"]["loss"] for r in _by(data, label)]
        parts.append(
            Part(
                f"{name}: trains better",
                f"after equal training, {label}'s training-set loss is lower than plain-56's",
                compare_seeds(loss, plain, better="lower"),
                f"training-set loss (eval mode): {label} {_fmt(loss, '.3f')}, plain-56 {_fmt(plain, '.3f')}; "
                + gap_text(separation(loss, plain, better="lower"), ".3f"),
                separation(loss, plain, better="lower"),
            )
        )
    free = [run for run in data["exploding"] if run["clip_norm"] is None]
    clipped = [run for run in data["exploding"] if run["clip_norm"] is not None]
    blew = [HELD if diverged(run["loss_curve"]) else FAILED for run in free]
    parts.append(
        Part(
            "too-high lr diverges",
            f"plain-20 at lr {data['high_lr']:g} without clipping diverges (loss not finite, or "
            "last 10% of steps at or above the first step's loss; every seed)",
            every_seed(blew),
            "final loss per seed: "
            + _fmt([mean_tail(r["loss_curve"]) for r in free], ".3g")
            + "; largest gradient norm: "
            + _fmt([max(r["grad_norm_curve"], default=math.nan) for r in free], ".3g"),
            {"per_seed": blew},
        )
    )
    window = [max(1, len(r["loss_curve"]) // 10) for r in clipped]
    firsts = [sum(r["loss_curve"][:w]) / w for r, w in zip(clipped, window, strict=True)]
    lasts = [mean_tail(r["loss_curve"]) for r in clipped]
    trains = [loss_falls(f, last, drop=0.05) for f, last in zip(firsts, lasts, strict=True)]
    verdict = every_seed(trains)
    if verdict == HELD and not all(r["clipped_steps"] > 0 for r in clipped):
        verdict = UNDECIDED  # it trained, but not because of clipping
    parts.append(
        Part(
            "clipping tames it",
            f"with clipping at {data['clip_threshold']:.3g} (median norm at the normal lr) the same "
            "run trains: loss of the last 10% of steps < 0.95 × the first 10%, finite, clipping fired (every seed)",
            verdict,
            "loss first → last 10%: "
            + ", ".join(f"{f:.3f} → {last:.3f}" for f, last in zip(firsts, lasts, strict=True))
            + "; clipped steps: "
            + ", ".join(f"{r['clipped_steps']} of {len(r['loss_curve'])}" for r in clipped)
            + "; pre-clip norm ÷ threshold, median/max: "
            + ", ".join(
                f"{r['clip_ratio_median']:.3g}/{r['clip_ratio_max']:.3g}" if r["clipped_steps"] else "-"
                for r in clipped
            ),
            {"per_seed": trains, "clipped_steps": [r["clipped_steps"] for r in clipped]},
        )
    )
    return parts


# ---- render -------------------------------------------------------------------------------------------------


def render(lab: Lab, data: dict, parts: list[Part]) -> None:
    colors = {label: f"C{index}" for index, label in enumerate(VARIANTS)}

    def draw(plt):
        for panel, moment in enumerate(("initialization", "after training")):
            axis = plt.subplot(1, 2, panel + 1)
            for run in data["runs"]:
                label = run["label"] if run["seed"] == SEEDS[0] else None
                axis.semilogy(
                    run["depths"],
                    run["gradient_norms"][moment],
                    color=colors[run["label"]],
                    label=label,
                    linestyle="-" if run["seed"] == SEEDS[0] else ":",
                    marker=".",
                    markersize=3,
                )
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
        "Reading the vanishing parts, and what was checked before calling them findings. The norms are float64 on "
        "a copy of the net, so a small ratio is not an underflow, and NaN never counts as vanished. He "
        "initialization was derived to keep the back-propagated signal's scale from layer to layer (He et al. 2015, "
        "§2.2); the vanishing Glorot & Bengio (2010) measured was under the initializations before it. So at "
        "initialization a plain net's gradient here declines towards the input by the factor the evidence gives, "
        "and whether that reaches the 1/100 criterion is what the first part decides. A first-block gradient of "
        "exactly 0 is no underflow either: every ReLU of some block is off on the measured batch, no path carries "
        "gradient back, and the net outputs a constant (training loss ln 10 = 2.303, 90% error): the net has died, "
        "which is how a deep plain net fails to train here.\n\n"
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
