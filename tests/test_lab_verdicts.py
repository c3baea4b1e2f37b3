# SPDX-License-Identifier: MIT
"""The lab's verdict rules (convzoo/experiments/verdicts.py) on synthetic results: each rule holds, fails, and comes out
undecided where the evidence cannot tell; and the experiments' judges decide their parts from data alone."""

import math

import pytest

from convzoo.experiments import verdicts
from convzoo.experiments.verdicts import FAILED, HELD, UNDECIDED, Part


def test_compare_seeds_held_when_every_seed_beats_every_seed_beyond_the_spread():
    assert verdicts.compare_seeds([0.10, 0.12], [0.30, 0.31], better="lower") == HELD
    assert verdicts.compare_seeds([0.30, 0.31], [0.10, 0.12], better="higher") == HELD
    assert verdicts.compare_seeds([0.10, 0.11, 0.12], [0.20, 0.22], better="lower") == HELD


def test_compare_seeds_did_not_hold_when_the_other_arm_is_better_beyond_the_spread():
    assert verdicts.compare_seeds([0.30, 0.31], [0.10, 0.12], better="lower") == FAILED
    assert verdicts.compare_seeds([0.10, 0.12], [0.30, 0.31], better="higher") == FAILED


def test_compare_seeds_undecided_inside_the_spread_overlapping_or_one_seed():
    # separated, but the gap (0.05) is smaller than one arm's spread (0.10): undecided
    assert verdicts.compare_seeds([0.10, 0.20], [0.25, 0.26], better="lower") == UNDECIDED
    assert verdicts.compare_seeds([0.25, 0.26], [0.10, 0.20], better="lower") == UNDECIDED  # the reverse, too
    assert verdicts.compare_seeds([0.10, 0.30], [0.20, 0.40]) == UNDECIDED  # overlapping arms
    assert verdicts.compare_seeds([0.10], [0.90]) == UNDECIDED  # one seed decides nothing, however large the gap
    assert verdicts.compare_seeds([0.10, 0.11], [0.90]) == UNDECIDED
    assert verdicts.compare_seeds([0.1, math.nan], [0.9, 0.9]) == UNDECIDED  # not finite
    assert verdicts.compare_seeds([0.1, 0.1], [math.inf, math.inf]) == UNDECIDED


def test_compare_seeds_margin_applies_to_the_claimed_direction_only():
    assert verdicts.compare_seeds([0.10, 0.11], [0.20, 0.21], margin=0.05) == HELD  # gap 0.09 > 0.05
    assert verdicts.compare_seeds([0.10, 0.11], [0.20, 0.21], margin=0.2) == UNDECIDED  # gap 0.09 < 0.2
    assert verdicts.compare_seeds([0.20, 0.21], [0.10, 0.11], margin=0.2) == FAILED
    with pytest.raises(ValueError):
        verdicts.compare_seeds([1, 2], [3, 4], better="bigger")


def test_gap_text_says_which_way_the_seeds_lie_when_the_gap_is_not_positive():
    ahead = verdicts.separation([85.0, 85.5], [84.0, 84.2], better="higher")
    assert verdicts.gap_text(ahead, ".1f") == "gap 0.8 vs seed spread 0.5"
    # the other arm's worst seed (85.9) is 0.4 ahead of this arm's best (85.5): inside the 0.7 spread, undecided
    behind = verdicts.separation([85.0, 85.5, 85.0], [86.0, 86.6, 85.9], better="higher")
    assert verdicts.gap_text(behind, ".1f") == (
        "gap -1.6 (reversed: every seed of the other arm ahead, by 0.4) vs seed spread 0.7"
    )
    overlap = verdicts.separation([85.0, 86.0], [85.5, 85.6], better="higher")
    assert verdicts.gap_text(overlap, ".1f") == "gap -0.6 (the arms' seeds overlap) vs seed spread 1.0"


def test_separation_records_what_compare_seeds_decides_on():
    numbers = verdicts.separation([0.10, 0.12], [0.30, 0.31], better="lower")
    assert numbers["gap"] == pytest.approx(0.18) and numbers["spread_a"] == pytest.approx(0.02)
    assert numbers["mean_b"] == pytest.approx(0.305)


def test_vanished_never_for_nan_or_inf():
    assert verdicts.vanished(1e-6, 1.0) == HELD
    assert verdicts.vanished(0.0, 1.0) == HELD  # an exact zero at the input side with signal at the output
    assert verdicts.vanished(0.5, 1.0) == FAILED
    assert verdicts.vanished(math.nan, 1.0) == UNDECIDED
    assert verdicts.vanished(1e-9, math.nan) == UNDECIDED
    assert verdicts.vanished(math.inf, 1.0) == UNDECIDED
    assert verdicts.vanished(1e-9, math.inf) == UNDECIDED  # ratio 0, but the last norm overflowed
    assert verdicts.vanished(0.0, 0.0) == UNDECIDED  # no signal anywhere: nothing to compare
    assert verdicts.vanished(0.05, 1.0, below=0.1) == HELD


def test_every_seed_needs_two_seeds_and_agreement():
    assert verdicts.every_seed([HELD, HELD]) == HELD
    assert verdicts.every_seed([FAILED, FAILED]) == FAILED
    assert verdicts.every_seed([HELD, FAILED]) == UNDECIDED
    assert verdicts.every_seed([HELD, UNDECIDED]) == UNDECIDED
    assert verdicts.every_seed([HELD]) == UNDECIDED


def test_loss_falls_and_diverged():
    assert verdicts.loss_falls(2.3, 1.0) == HELD
    assert verdicts.loss_falls(2.3, 2.25) == FAILED  # a 2% drop is under the 5% criterion
    assert verdicts.loss_falls(2.3, math.nan) == FAILED  # a run that blew up did not train
    assert verdicts.loss_falls(math.nan, 1.0) == UNDECIDED
    assert verdicts.diverged([2.3, 5.0, math.nan])
    assert verdicts.diverged([2.3] * 10 + [2.31] * 10)  # stuck at or above where it started
    assert not verdicts.diverged([2.3, 1.5, 1.0, 0.8])


def test_short_training_reason():
    assert verdicts.short_training(40, minimum=30) is None
    assert "too short" in verdicts.short_training(5.5, minimum=30)


def test_overall_held_only_if_every_part_held():
    def part(verdict):
        return Part("p", "c", verdict, "e")

    assert verdicts.overall([part(HELD), part(HELD)]) is True
    assert verdicts.overall([part(HELD), part(UNDECIDED)]) is None
    assert verdicts.overall([part(HELD), part(UNDECIDED), part(FAILED)]) is False
    assert verdicts.overall([{"verdict": HELD}]) is True  # parts read back from results.json
    assert verdicts.overall([]) is None
    with pytest.raises(ValueError):
        Part("p", "c", "maybe", "e")
    table = verdicts.parts_table([Part("a|b", "claim", HELD, "x")])
    assert "| a\\|b | claim | **held** | x |" in table


# ---- the experiments' judges on synthetic measurements ------------------------------------------------------


def _gradient_run(label, seed, init, after, loss):
    return {
        "label": label,
        "seed": seed,
        "depths": [1, 3],
        "training_set": {"loss": loss, "error": 0.1},
        "gradient_norms": {"initialization": init, "after training": after},
        "loss_curve": [2.3, 1.0],
        "grad_norm_curve": [1.0, 1.0],
    }


def _gradients_data(plain56_init, plain56_after, exploding):
    runs = []
    for seed in (0, 1):
        runs += [
            _gradient_run("plain-20", seed, [0.5, 1.0], [0.5, 1.0], 0.5),
            _gradient_run("plain-56", seed, plain56_init[seed], plain56_after[seed], 1.5 + 0.01 * seed),
            _gradient_run("plain-56 + BN", seed, [0.9, 1.0], [0.8, 1.0], 0.3 + 0.01 * seed),
            _gradient_run("ResNet-56", seed, [0.9, 1.0], [0.9, 1.0], 0.2 + 0.01 * seed),
        ]
    return {"runs": runs, "exploding": exploding, "high_lr": 0.5, "clip_threshold": 2.0, "epochs": 4.0}


def _exploding(free_curve, clipped_curve, clipped_steps=5):
    return [
        *(
            {"seed": s, "clip_norm": None, "loss_curve": free_curve, "grad_norm_curve": [1e3], "clipped_steps": 0}
            for s in (0, 1)
        ),
        *(
            {
                "seed": s,
                "clip_norm": 2.0,
                "loss_curve": clipped_curve,
                "grad_norm_curve": [5.0],
                "clipped_steps": clipped_steps,
                "clip_ratio_median": 2.5,
                "clip_ratio_max": 9.0,
            }
            for s in (0, 1)
        ),
    ]


def test_gradients_judge_holds_fails_and_is_undecided_from_data():
    from convzoo.experiments.gradients import judge

    vanishing = _gradients_data(
        [[1e-4, 1.0], [2e-4, 1.0]], [[1e-5, 1.0], [1e-5, 1.0]], _exploding([2.3, 50.0, math.nan], [2.3] * 5 + [1.0] * 5)
    )
    parts = {p.name: p for p in judge(vanishing)}
    assert all(p.verdict == HELD for p in parts.values()), {n: p.verdict for n, p in parts.items()}
    assert parts["vanishes at init"].numbers["ratios"] == [1e-4, 2e-4]

    # He init keeps the gradient; a NaN after training is not "vanished"; clipping never fired
    kept = _gradients_data(
        [[0.5, 1.0], [0.6, 1.0]],
        [[math.nan, 1.0], [0.5, 1.0]],
        _exploding([2.3, 2.0, 1.5, 1.0], [2.3] * 5 + [1.0] * 5, clipped_steps=0),
    )
    parts = {p.name: p for p in judge(kept)}
    assert parts["vanishes at init"].verdict == FAILED
    assert parts["vanishes after training"].verdict == UNDECIDED
    assert parts["too-high lr diverges"].verdict == FAILED
    assert parts["clipping tames it"].verdict == UNDECIDED  # it trained, but clipping did nothing

    # a demo's 0.35 epochs: the profile after so little training is not "after training", whichever way it points
    for after in ([[0.5, 1.0], [0.6, 1.0]], [[1e-5, 1.0], [1e-5, 1.0]]):
        short = {p.name: p for p in judge({**_gradients_data([[0.5, 1.0], [0.6, 1.0]], after, []), "epochs": 0.35})}
        assert short["vanishes after training"].verdict == UNDECIDED
        assert "training too short to judge: 0.3 epochs" in short["vanishes after training"].evidence
        assert short["vanishes at init"].verdict == FAILED  # initialization does not depend on training


def _degradation_data(plain, resnet, epochs=40.0, very_deep_loss=(2.3, 1.5), very_deep_steps=20):
    runs = [
        {
            "name": f"cifar_{kind}{depth}",
            "kind": kind,
            "depth": depth,
            "seed": seed,
            "training_set": {"error": errors[depth][seed], "loss": 1.0},
        }
        for kind, errors in (("plain", plain), ("resnet", resnet))
        for depth in errors
        for seed in (0, 1)
    ]
    first, last = very_deep_loss
    return {
        "runs": runs,
        "epochs": epochs,
        "depths": [20, 56],
        "very_deep": {
            "model": "m",
            "recipe": {"warmup_steps": 5},
            "loss_curve": [first] * (very_deep_steps // 2) + [last] * (very_deep_steps - very_deep_steps // 2),
        },
    }


def test_degradation_judge_from_data():
    from convzoo.experiments.degradation import MIN_EPOCHS, judge

    plain = {20: [0.05, 0.06], 56: [0.30, 0.32]}
    resnet = {20: [0.05, 0.06], 56: [0.03, 0.035]}
    parts = {p.name: p for p in judge(_degradation_data(plain, resnet))}
    assert all(p.verdict == HELD for p in parts.values()), {n: p.verdict for n, p in parts.items()}
    # the margin the residual penalty must also beat: half the plain rise, (25 + 26) / 2 / 2 = 12.75 pt
    assert "and 50% of the mean plain rise, 12.8 pt" in parts["residual depth penalty much smaller"].evidence

    short = {p.name: p for p in judge(_degradation_data(plain, resnet, epochs=MIN_EPOCHS / 2))}
    assert short["deeper residual at least as good"].verdict == UNDECIDED
    assert "too short" in short["deeper residual at least as good"].evidence

    no_degradation = {20: [0.30, 0.32], 56: [0.05, 0.06]}
    parts = {p.name: p for p in judge(_degradation_data(no_degradation, resnet, very_deep_loss=(2.3, math.nan)))}
    assert parts["deeper plain trains worse"].verdict == FAILED
    assert parts["~1000 layers train"].verdict == FAILED  # the loss went to NaN
    few = {p.name: p for p in judge(_degradation_data(plain, resnet, very_deep_loss=(2.3, 2.7), very_deep_steps=7))}
    assert few["~1000 layers train"].verdict == UNDECIDED  # 7 steps: the end is the warm-up's spike, not training
    assert "too few steps to judge: 7, the rule needs 20" in few["~1000 layers train"].evidence
    rose = {p.name: p for p in judge(_degradation_data(plain, resnet, very_deep_loss=(2.3, 2.7)))}
    assert rose["~1000 layers train"].verdict == FAILED  # enough steps, and the loss rose
    fitted = {20: [0.0, 0.0], 56: [0.0, 0.0]}  # both residual nets fit every training image
    parts = {p.name: p for p in judge(_degradation_data(plain, fitted))}
    assert parts["deeper residual at least as good"].verdict == HELD  # "at least as good" holds for a tie...
    assert "a tie at 0%" in parts["deeper residual at least as good"].evidence  # ...and the evidence says it is one
    noisy = {20: [0.05, 0.25], 56: [0.10, 0.30]}  # the difference sits inside the seed spread
    parts = {p.name: p for p in judge(_degradation_data(noisy, resnet))}
    assert parts["deeper plain trains worse"].verdict == UNDECIDED


def test_a_first_block_gradient_of_exactly_zero_is_the_lowest_flow_but_nan_decides_nothing():
    from convzoo.experiments.gradients_judge import reaches_further

    assert reaches_further([0.6, 0.4], [-math.inf, -math.inf]) == HELD  # float64 zero: no path back at all
    assert reaches_further([0.6, -math.inf], [-math.inf, -math.inf]) == UNDECIDED  # both arms cut off in one seed
    assert reaches_further([0.6, 0.4], [-math.inf, math.nan]) == UNDECIDED
    assert reaches_further([0.6], [-math.inf]) == UNDECIDED  # one seed decides nothing
    assert reaches_further([0.6, 0.4], [-1.0, -1.3]) == HELD  # finite: the seed-spread rule
    assert reaches_further([-1.2, -1.0], [-1.1, -1.3]) == UNDECIDED
