# SPDX-License-Identifier: MIT
"""The bottleneck experiment's parts, decided from its data alone (pure), and its report.

Rules (:mod:`.verdicts`): costs from the cost model are exact and need no
seeds (:func:`~.verdicts.at_most`); the measured step time is compared seed by
seed against the seed spread (:func:`~.verdicts.compare_seeds`); parity is an
equivalence test against a tolerance of one point stated before any run
(:func:`~.verdicts.no_worse`); the head's train–test gap is compared over seeds
and must also exceed two standard errors of the evaluation
(:func:`~.verdicts.compare_arms`), after every run reached 98% training
accuracy (:func:`~.verdicts.reached`).
"""

from __future__ import annotations

from .lab import Lab
from .verdicts import (
    FAILED,
    HELD,
    UNDECIDED,
    Part,
    at_most,
    compare_arms,
    compare_seeds,
    deficit_and_noise,
    gap_text,
    no_worse,
    paired_difference,
    reached,
    separation,
)

CLAIM = (
    "1×1 reductions remove most of an inception module's multiply-adds and parameters without costing accuracy; "
    "global average pooling removes the parameters of a large fully-connected head, and such a head widens the gap "
    "between training and test accuracy (it overfits)."
)
COST_CLAIM = (  # the part of CLAIM that ``--scope cost`` tests: what needs no training
    "1×1 reductions remove most of an inception module's multiply-adds and parameters and make it faster to train; "
    "global average pooling removes the parameters of a large fully-connected head."
)
MOST = 0.5  # "most of the multiply-adds and parameters": the reduced module keeps at most half of each
PARITY_TOLERANCE = 0.01  # "without costing accuracy": a loss of at most one point of test accuracy
MIN_TRAIN_ACCURACY = 0.98  # the head part needs the overfitting regime: every run at ≥ 98% training accuracy
Z = 2.0  # a difference decided on exceeds two standard errors of the evaluation


def _pct(values: list[float]) -> str:
    return "[" + ", ".join(f"{100 * v:.1f}%" for v in values) + "]"


def _both(verdicts: list[str]) -> str:
    return FAILED if FAILED in verdicts else (HELD if all(v == HELD for v in verdicts) else UNDECIDED)


def cost_parts(cost: dict, fast: list[float], slow: list[float]) -> list[Part]:
    """The parts that need no training: the module's cost and the head's parameters (cost model, exact), and the
    training step time of the network with reductions (``fast``) against the naive one (``slow``), per seed."""
    naive, reduced = cost["naive module + GAP"], cost["1×1 reductions + GAP"]
    fc = cost["1×1 reductions + FC head"]
    cut = [
        at_most(reduced["module_macs"], naive["module_macs"], MOST),
        at_most(reduced["module_params"], naive["module_params"], MOST),
    ]
    ms = [1e3 * s for s in fast], [1e3 * s for s in slow]
    return [
        Part(
            "reductions cut the module's cost",
            f"the module with 1×1 reductions has at most {MOST:.0%} of the naive "
            "module's MACs and parameters (cost model, exact)",
            _both(cut),
            f"module MACs {naive['module_macs'] / 1e6:.1f}M → {reduced['module_macs'] / 1e6:.1f}M, parameters "
            f"{naive['module_params']:,} → {reduced['module_params']:,}; the whole network {naive['macs'] / 1e6:.1f}M "
            f"→ {reduced['macs'] / 1e6:.1f}M MACs",
            {
                "module_macs_ratio": reduced["module_macs"] / naive["module_macs"],
                "module_params_ratio": reduced["module_params"] / naive["module_params"],
            },
        ),
        Part(
            "reductions make a step faster",
            "the network with reductions trains a step faster than the naive one "
            "(each run's mean step time, beyond the seed spread)",
            compare_seeds(fast, slow, better="lower"),
            f"ms per step: reduced [{', '.join(f'{v:.0f}' for v in ms[0])}], naive "
            f"[{', '.join(f'{v:.0f}' for v in ms[1])}]"
            f"; {gap_text(separation(fast, slow), '.0f', 1e3)} ms",
            separation(fast, slow),
        ),
        Part(
            "GAP removes the head's parameters",
            f"the GAP network has at most {MOST:.0%} of the parameters of the same "
            "network with the FC head (cost model, exact)",
            at_most(reduced["params"], fc["params"], MOST),
            f"{reduced['params']:,} against {fc['params']:,} parameters; the FC head alone {fc['head_params']:,}, the "
            f"GAP head {reduced['head_params']:,}",
            {"params_ratio": reduced["params"] / fc["params"]},
        ),
    ]


def judge(data: dict) -> list[Part]:
    """The claim in parts, from ``measure``'s data alone (pure)."""
    cost, seeds = data["cost"], len(data["seeds"])
    arms = data["parity"]["arms"]
    cut, faster, gap_params = cost_parts(
        cost, arms["1×1 reductions + GAP"]["step_seconds"], arms["naive module + GAP"]["step_seconds"]
    )
    parts = [cut, faster]

    a, b = arms["1×1 reductions + GAP"], arms["naive module + GAP"]
    error = paired_difference(a["correct_per_image"], b["correct_per_image"], seeds, seeds)
    verdict = no_worse(
        a["test_accuracy"], b["test_accuracy"], tolerance=PARITY_TOLERANCE, standard_error=error["standard_error"], z=Z
    )
    bounds = deficit_and_noise(a["test_accuracy"], b["test_accuracy"], standard_error=error["standard_error"], z=Z)
    parts.append(
        Part(
            "reductions keep the accuracy",
            f"the reduced network's mean test accuracy is at most {100 * PARITY_TOLERANCE:g} "
            f"pt below the naive one's, beyond the seed spread and {Z:g} standard errors",
            verdict,
            f"test accuracy: reduced {_pct(a['test_accuracy'])}, naive {_pct(b['test_accuracy'])} on "
            f"{error['images']:,} images; difference {100 * error['difference']:+.2f} ± "
            f"{100 * error['standard_error']:.2f}"
            " pt (standard error); seed spreads "
            f"{100 * separation(a['test_accuracy'], b['test_accuracy'])['spread_a']:.1f}"
            f" and {100 * separation(a['test_accuracy'], b['test_accuracy'])['spread_b']:.1f} pt; the pessimistic "
            f"loss, {100 * bounds['deficit']:+.2f} + {100 * bounds['noise']:.2f} (the larger of the spreads and "
            f"{Z:g} standard errors) = {100 * (bounds['deficit'] + bounds['noise']):.2f} pt, against the "
            f"{100 * PARITY_TOLERANCE:g}-pt tolerance",
            {
                **error,
                **bounds,
                **separation(a["test_accuracy"], b["test_accuracy"], better="higher"),
                "tolerance": PARITY_TOLERANCE,
            },
        )
    )

    parts.append(gap_params)

    head = data["head"]
    g, f = head["arms"]["1×1 reductions + GAP"], head["arms"]["1×1 reductions + FC head"]
    gaps = {
        name: [t - v for t, v in zip(arm["train_accuracy"], arm["test_accuracy"], strict=True)]
        for name, arm in (("GAP", g), ("FC", f))
    }
    error = paired_difference(g["correct_per_image"], f["correct_per_image"], seeds, seeds)
    reason = reached(g["train_accuracy"] + f["train_accuracy"], minimum=head["min_train_accuracy"])
    verdict = (
        UNDECIDED
        if reason
        else compare_arms(gaps["FC"], gaps["GAP"], better="higher", standard_error=error["standard_error"], z=Z)
    )
    evidence = (
        f"train − test: FC {_pct(gaps['FC'])}, GAP {_pct(gaps['GAP'])}; "
        + gap_text(separation(gaps["FC"], gaps["GAP"], better="higher"), ".1f", 100)
        + f" pt; test accuracy GAP − FC {100 * error['difference']:+.2f} ± {100 * error['standard_error']:.2f} pt"
        f" on {error['images']:,} images; training accuracy FC {_pct(f['train_accuracy'])}, GAP "
        f"{_pct(g['train_accuracy'])}"
    )
    parts.append(
        Part(
            "an FC head widens the train–test gap",
            f"trained to ≥ {head['min_train_accuracy']:.0%} training accuracy on "
            f"{head['training_images']:,} images (no dropout in either head), the FC head's train − test gap is larger "
            f"than GAP's beyond the seed spread and {Z:g} standard errors",
            verdict,
            f"{reason}; {evidence}" if reason else evidence,
            {**separation(gaps["FC"], gaps["GAP"], better="higher"), **error, "gaps": gaps},
        )
    )
    return parts


# ---- render -------------------------------------------------------------------------------------------------


def _cost_rows(cost: dict) -> str:
    return "".join(
        f"| {label} | {c['module_params']:,} | {c['module_macs'] / 1e6:.1f}M | {c['params']:,} | "
        f"{c['macs'] / 1e6:.1f}M | {c['head_params']:,} |\n"
        for label, c in cost.items()
    )


COST_HEADER = (
    "| network | module parameters | module MACs | parameters | MACs | head parameters |\n|---|---|---|---|---|---|\n"
)


def _short(label: str) -> str:
    return label.replace(" + ", "\n+ ")


def _cost_bars(plt, cost: dict, *, columns: int) -> None:
    """The first two panels of a figure ``columns`` wide: every arm's module MACs and parameters (cost model)."""
    labels = list(cost)
    panels = (("module_macs", "module MACs (M)", 1e-6), ("params", "parameters (M)", 1e-6))
    for index, (key, title, scale) in enumerate(panels):
        axis = plt.subplot(1, columns, index + 1)
        axis.bar(range(len(labels)), [cost[label][key] * scale for label in labels], color=["C3", "C0", "C1"])
        axis.set_xticks(range(len(labels)), [_short(label) for label in labels], fontsize=6)
        axis.set_title(title, fontsize=9)


def _step_times(axis, timing: dict[str, list[float]]) -> None:
    """Each run's training step time (ms), one column of dots per arm."""
    for index, values in enumerate(timing.values()):
        axis.plot([index] * len(values), [1e3 * v for v in values], "o", color=f"C{3 * (1 - index)}")
    axis.set_xticks(range(len(timing)), [_short(label) for label in timing], fontsize=6)
    axis.set_xlim(-0.5, len(timing) - 0.5)


def render_cost(lab: Lab, data: dict, parts: list[Part]) -> None:
    """The report of ``--scope cost``: what needs no training (the cost model and timed steps)."""
    cost, timing = data["cost"], data["step_seconds"]

    def draw(plt):
        _cost_bars(plt, cost, columns=3)
        axis = plt.subplot(1, 3, 3)
        _step_times(axis, timing)
        axis.set_title(f"training step (ms), batch {data['batch_size']}, per seed", fontsize=9)

    plots = [lab.plot("cost.png", draw, size=(10, 3.6))]
    body = (
        "The parts of the claim that need no training, from the cost model (exact) and training steps timed on this "
        f"machine: for each of seeds {data['seeds']}, each arm in turn (so a machine that slows down slows both) is "
        f"built, one warm-up step, then {data['timed_steps']} steps of batch {data['batch_size']} on 28 px images are "
        "timed. Whether the reductions keep the accuracy and whether an FC head overfits need training: the full "
        "experiment (`convzoo experiment bottleneck`, committed in docs/experiments/bottleneck).\n\n"
        "![cost](cost.png)\n\n"
        + COST_HEADER
        + _cost_rows(cost)
        + "\n| network | ms per step, per seed |\n|---|---|\n"
        + "".join(f"| {label} | {', '.join(f'{1e3 * v:.0f}' for v in values)} |\n" for label, values in timing.items())
    )
    lab.record({**data, "plots": plots}, body, claim=COST_CLAIM, parts=parts)


def render(lab: Lab, data: dict, parts: list[Part]) -> None:
    cost, parity, head = data["cost"], data["parity"], data["head"]

    def draw(plt):
        runs = {**parity["arms"], **{f"{k} (head)": v for k, v in head["arms"].items()}}
        _cost_bars(plt, cost, columns=4)
        axis = plt.subplot(1, 4, 3)
        _step_times(axis, {label: runs[label]["step_seconds"] for label in parity["arms"]})
        axis.set_title("training step (ms), per seed", fontsize=9)
        axis = plt.subplot(1, 4, 4)
        colors = ["C3", "C0", "C0", "C1"]  # as the bars: naive red, reductions + GAP blue, FC head orange
        for index, arm in enumerate(runs.values()):
            for key, marker in (("train_accuracy", "^"), ("test_accuracy", "o")):
                axis.plot([index] * len(arm[key]), [100 * v for v in arm[key]], marker, color=colors[index], alpha=0.8)
        few = f"\n({head['training_images']})"
        axis.set_xticks(
            range(len(runs)), ["naive\nGAP", "reduced\nGAP", "reduced\nGAP" + few, "reduced\nFC" + few], fontsize=6
        )
        axis.set_title("accuracy (%), per seed: ▲ train, ● test", fontsize=9)

    plots = [lab.plot("cost_and_accuracy.png", draw, size=(13, 3.8))]
    rows = _cost_rows(cost)
    runs = "".join(
        f"| {part} | {label} | {', '.join(f'{v:.1%}' for v in arm['train_accuracy'])} | "
        f"{', '.join(f'{v:.1%}' for v in arm['test_accuracy'])} | "
        f"{', '.join(f'{1e3 * v:.0f}' for v in arm['step_seconds'])} |\n"
        for part, block in (("cost and parity", parity), ("head", head))
        for label, arm in block["arms"].items()
    )
    recipes = " ".join(
        f"**{name}:** {block['training_images']:,} training images, scored on {block['evaluation_images']:,} others "
        f"(the rest of the training images and the test images); batch {block['recipe']['batch_size']}, "
        f"{block['recipe']['steps']} steps = {block['epochs']:.1f} epochs."
        for name, block in (("Cost and parity", parity), ("Head", head))
    )
    body = (
        f"Data: the embedded Fashion-MNIST sample at {data['image_size']}×{data['image_size']} px; the module runs at "
        f"{data['map_size']}×{data['map_size']} with GoogLeNet's 3a channels {tuple(data['inception_3a'].values())}. "
        "Recipe: SGD (Nesterov, momentum 0.9, weight decay 5e-4 on every arm), lr 0.05 with warm-up and cosine "
        f"decay, seeds {data['seeds']} (each draws the weights and the batches). {recipes} Accuracies in eval mode "
        "after re-estimating batch norm statistics on the training images (precise BN); training accuracy on the "
        "first 1,000 training images (all 500 in the head part). Neither head has dropout. "
        "Steps are planned from one timed step of each arm and the timed cost of scoring (`step_seconds` in "
        "results.json), so the run fits its budget on any CPU. The standard error of a difference is over the "
        "evaluation images, paired (both arms see the same images), of the seed-mean accuracies.\n\n"
        "![cost and accuracy](cost_and_accuracy.png)\n\n"
        + COST_HEADER
        + rows
        + "\n| part | network | training accuracy "
        "(per seed) | test accuracy (per seed) | ms per step |\n|---|---|---|---|---|\n"
        + runs
        + "\nGoogLeNet reports +0.6% top-1 for GAP over FC layers on ImageNet (§5); Network in Network reports "
        "CIFAR-10 "
        "test error 10.41% with GAP against 11.59% with an FC head (without dropout) and 10.88% with dropout.\n"
    )
    lab.record({**data, "plots": plots}, body, claim=CLAIM, parts=parts)


__all__ = ["CLAIM", "MIN_TRAIN_ACCURACY", "PARITY_TOLERANCE", "cost_parts", "judge", "render", "render_cost"]
