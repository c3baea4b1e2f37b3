# SPDX-License-Identifier: MIT
"""The gradients experiment's parts, decided from its data alone (pure), and its report."""

from __future__ import annotations

import math

from ..plotting import log_scale
from .gradient_flow import (
    CLIP_PERCENTILE,
    DEFAULT_INIT,
    HE_INIT,
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
    compare_training,
    diverged,
    every_seed,
    gap_text,
    loss_falls,
    not_trained,
    separation,
    short_training,
    vanished,
)

CLAIM = (
    "In a deep plain network the back-propagated gradient vanishes towards the first layers, more so the deeper the "
    "net, and it trains badly; He initialization, batch norm and skip connections restore the gradient flow, and "
    "batch norm and skip connections the training; gradient clipping tames exploding gradients."
)
CHANCE_LOSS = math.log(10)  # the constant-output loss of 10 balanced classes: a net stuck here did not train
MINORITY = 0.5  # clipping is clipping when it acts on fewer than half of the steps; on more it normalizes every step


def trained(loss: float) -> bool:
    """Did a run train? Its loss is finite and below the constant-output loss ln 10 (:func:`.verdicts.not_trained`)."""
    return not not_trained(loss, CHANCE_LOSS)


# ---- judge --------------------------------------------------------------------------------------------------


def _by(runs: list[dict], label: str) -> list[dict]:
    return sorted((run for run in runs if run["label"] == label), key=lambda run: run["seed"])


def _fmt(values: list[float], spec: str = ".2e") -> str:
    return "[" + ", ".join(format(v, spec) for v in values) + "]"


NO_GRADIENT = -1e9  # log10 of a first-block gradient of exactly 0 (float64: no path back), below any finite ratio


def floored(log_ratios: list[float]) -> list[float]:
    """log10 ratios with −inf (an exact 0 in float64: a measurement, not an underflow) taken as the lowest value,
    :data:`NO_GRADIENT`, so it ranks below every finite ratio in either arm; NaN and +inf stay (they decide nothing)."""
    return [NO_GRADIENT if v == -math.inf else v for v in log_ratios]


def reaches_further(flow: list[float], plain_flow: list[float]) -> str:
    """``compare_seeds`` (higher is better) on log10 ratios, an exact 0 of either arm ranked lowest (:func:`floored`):
    every plain seed cut off against finite remedy seeds holds, the mirror case does not hold."""
    return compare_seeds(floored(flow), floored(plain_flow), better="higher")


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


def _dead(runs: list[dict]) -> str:
    return "dead ReLU channels " + _fmt([run["dead_fraction"] for run in runs], ".0%")


def _vanishing_parts(data: dict) -> list[Part]:
    """The claim at initialization, on PyTorch's default init, and He init as its first remedy (no training)."""
    naive = [run["gradient_norms"] for run in _by(data["at_init"], "plain-56")]
    per_seed = [vanished(n[0], n[-1], below=VANISHED_BELOW) for n in naive]
    parts = [
        Part(
            "vanishes at init",
            f"plain-56 without BN, {DEFAULT_INIT}: ‖∂L/∂h‖ at the first block < {VANISHED_BELOW:g} × the last "
            "block's (every seed)",
            every_seed(per_seed),
            f"first ÷ last per seed: {_fmt([ratio(n) for n in naive])} ({', '.join(per_seed)})" + _cut_off(naive),
            {"ratios": [ratio(n) for n in naive], "per_seed": per_seed},
        )
    ]
    deep = [log_ratio(n) for n in naive]
    shallow = [log_ratio(run["gradient_norms"]) for run in _by(data["at_init"], "plain-20")]
    parts.append(
        Part(
            "deeper vanishes more",
            f"{DEFAULT_INIT}, no BN: log10(first ÷ last) is lower for plain-56 than for plain-20",
            compare_seeds(floored(deep), floored(shallow), better="lower"),
            f"log10 ratio: plain-56 {_fmt(deep, '.2f')}, plain-20 {_fmt(shallow, '.2f')}; "
            + gap_text(separation(deep, shallow, better="lower"), ".2f"),
            separation(deep, shallow, better="lower"),
        )
    )
    he = [run["gradient_norms"]["initialization"] for run in _by(data["runs"], "plain-56")]
    kept = [{HELD: FAILED, FAILED: HELD}.get(vanished(n[0], n[-1], below=VANISHED_BELOW), UNDECIDED) for n in he]
    parts.append(
        Part(
            "He init keeps it at init",
            f"plain-56 without BN, {HE_INIT}: ‖∂L/∂h‖ at the first block ≥ {VANISHED_BELOW:g} × the last block's "
            "(every seed)",
            every_seed(kept),
            f"first ÷ last per seed: {_fmt([ratio(n) for n in he])}; with {DEFAULT_INIT}: "
            f"{_fmt([ratio(n) for n in naive])}",
            {"ratios": [ratio(n) for n in he], "per_seed": kept},
        )
    )
    for label, name in (("plain-56 + BN", "batch norm"), ("ResNet-56", "skip connections")):
        flow = [log_ratio(run["gradient_norms"]) for run in _by(data["at_init"], label)]
        parts.append(
            Part(
                f"{name}: gradient reaches the input",
                f"{DEFAULT_INIT}: log10(first ÷ last) is higher for {label} than for plain-56 without BN (a ratio "
                "far above 1 is another problem, reported, not judged; a first-block gradient of exactly 0 in "
                "float64, −inf, is the lowest)",
                reaches_further(flow, deep),
                f"log10 ratio: {label} {_fmt(flow, '.2f')}, plain-56 {_fmt(deep, '.2f')}; "
                + gap_text(separation(flow, deep, better="higher"), ".2f"),
                separation(flow, deep, better="higher"),
            )
        )
    return parts


def _training_parts(data: dict) -> list[Part]:
    """The He-init nets trained: the profile after training, and which nets train (dead or NaN runs rank last)."""
    plain_runs = _by(data["runs"], "plain-56")
    norms = [run["gradient_norms"]["after training"] for run in plain_runs]
    per_seed = [vanished(n[0], n[-1], below=VANISHED_BELOW) for n in norms]
    verdict = every_seed(per_seed)
    evidence = (
        f"first ÷ last per seed: {_fmt([ratio(n) for n in norms])} ({', '.join(per_seed)}); {_dead(plain_runs)}"
        + _cut_off(norms)
    )
    short = short_training(data["epochs"], minimum=MIN_EPOCHS_TRAINED)
    if short:
        verdict, evidence = UNDECIDED, f"{short}; {evidence}"
    parts = [
        Part(
            "vanishes after training",
            f"plain-56 without BN, {HE_INIT}, after training of at least {MIN_EPOCHS_TRAINED:g} epoch: ‖∂L/∂h‖ at "
            f"the first block < {VANISHED_BELOW:g} × the last block's (every seed)",
            verdict,
            evidence,
            {"ratios": [ratio(n) for n in norms], "per_seed": per_seed},
        )
    ]
    plain = [run["training_set"]["loss"] for run in plain_runs]
    for label, name in (("plain-56 + BN", "batch norm"), ("ResNet-56", "skip connections")):
        runs = _by(data["runs"], label)
        loss = [run["training_set"]["loss"] for run in runs]
        parts.append(
            Part(
                f"{name}: trains better",
                f"after equal training, {label}'s training-set loss is lower than plain-56's (no BN); a run whose "
                f"loss is not finite or within 1% of ln 10 = {CHANCE_LOSS:.3f} (constant output) did not train and "
                "ranks below every run that did",
                compare_training(loss, plain, chance_loss=CHANCE_LOSS),
                f"training-set loss (eval mode): {label} {_fmt(loss, '.3f')}, plain-56 {_fmt(plain, '.3f')}; "
                f"{_dead(runs)} against plain-56's {_fmt([r['dead_fraction'] for r in plain_runs], '.0%')}; "
                + gap_text(separation(loss, plain, better="lower"), ".3f"),
                separation(loss, plain, better="lower"),
            )
        )
    return parts


def _trains(run: dict) -> str:
    """Did a run train? Its last 10% of steps' loss < 0.95 × its first 10%'s, finite, and its training-set loss
    below the constant-output ln 10 (a net that died mid-run has a falling curve up to where it died)."""
    losses = run["loss_curve"]
    window = max(1, len(losses) // 10)
    falls = loss_falls(sum(losses[:window]) / window, mean_tail(losses), drop=0.05)
    return falls if falls != HELD or trained(run["training_set"]["loss"]) else FAILED


def _fails(run: dict) -> str:
    """Did a run fail to train (held: it failed)? Its loss went non-finite or ended at or above where it started
    (:func:`.verdicts.diverged`), or it did not train by :func:`_trains` (stuck at ln 10: the net died)."""
    return HELD if diverged(run["loss_curve"]) or _trains(run) == FAILED else FAILED


def _loss_text(runs: list[dict]) -> str:
    return ", ".join(
        f"{sum(r['loss_curve'][: max(1, len(r['loss_curve']) // 10)]) / max(1, len(r['loss_curve']) // 10):.3f} → "
        f"{mean_tail(r['loss_curve']):.3f}"
        for r in runs
    )


def _clipping_parts(data: dict) -> list[Part]:
    free = [run for run in data["exploding"] if run["clip_norm"] is None]
    clipped = [run for run in data["exploding"] if run["clip_norm"] is not None]
    controls = data.get("controls", [])
    blew = [_fails(run) for run in free]
    # a run shorter than an epoch shows too little of the high rate to say whether it diverges or is tamed (a demo's
    # few steps end before a divergence could build up): those parts read undecided, as "after training" does
    short = short_training(data["epochs"], minimum=MIN_EPOCHS_TRAINED)
    parts = [
        Part(
            "too-high lr fails to train",
            f"plain-20 at lr {data['high_lr']:g} without clipping fails to train: its loss goes non-finite, ends at or "
            "above where it started, or does not fall by 5% or stays at the constant-output ln 10 (the net died); "
            f"every seed, at least {MIN_EPOCHS_TRAINED:g} epoch",
            UNDECIDED if short else every_seed(blew),
            (f"{short}; " if short else "")
            + "final loss per seed: "
            + _fmt([mean_tail(r["loss_curve"]) for r in free], ".3g")
            + "; largest gradient norm: "
            + _fmt([max(r["grad_norm_curve"], default=math.nan) for r in free], ".3g"),
            {"per_seed": blew},
        )
    ]
    threshold = data["clip_threshold"]
    rule = (
        f"with clipping at {threshold:.3g} (the {data['clip_percentile']}th percentile of the global gradient norm in "
        f"the {data['healthy_runs']} plain-20 runs that trained at the normal lr)"
    )
    if not clipped:
        reason = short or "no plain-20 run trained at the normal lr, so there is no ordinary norm to clip at"
        return parts + [
            Part("clipping tames it", "clipping at a norm of ordinary training tames the run", UNDECIDED, reason),
            Part("clipping, not a smaller step", "a run at the same mean step without clipping diverges", UNDECIDED,
                 reason),
        ]  # fmt: skip
    fractions = [r["clipped_steps"] / max(1, len(r["loss_curve"])) for r in clipped]
    trains = [_trains(r) for r in clipped]
    verdict = every_seed(trains)
    note = ""
    if verdict == HELD and not all(0 < f < MINORITY for f in fractions):
        verdict = UNDECIDED  # it trained, but not by clipping the spikes: never fired, or rescaled most steps
        note = f" (clipping must fire on some steps but fewer than {MINORITY:.0%} of them to be clipping)"
    if short:
        verdict, note = UNDECIDED, f" ({short})"
    parts.append(
        Part(
            "clipping tames it",
            f"{rule} the same run trains: loss of the last 10% of steps < 0.95 × the first 10%, finite, training-set "
            f"loss below ln 10; clipping fired on fewer than {MINORITY:.0%} of the steps (every seed)",
            verdict,
            f"loss first → last 10%: {_loss_text(clipped)}; clipped steps: "
            + ", ".join(f"{r['clipped_steps']} of {len(r['loss_curve'])}" for r in clipped)
            + note
            + "; pre-clip norm ÷ threshold, median/max: "
            + ", ".join(
                f"{r['clip_ratio_median']:.3g}/{r['clip_ratio_max']:.3g}" if r["clipped_steps"] else "-"
                for r in clipped
            ),
            {"per_seed": trains, "clipped_fraction": fractions},
        )
    )
    control_diverged = [_fails(run) for run in controls]  # the clipped run's own test, the other way round
    parts.append(
        Part(
            "clipping, not a smaller step",
            "plain-20 without clipping at the clipped run's mean step (its learning rate scaled by the mean of "
            "lr_t × min(1, threshold ÷ norm_t) over the mean lr_t) fails to train, so clipping the spikes, not a "
            "smaller average step, is what tames the run (every seed)",
            every_seed(control_diverged) if len(controls) == len(SEEDS) and not short else UNDECIDED,
            (f"{short}; " if short else "")
            + "control lr per seed: "
            + _fmt([run["lr"] for run in controls], ".3g")
            + f"; loss first → last 10%: {_loss_text(controls)}",
            {"per_seed": control_diverged},
        )
    )
    return parts


def judge(data: dict) -> list[Part]:
    """The claim in parts, from ``measure``'s data alone (pure)."""
    return _vanishing_parts(data) + _training_parts(data) + _clipping_parts(data)


# ---- render -------------------------------------------------------------------------------------------------


def render(lab: Lab, data: dict, parts: list[Part]) -> None:
    colors = {label: f"C{index}" for index, label in enumerate(VARIANTS)}

    def draw(plt):
        trained_title = f"{HE_INIT}, after {data['recipe']['steps']} steps ({data['epochs']:.2f} epochs)"
        panels = (
            (data["at_init"], None, f"at initialization, {DEFAULT_INIT}"),
            ([r for r in data["runs"] if r["label"] == "plain-56"], "initialization", f"plain-56 at init, {HE_INIT}"),
            (data["runs"], "after training", trained_title),
        )
        for panel, (runs, moment, title) in enumerate(panels):
            axis = plt.subplot(1, 3, panel + 1)
            for run in runs:
                norms = run["gradient_norms"] if moment is None else run["gradient_norms"][moment]
                axis.plot(
                    run["depths"],
                    [max(n, 1e-300) for n in norms],  # an exact 0 (a dead net) drawn at the axis' floor
                    color=colors[run["label"]],
                    label=run["label"] if run["seed"] == SEEDS[0] else None,
                    linestyle="-" if run["seed"] == SEEDS[0] else ":",
                    marker=".",
                    markersize=3,
                )
            log_scale(axis, "y")
            axis.set_xlabel("depth of the block's output (weighted layers)")
            axis.set_ylabel("‖∂L/∂h‖ (float64)")
            axis.set_title(title, fontsize=9)
            axis.legend(fontsize=7, title="dotted: second seed", title_fontsize=7)

    def draw_loss(plt):
        high = data["exploding"] + data.get("controls", [])
        for panel, runs in enumerate((data["runs"], high)):
            axis = plt.subplot(1, 2, panel + 1)
            for run in runs:
                if panel == 0:
                    label, color = run["label"], colors[run["label"]]
                else:
                    label = "control: no clipping, lr × mean step" if "control_of_seed" in run else (
                        "no clipping" if run["clip_norm"] is None else "clipped")  # fmt: skip
                    color = {"no clipping": "C4", "clipped": "C5"}.get(label, "C6")
                axis.plot(
                    run["loss_curve"], color=color, linewidth=0.8, label=label if run["seed"] == SEEDS[0] else None
                )
            axis.set_xlabel("step")
            axis.set_ylabel("training loss (batch)")
            axis.set_ylim(0, 4)
            axis.set_title(
                f"{HE_INIT}, lr {data['recipe']['lr']:g}" if panel == 0 else f"plain-20 at lr {data['high_lr']:g}"
            )
            axis.legend(fontsize=7)

    plots = [
        lab.plot("gradient_norms.png", draw, size=(13, 4.2)),
        lab.plot("training_loss.png", draw_loss, size=(11, 4)),
    ]
    recipe = data["recipe"]
    init_rows = "".join(
        f"| {run['label']} | {run['seed']} | {ratio(run['gradient_norms']):.2e} | {run['dead_fraction']:.0%} |\n"
        for run in data["at_init"]
    )
    rows = "".join(
        f"| {run['label']} | {run['seed']} | {ratio(run['gradient_norms']['initialization']):.2e} | "
        f"{ratio(run['gradient_norms']['after training']):.2e} | {run['dead_fraction']:.0%} | "
        f"{run['training_set']['loss']:.3f} | {run['training_set']['error']:.1%} |\n"
        for run in data["runs"]
    )
    high_rows = "".join(
        f"| {'control' if 'control_of_seed' in run else ('clipped' if run['clip_norm'] else 'no clipping')} | "
        f"{run['seed']} | {run['lr']:.3g} | {format(run['clip_norm'], '.3g') if run['clip_norm'] else '-'} | "
        f"{run['clipped_steps']} of {len(run['loss_curve'])} | "
        + (f"{run['clip_ratio_median']:.3g} / {run['clip_ratio_max']:.3g}" if run["clipped_steps"] else "-")
        + f" | {run['training_set']['loss']:.3g} |\n"
        for run in data["exploding"] + data.get("controls", [])
    )
    body = (
        f"Data: the embedded Fashion-MNIST sample ({data['training_images']:,} training images), resized to "
        f"{data['image_size']}×{data['image_size']} px. Gradient norms ‖∂L/∂h‖ at each block's output, in float64, "
        f"on one fixed batch of {data['measured_batch']} training images in training mode.\n\n"
        f"**At initialization, {DEFAULT_INIT}** (each `Conv2d` and `Linear` as its constructor leaves it: "
        "Kaiming-uniform, weight variance 1/(3·fan_in); no training): the nets as they were built before He "
        "initialization. Each ReLU layer then passes back about a third of the signal's variance, so the gradient "
        "shrinks geometrically with depth.\n\n"
        "| network | seed | first ÷ last block ‖∂L/∂h‖ | dead ReLU channels |\n|---|---|---|---|\n"
        + init_rows
        + f"\n**{HE_INIT}, trained** (Kaiming-normal fan-in for ReLU, He et al. 2015, on every convolution, "
        f"LeCun-normal classifier): SGD (Nesterov, momentum 0.9, weight decay 1e-4), lr {recipe['lr']:g} with "
        f"{recipe['warmup_steps']} warm-up steps and cosine decay, batch {recipe['batch_size']}, {recipe['steps']} "
        f"steps = {data['epochs']:.2f} epochs; seeds {data['seeds']} (each draws the weights and the batches). The "
        "learning rate is one at which plain-20 without batch norm trains, chosen on pilot seeds the experiment does "
        f"not use. Training-set loss and error: the first {data['fit_images']:,} training images in eval mode after "
        "training (batch norm statistics re-estimated on 2,000 of them: precise BN, Wu & Johnson 2021). Dead ReLU "
        "channels: never positive on the measured batch. With batch norm the gradient can *grow* towards the input "
        "(Yang et al. 2019, arXiv:1902.08129); the ratios show by how much.\n\n"
        "| network | seed | first ÷ last: at init | after training | dead ReLU channels | training-set loss | "
        "training-set error |\n|---|---|---|---|---|---|---|\n"
        + rows
        + f"\n**Exploding gradients**: plain-20 (no BN, {HE_INIT}) at lr {data['high_lr']:g} ({HIGH_LR_FACTOR}× "
        f"the recipe), otherwise the same recipe: without clipping; with clipping at {data['clip_threshold']:.3g}, "
        f"the {CLIP_PERCENTILE}th percentile of the global gradient norm over every step of the "
        f"{data['healthy_runs']} normal-rate plain-20 runs that trained (Pascanu et al. 2013, §3.2); and a control "
        "without clipping at the clipped run's mean step.\n\n"
        "| run | seed | lr | clip at | clipped steps | pre-clip norm ÷ threshold: median / max | training-set loss "
        "|\n|---|---|---|---|---|---|---|\n"
        + high_rows
        + "\nSteps are planned from one timed step of each net (`step_seconds` in results.json) and the timed cost "
        "of the float64 measurements, so the run fits its budget on any CPU; a slower CPU gets fewer steps, which "
        "the epochs above say. Rules: a comparison of two nets holds when every seed of one beats every seed of the "
        "other by more than the larger seed spread (range), does not hold when the reverse is true, and leans when "
        "every seed is ahead but within the spread (`convzoo/experiments/verdicts.py`); a part over seeds holds when "
        "it holds for every seed. A first-block gradient of exactly 0 is no underflow (float64): every ReLU of some "
        "block is off on the batch and no path carries gradient back.\n\n"
        "![gradient norms](gradient_norms.png)\n\n![training loss](training_loss.png)\n"
    )
    lab.record({**data, "plots": plots}, body, claim=CLAIM, parts=parts)
