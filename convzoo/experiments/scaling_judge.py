# SPDX-License-Identifier: MIT
"""The scaling experiment's parts, decided from its data alone (pure), and its report.

One part per single dimension: at the same MACs, compound scaling against
width only, depth only, resolution only. A part holds when every seed of the
compound arm beats every seed of the other by more than the seed spread and
the difference of the means exceeds two standard errors of the evaluation
(:func:`~.verdicts.compare_arms`); it does not hold when the single dimension
wins the same way; otherwise it is undecided.
"""

from __future__ import annotations

from ..plotting import log_scale
from .lab import Lab
from .verdicts import Part, compare_arms, gap_text, paired_difference, separation

CLAIM = "At the same multiply-adds, scaling depth, width and resolution together beats scaling any one of them."
SINGLE = ("width", "depth", "resolution")
Z = 2.0  # a difference decided on exceeds two standard errors of the evaluation
# Table 7 of the paper: B0 scaled to ~1.8 GFLOPs, ImageNet top-1 (%)
PAPER_TABLE_7 = {"depth": 79.0, "width": 78.9, "resolution": 79.1, "compound": 81.1}


def _pct(values: list[float]) -> str:
    return "[" + ", ".join(f"{100 * v:.1f}%" for v in values) + "]"


def _built(arm: dict) -> str:
    return (
        f"{arm['blocks']} blocks/stage ({arm['layers']} layers), channels {'/'.join(map(str, arm['channels']))}, "
        f"{arm['size']} px, {arm['macs'] / 1e6:.2f}M MACs"
    )


def judge(data: dict) -> list[Part]:
    """The claim in parts, from ``measure``'s data alone (pure)."""
    arms = {arm["kind"]: arm for arm in data["arms"]}
    top = arms["compound"]
    seeds = len(data["seeds"])
    parts = []
    for kind in SINGLE:
        other = arms[kind]
        error = paired_difference(top["correct_per_image"], other["correct_per_image"], seeds, seeds)
        numbers = separation(top["accuracy"], other["accuracy"], better="higher")
        parts.append(
            Part(
                f"compound beats {kind} only",
                f"at {top['target']:.2f}× the base's MACs, compound scaling's test accuracy is "
                f"above {kind} scaling's, beyond the seed spread and {Z:g} standard errors",
                compare_arms(
                    top["accuracy"], other["accuracy"], better="higher", standard_error=error["standard_error"], z=Z
                ),
                f"compound {_pct(top['accuracy'])} ({_built(top)}), {kind} {_pct(other['accuracy'])} "
                f"({_built(other)}); "
                f"compound − {kind} {100 * error['difference']:+.2f} ± {100 * error['standard_error']:.2f} pt "
                f"(standard error, {error['images']:,} images); " + gap_text(numbers, ".1f", 100) + " pt",
                {**numbers, **error},
            )
        )
    return parts


# ---- render -------------------------------------------------------------------------------------------------


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def render(lab: Lab, data: dict, parts: list[Part]) -> None:
    arms, grid = data["arms"], data["grid"]
    markers = {"base": "D", "width": "s", "depth": "^", "resolution": "o", "compound": "*"}

    def draw(plt):
        base = arms[0]
        for arm in arms:
            xs = [arm["macs"] / 1e6] * len(arm["accuracy"])
            plt.plot(
                xs,
                [100 * a for a in arm["accuracy"]],
                markers[arm["kind"]],
                alpha=0.5,
                color=f"C{list(markers).index(arm['kind'])}",
            )
            if arm["kind"] != "base":
                plt.plot(
                    [base["macs"] / 1e6, arm["macs"] / 1e6],
                    [100 * _mean(base["accuracy"]), 100 * _mean(arm["accuracy"])],
                    "-",
                    marker=markers[arm["kind"]],
                    label=arm["kind"],
                    color=f"C{list(markers).index(arm['kind'])}",
                )
        # plain numbers on both tick sets: the span is under a decade, so the default log labels read "3×10⁰"
        log_scale(plt.gca(), "x", minor_labels=True)
        plt.xlabel("MACs per image (M), log scale")
        plt.ylabel("test accuracy (%): line = seed mean, dots = seeds")
        plt.title(f"base {base['size']} px → {data['target']:.2f}× MACs, {len(data['seeds'])} seeds per arm")
        plt.legend(fontsize=8)

    plots = [lab.plot("accuracy_vs_macs.png", draw)]
    base_macs = arms[0]["macs"]
    table = (
        "| scaling | MACs target | width | channels | depth | blocks/stage (layers) | resolution | input | MACs | "
        "off target | test accuracy (per seed) | mean | training accuracy (mean) | ms/step |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        + "".join(
            f"| {a['kind']}{' (φ=' + format(a['phi'], '.2f') + ')' if 'phi' in a else ''} | {a['target']:.2f}× | "
            f"{a['width']:.2f} | {'/'.join(map(str, a['channels']))} | {a['depth']:.2f} | {a['blocks']} ({a['layers']})"
            f" | {a['resolution']:.2f} | {a['size']} px | {a['macs'] / 1e6:.2f}M | "
            f"{100 * (a['macs'] / (a['target'] * base_macs) - 1):+.1f}% | {_pct(a['accuracy'])} | "
            f"{_mean(a['accuracy']):.1%} | {_mean(a['train_accuracy']):.1%} | "
            f"{1e3 * _mean(a['step_seconds']):.0f} |\n"
            for a in arms
        )
    )
    if grid is None:
        grid_text = (
            f"Step 1, the (α, β, γ) grid search, runs with `--budget {data['grid_budget_minutes']:g}` or "
            "more (3 seeds per triple); this run's budget left it out.\n"
        )
    else:
        grid_text = (
            f"Step 1, the grid search: (α, β, γ) with α·β²·γ² = 2, φ set so that each net lands within ±10% of "
            f"{grid['target']:g}× the base's MACs; {grid['recipe']['steps']} steps = {grid['epochs']:.1f} epochs, "
            "seeds as above. Reported, not judged.\n\n| α | β | γ | φ | built: blocks/stage, channels, input | MACs | "
            "test accuracy (per seed) | mean |\n|---|---|---|---|---|---|---|---|\n"
            + "".join(
                f"| {t['alpha']} | {t['beta']} | {t['gamma']} | {t['phi']:.2f} | {t['blocks']}, "
                f"{'/'.join(map(str, t['channels']))}, {t['size']} px | {t['macs'] / 1e6:.2f}M | "
                + (
                    "off target: not trained | - |\n"
                    if t.get("off_target")
                    else f"{_pct(t['accuracy'])} | {_mean(t['accuracy']):.1%} |\n"
                )
                for t in grid["triples"]
            )
        )
    recipe = data["recipe"]
    body = (
        f"Data: the embedded Fashion-MNIST sample, {data['training_images']:,} training images, scored on "
        f"{data['evaluation_images']:,} others (the rest of the training images and the test images). The base net "
        f"sees the {data['source_size']}-px images downsampled to {data['base_size']} px (antialiased); the arms "
        f"resize from {data['source_size']} px, so up to {data['source_size']} px a larger input has real detail. "
        f"Base: {data['base_blocks']} basic blocks per stage, {'/'.join(map(str, data['base_channels']))} channels. "
        f"Recipe for every arm: SGD (Nesterov, momentum 0.9, weight decay {recipe['weight_decay']:g}), lr "
        f"{recipe['lr']:g} with {recipe['warmup_steps']} warm-up steps and cosine decay, batch {recipe['batch_size']}, "
        f"{recipe['steps']} steps = {data['epochs']:.1f} epochs; seeds {data['seeds']} (each draws the weights and "
        "the batches). Steps are planned from one timed step of each arm at its own input size (`step_seconds` in "
        "results.json). Accuracies in eval mode after re-estimating batch norm statistics on training images "
        "(precise BN). Standard errors are over the evaluation images, paired, of the seed-mean accuracies. MACs "
        "from `convzoo.profile`; every arm was built and checked within ±10% of its target.\n\n"
        "![accuracy against MACs](accuracy_vs_macs.png)\n\n"
        + table
        + "\n"
        + grid_text
        + "\nFor scale, the paper's ImageNet figures (Table 7, B0 scaled to ~1.8 GFLOPs): "
        + ", ".join(f"{k} {v}%" for k, v in PAPER_TABLE_7.items())
        + " — a margin of about two points at ImageNet scale and 350 epochs. Bello et al. 2021 (arXiv:2103.07579) "
        "find that which dimension to scale depends on the regime (width being preferable for short training), so a "
        "different answer here, at a few epochs of a 4,000-image set, would not contradict the paper's.\n"
    )
    lab.record({**data, "plots": plots}, body, claim=CLAIM, parts=parts)


__all__ = ["CLAIM", "judge", "render"]
