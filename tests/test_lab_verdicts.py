# SPDX-License-Identifier: MIT
"""The lab's verdict rules (convzoo/experiments/verdicts.py) on synthetic results: each rule holds, fails, and comes out
undecided where the evidence cannot tell; and the experiments' judges decide their parts from data alone."""

import math

import pytest

from convzoo.experiments import verdicts
from convzoo.experiments.verdicts import FAILED, HELD, LEANS_AGAINST, LEANS_FOR, UNDECIDED, Part


def test_compare_seeds_held_when_every_seed_beats_every_seed_beyond_the_spread():
    assert verdicts.compare_seeds([0.10, 0.12], [0.30, 0.31], better="lower") == HELD
    assert verdicts.compare_seeds([0.30, 0.31], [0.10, 0.12], better="higher") == HELD
    assert verdicts.compare_seeds([0.10, 0.11, 0.12], [0.20, 0.22], better="lower") == HELD


def test_compare_seeds_did_not_hold_when_the_other_arm_is_better_beyond_the_spread():
    assert verdicts.compare_seeds([0.30, 0.31], [0.10, 0.12], better="lower") == FAILED
    assert verdicts.compare_seeds([0.10, 0.12], [0.30, 0.31], better="higher") == FAILED


def test_compare_seeds_undecided_inside_the_spread_overlapping_or_one_seed():
    # separated, but the gap (0.05) is smaller than one arm's spread (0.10): not decided (it leans: see below)
    assert verdicts.compare_seeds([0.10, 0.20], [0.25, 0.26], better="lower") not in (HELD, FAILED)
    assert verdicts.compare_seeds([0.25, 0.26], [0.10, 0.20], better="lower") not in (HELD, FAILED)  # the reverse
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


def _gradient_run(label, seed, init, after, loss, dead=0.0):
    return {
        "label": label,
        "seed": seed,
        "depths": [1, 3],
        "training_set": {"loss": loss, "error": 0.1},
        "gradient_norms": {"initialization": init, "after training": after},
        "dead_fraction": dead,
        "loss_curve": [2.3, 1.0],
        "grad_norm_curve": [1.0, 1.0],
    }


def _at_init(label, seed, norms):
    return {"label": label, "seed": seed, "depths": [1, 3], "gradient_norms": norms, "dead_fraction": 0.0}


def _gradients_data(default_56, he_56, plain56_after, exploding, *, losses=None, controls=None, default_20=None):
    """Synthetic gradients data: plain-56's profiles at init (PyTorch's default and He init) and after training;
    ``losses`` the training-set losses per label (two seeds each)."""
    losses = {"plain-20": [0.5, 0.5], "plain-56": [1.5, 1.51], "plain-56 + BN": [0.3, 0.31], "ResNet-56": [0.2, 0.21],
              **(losses or {})}  # fmt: skip
    default_20 = default_20 or [[1e-2, 1.0], [2e-2, 1.0]]
    at_init, runs = [], []
    for seed in (0, 1):
        at_init += [
            _at_init("plain-20", seed, default_20[seed]),
            _at_init("plain-56", seed, default_56[seed]),
            _at_init("plain-56 + BN", seed, [5.0, 1.0]),
            _at_init("ResNet-56", seed, [3.0, 1.0]),
        ]
        runs += [
            _gradient_run("plain-20", seed, [0.5, 1.0], [0.5, 1.0], losses["plain-20"][seed]),
            _gradient_run("plain-56", seed, he_56[seed], plain56_after[seed], losses["plain-56"][seed]),
            _gradient_run("plain-56 + BN", seed, [0.9, 1.0], [0.8, 1.0], losses["plain-56 + BN"][seed]),
            _gradient_run("ResNet-56", seed, [0.9, 1.0], [0.9, 1.0], losses["ResNet-56"][seed]),
        ]
    return {
        "at_init": at_init,
        "runs": runs,
        "exploding": exploding,
        "controls": controls if controls is not None else _controls([2.3, 50.0, math.nan]),
        "high_lr": 0.5,
        "clip_threshold": 2.0,
        "clip_percentile": 90,
        "healthy_runs": 2,
        "epochs": 4.0,
    }


def _exploding(free_curve, clipped_curve, clipped_steps=3):
    return [
        *(
            {
                "seed": s,
                "clip_norm": None,
                "lr": 0.5,
                "loss_curve": free_curve,
                "grad_norm_curve": [1e3],
                "clipped_steps": 0,
                "training_set": {"loss": free_curve[-1] if all(map(math.isfinite, free_curve)) else math.nan},
            }
            for s in (0, 1)
        ),
        *(
            {
                "seed": s,
                "clip_norm": 2.0,
                "lr": 0.5,
                "loss_curve": clipped_curve,
                "grad_norm_curve": [5.0],
                "clipped_steps": clipped_steps,
                "clip_ratio_median": 2.5,
                "clip_ratio_max": 9.0,
                "training_set": {"loss": clipped_curve[-1]},
            }
            for s in (0, 1)
        ),
    ]


def _controls(curve, final=None):
    final = final if final is not None else (curve[-1] if all(map(math.isfinite, curve)) else math.nan)
    return [
        {"seed": s, "clip_norm": None, "lr": 0.4, "loss_curve": curve, "grad_norm_curve": [9.0], "clipped_steps": 0,
         "control_of_seed": s, "training_set": {"loss": final}}
        for s in (0, 1)
    ]  # fmt: skip


def test_gradients_judge_holds_from_data():
    from convzoo.experiments.gradients import judge

    vanishing = _gradients_data(
        [[1e-20, 1.0], [3e-20, 1.0]],
        [[0.06, 1.0], [0.02, 1.0]],
        [[1e-5, 1.0], [1e-5, 1.0]],
        _exploding([2.3, 50.0, math.nan], [2.3] * 5 + [1.0] * 5),
    )
    parts = {p.name: p for p in judge(vanishing)}
    assert all(p.verdict == HELD for p in parts.values()), {n: p.verdict for n, p in parts.items()}
    assert list(parts) == [
        "vanishes at init",
        "deeper vanishes more",
        "He init keeps it at init",
        "batch norm: gradient reaches the input",
        "skip connections: gradient reaches the input",
        "vanishes after training",
        "batch norm: trains better",
        "skip connections: trains better",
        "too-high lr fails to train",
        "clipping tames it",
        "clipping, not a smaller step",
    ]
    assert parts["vanishes at init"].numbers["ratios"] == [1e-20, 3e-20]
    assert "PyTorch default init" in parts["vanishes at init"].claim
    assert parts["He init keeps it at init"].numbers["ratios"] == [0.06, 0.02]
    # under an epoch at the high rate (a demo's few steps) says nothing about diverging or taming, either way
    short = {p.name: p for p in judge({**vanishing, "epochs": 0.35})}
    for name in ("too-high lr fails to train", "clipping tames it", "clipping, not a smaller step"):
        assert short[name].verdict == UNDECIDED and "training too short to judge: 0.3 epochs" in short[name].evidence
    assert short["vanishes at init"].verdict == HELD and short["skip connections: trains better"].verdict == HELD


def test_gradients_judge_does_not_hold_and_is_undecided_from_data():
    from convzoo.experiments.gradients import judge

    # the default init keeps the gradient (no vanishing); He init loses it; a NaN after training is not "vanished";
    # clipping never fired; the control at the same mean step trained as well
    kept = _gradients_data(
        [[0.5, 1.0], [0.6, 1.0]],
        [[1e-3, 1.0], [2e-3, 1.0]],
        [[math.nan, 1.0], [0.5, 1.0]],
        _exploding([2.3, 2.0, 1.5, 1.0], [2.3] * 5 + [1.0] * 5, clipped_steps=0),
        controls=_controls([2.3] * 5 + [1.0] * 5),
    )
    parts = {p.name: p for p in judge(kept)}
    assert parts["vanishes at init"].verdict == FAILED
    assert parts["deeper vanishes more"].verdict == FAILED  # plain-20's −2.0/−1.7 below plain-56's −0.3/−0.2
    assert parts["He init keeps it at init"].verdict == FAILED
    assert parts["vanishes after training"].verdict == UNDECIDED
    assert parts["too-high lr fails to train"].verdict == FAILED
    assert parts["clipping tames it"].verdict == UNDECIDED  # it trained, but clipping did nothing
    assert parts["clipping, not a smaller step"].verdict == FAILED  # the smaller step alone trains

    # clipping that fires on most steps is normalization, not clipping: undecided, and the evidence says why
    normalized = {p.name: p for p in judge(_gradients_data(
        [[1e-20, 1.0], [3e-20, 1.0]], [[0.06, 1.0], [0.02, 1.0]], [[1e-5, 1.0], [1e-5, 1.0]],
        _exploding([2.3, math.nan], [2.3] * 5 + [1.0] * 5, clipped_steps=9),
    ))}  # fmt: skip
    assert normalized["clipping tames it"].verdict == UNDECIDED
    assert "fewer than 50% of them to be clipping" in normalized["clipping tames it"].evidence

    # a demo's 0.35 epochs: the profile after so little training is not "after training", whichever way it points
    for after in ([[0.5, 1.0], [0.6, 1.0]], [[1e-5, 1.0], [1e-5, 1.0]]):
        data = _gradients_data([[1e-20, 1.0], [3e-20, 1.0]], [[0.06, 1.0], [0.02, 1.0]], after, [])
        short = {p.name: p for p in judge({**data, "epochs": 0.35})}
        assert short["vanishes after training"].verdict == UNDECIDED
        assert "training too short to judge: 0.3 epochs" in short["vanishes after training"].evidence
        assert short["vanishes at init"].verdict == HELD  # initialization does not depend on training
        assert short["clipping tames it"].verdict == UNDECIDED  # too short, and no clipping runs either
        assert "training too short to judge" in short["clipping tames it"].evidence
    no_threshold = {p.name: p for p in judge(_gradients_data(
        [[1e-20, 1.0], [3e-20, 1.0]], [[0.06, 1.0], [0.02, 1.0]], [[1e-5, 1.0], [1e-5, 1.0]], [],
    ))}  # fmt: skip
    assert "no plain-20 run trained at the normal lr" in no_threshold["clipping tames it"].evidence


def test_gradient_parts_only_asserted_held_also_fail_and_stay_undecided():
    from convzoo.experiments.gradients import judge

    at_init = [[1e-20, 1.0], [3e-20, 1.0]]
    # He init: one seed's profile is NaN (overflowed or poisoned): not "kept", so every seed cannot agree
    poisoned = {p.name: p.verdict for p in judge(_gradients_data(
        at_init, [[math.nan, 1.0], [0.06, 1.0]], [[1e-5, 1.0], [1e-5, 1.0]], [],
    ))}  # fmt: skip
    assert poisoned["He init keeps it at init"] == UNDECIDED
    # after a full 4 epochs the first block keeps half the last block's gradient in both seeds: 0.5, 0.6 ≥ 1e-2
    kept = {p.name: p.verdict for p in judge(_gradients_data(
        at_init, [[0.06, 1.0], [0.02, 1.0]], [[0.5, 1.0], [0.6, 1.0]], [],
    ))}  # fmt: skip
    assert kept["vanishes after training"] == FAILED


def test_a_net_that_dies_at_the_high_rate_failed_to_train_and_so_did_a_dead_control():
    from convzoo.experiments.gradients import judge

    ln10 = math.log(10)
    dead = [2.309] + [ln10] * 9  # the first step a little above ln 10, then a constant output: ends below its start
    data = _gradients_data(
        [[1e-20, 1.0], [3e-20, 1.0]], [[0.06, 1.0], [0.02, 1.0]], [[1e-5, 1.0], [1e-5, 1.0]],
        _exploding(dead, [2.3] * 5 + [1.0] * 5), controls=_controls(dead),
    )  # fmt: skip
    for run in data["exploding"]:
        if run["clip_norm"] is None:
            run["training_set"]["loss"] = ln10  # died, did not blow up
    parts = {p.name: p.verdict for p in judge(data)}
    assert parts["too-high lr fails to train"] == HELD  # dead is failing, as NaN is
    assert parts["clipping, not a smaller step"] == HELD  # the control died too: the smaller step does not tame it
    trained_control = _controls([2.3] * 5 + [1.0] * 5)
    assert {p.name: p.verdict for p in judge({**data, "controls": trained_control})}[
        "clipping, not a smaller step"
    ] == (FAILED)
    # a clipped run whose curve falls but whose net ends dead (its training-set loss at ln 10) did not train
    for run in data["exploding"]:
        if run["clip_norm"] is not None:
            run["training_set"]["loss"] = ln10
    assert {p.name: p.verdict for p in judge(data)}["clipping tames it"] == FAILED


def test_a_run_that_did_not_train_ranks_below_every_run_that_did():
    from convzoo.experiments.gradients import judge

    def trains_better(plain56, resnet):
        data = _gradients_data(
            [[1e-20, 1.0], [3e-20, 1.0]], [[0.06, 1.0], [0.02, 1.0]], [[1e-5, 1.0], [1e-5, 1.0]], [],
            losses={"plain-56": plain56, "ResNet-56": resnet},
        )  # fmt: skip
        return {p.name: p.verdict for p in judge(data)}["skip connections: trains better"]

    ln10 = math.log(10)
    # the committed --budget 60 run: ResNet-56 at 0.006, plain-56 NaN in one seed and stuck at ln 10 in the other
    assert trains_better([math.nan, 2.3028], [0.006, 0.006]) == HELD
    assert trains_better([ln10, ln10], [0.397, 0.475]) == HELD
    assert trains_better([0.006, 0.006], [math.nan, ln10 + 0.1]) == FAILED  # the other way round, as strictly
    assert trains_better([math.nan, math.nan], [ln10, math.inf]) == UNDECIDED  # neither trained: a tie
    # a dead and a trained seed: every ResNet seed ahead, but the plain arm's spread is too wide to decide
    assert trains_better([math.nan, 0.5], [0.2, 0.21]) == LEANS_FOR
    assert trains_better([math.nan, 0.1], [0.2, 0.21]) == UNDECIDED  # the trained plain seed is ahead: overlap
    assert trains_better([0.30, 0.31], [0.2, 0.21]) == HELD  # both train: the seed-spread rule on the losses


def test_compare_training_and_not_trained():
    assert verdicts.not_trained(math.nan, math.log(10))
    assert verdicts.not_trained(2.30, math.log(10))  # within 1% of ln 10: a constant output
    assert verdicts.not_trained(9.0, math.log(10))  # above it: worse than constant
    assert not verdicts.not_trained(2.2, math.log(10))
    assert verdicts.compare_training([0.5, 0.6], [math.nan, 2.3], chance_loss=math.log(10)) == HELD
    assert verdicts.compare_training([0.5, 0.6], [0.7, 0.8], chance_loss=math.log(10)) == LEANS_FOR  # within spread


def test_leans_say_which_way_the_data_point_when_nothing_is_decided():
    # every seed of a ahead of every seed of b, but by less than the spread: leans, in both directions alike
    assert verdicts.compare_seeds([0.10, 0.20], [0.25, 0.26], better="lower") == LEANS_FOR
    assert verdicts.compare_seeds([0.25, 0.26], [0.10, 0.20], better="lower") == LEANS_AGAINST
    assert verdicts.compare_seeds([0.10, 0.30], [0.20, 0.40]) == UNDECIDED  # overlapping: no direction
    # a claimed margin not reached: no lean towards the claim (beyond the spread, within the margin: undecided)
    assert verdicts.compare_seeds([0.10, 0.11], [0.20, 0.21], margin=0.2) == UNDECIDED
    assert verdicts.compare_seeds([0.10, 0.40], [0.65, 0.66], margin=0.2) == LEANS_FOR  # gap 0.25: > margin, < spread


def test_tally_counts_every_verdict_and_says_them_in_words():
    parts = [Part("a", "c", HELD, "e"), Part("b", "c", HELD, "e"), {"verdict": LEANS_AGAINST}, {"verdict": UNDECIDED}]
    counts = verdicts.tally(parts)
    assert counts == {HELD: 2, LEANS_FOR: 0, UNDECIDED: 1, LEANS_AGAINST: 1, FAILED: 0}
    assert verdicts.tally_text(counts) == "2 of 4 held, 1 undecided, 1 leans against"
    assert verdicts.tally_text(verdicts.tally([])) == "0 of 0 held"


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
    from convzoo.experiments.degradation import EQUIVALENCE_MARGIN, TRAINED_BELOW, judge

    plain = {20: [0.05, 0.06], 56: [0.30, 0.32]}
    resnet = {20: [0.05, 0.06], 56: [0.03, 0.035]}
    parts = {p.name: p for p in judge(_degradation_data(plain, resnet))}
    assert all(p.verdict == HELD for p in parts.values()), {n: p.verdict for n, p in parts.items()}
    # the margin the residual penalty must also beat: half the plain rise, (25 + 26) / 2 / 2 = 12.75 pt
    assert "and 50% of the mean plain rise, 12.8 pt" in parts["residual depth penalty much smaller"].evidence
    assert f"at most {100 * EQUIVALENCE_MARGIN:g} pt" in parts["deeper residual at least as good"].claim

    # decided by the state of training, not by epochs: a residual run above 10% training error leaves it open,
    # however many epochs it had; below it, however few
    assert TRAINED_BELOW == 0.10
    untrained = {20: [0.12, 0.09], 56: [0.08, 0.085]}
    short = {p.name: p for p in judge(_degradation_data(plain, untrained, epochs=100))}
    assert short["deeper residual at least as good"].verdict == UNDECIDED
    assert "not trained far enough" in short["deeper residual at least as good"].evidence
    quick = {p.name: p for p in judge(_degradation_data(plain, resnet, epochs=2))}
    assert quick["deeper residual at least as good"].verdict == HELD

    # deeper residual behind by 3 pt, beyond the 1-pt margin and the 0.5-pt spread: did not hold
    worse = {p.name: p for p in judge(_degradation_data(plain, {20: [0.02, 0.025], 56: [0.05, 0.055]}))}
    assert worse["deeper residual at least as good"].verdict == FAILED
    # behind by 0.75 pt with a 1-pt seed spread: the margin cannot be confirmed or ruled out
    open_ = {p.name: p for p in judge(_degradation_data(plain, {20: [0.02, 0.03], 56: [0.03, 0.035]}))}
    assert open_["deeper residual at least as good"].verdict == UNDECIDED
    # a tie at 0% is "as good" within the margin, and says so in numbers
    fitted = {20: [0.0, 0.0], 56: [0.0, 0.0]}
    tie = {p.name: p for p in judge(_degradation_data(plain, fitted))}["deeper residual at least as good"]
    assert tie.verdict == HELD and "behind by 0.00 pt" in tie.evidence and "margin 1 pt" in tie.evidence

    no_degradation = {20: [0.30, 0.32], 56: [0.05, 0.06]}
    parts = {p.name: p for p in judge(_degradation_data(no_degradation, resnet, very_deep_loss=(2.3, math.nan)))}
    assert parts["deeper plain trains worse"].verdict == FAILED
    assert parts["~1000 layers train"].verdict == FAILED  # the loss went to NaN
    few = {p.name: p for p in judge(_degradation_data(plain, resnet, very_deep_loss=(2.3, 2.7), very_deep_steps=7))}
    assert few["~1000 layers train"].verdict == UNDECIDED  # 7 steps: the end is the warm-up's spike, not training
    assert "too few steps to judge: 7, the rule needs 20" in few["~1000 layers train"].evidence
    rose = {p.name: p for p in judge(_degradation_data(plain, resnet, very_deep_loss=(2.3, 2.7)))}
    assert rose["~1000 layers train"].verdict == FAILED  # enough steps, and the loss rose
    noisy = {20: [0.05, 0.25], 56: [0.10, 0.30]}  # the difference sits inside the seed spread, seeds overlapping
    parts = {p.name: p for p in judge(_degradation_data(noisy, resnet))}
    assert parts["deeper plain trains worse"].verdict == UNDECIDED
    leaning = {20: [0.05, 0.10], 56: [0.12, 0.16]}  # every plain-56 seed behind, by less than the spread
    parts = {p.name: p for p in judge(_degradation_data(leaning, resnet))}
    assert parts["deeper plain trains worse"].verdict == LEANS_FOR


def test_the_residual_depth_penalty_reaches_every_verdict():
    from convzoo.experiments.degradation import judge

    # plain 20 → 56: +25 and +26 pt per seed (spread 1 pt), mean 25.5, so the margin is half of it, 12.75 pt
    plain = {20: [0.05, 0.06], 56: [0.30, 0.32]}

    def penalty(resnet, plain=plain):
        return {p.name: p for p in judge(_degradation_data(plain, resnet))}["residual depth penalty much smaller"]

    # residual penalty +38, +38.5 pt: above every plain seed by 12 pt, beyond the 1-pt spread
    assert penalty({20: [0.02, 0.025], 56: [0.40, 0.41]}).verdict == FAILED
    # residual +15, +15 pt: 10 pt below the plain rise, beyond the spread, but short of the 12.75-pt margin
    assert penalty({20: [0.05, 0.05], 56: [0.20, 0.20]}).verdict == UNDECIDED
    # residual +27, +35 pt: every seed above every plain seed (by 1 pt), inside its own 8-pt spread
    assert penalty({20: [0.05, 0.05], 56: [0.32, 0.40]}).verdict == LEANS_AGAINST
    # residual −20, +10 pt: 15 pt below every plain seed, past the margin, inside its own 30-pt spread
    assert penalty({20: [0.25, 0.05], 56: [0.05, 0.15]}).verdict == LEANS_FOR
    # the plain nets get better with depth (−25, −26 pt): no penalty to be smaller than
    flat = penalty({20: [0.05, 0.06], 56: [0.03, 0.035]}, plain={20: [0.30, 0.32], 56: [0.05, 0.06]})
    assert flat.verdict == UNDECIDED and "the plain nets show no penalty to compare with" in flat.evidence


def test_a_first_block_gradient_of_exactly_zero_is_the_lowest_flow_but_nan_decides_nothing():
    from convzoo.experiments.gradients_judge import reaches_further

    assert reaches_further([0.6, 0.4], [-math.inf, -math.inf]) == HELD  # float64 zero: no path back at all
    assert reaches_further([0.6, -math.inf], [-math.inf, -math.inf]) == UNDECIDED  # both arms cut off in one seed
    assert reaches_further([0.6, 0.4], [-math.inf, math.nan]) == UNDECIDED
    assert reaches_further([0.6], [-math.inf]) == UNDECIDED  # one seed decides nothing
    assert reaches_further([0.6, 0.4], [-1.0, -1.3]) == HELD  # finite: the seed-spread rule
    assert reaches_further([-1.2, -1.0], [-1.1, -1.3]) == UNDECIDED
    assert reaches_further([-math.inf, -math.inf], [0.6, 0.4]) == FAILED  # the mirror case, as strictly


def test_rejudge_decides_a_stored_run_again_and_keeps_its_measurements(tmp_path):
    import json

    from convzoo.experiments.record import rejudge

    record = {
        "experiment": "scaling", "quick": False, "claim": "c", "held": None, "verdict": "old: undecided.",
        "parts": [{"name": "old", "claim": "c", "verdict": UNDECIDED, "evidence": "e", "numbers": {}}],
        "provenance": {"git_commit": "abc1234"}, "results": {"accuracy": [0.8, 0.9]},
    }  # fmt: skip
    (tmp_path / "results.json").write_text(json.dumps(record))
    (tmp_path / "report.md").write_text("# Experiment `scaling`\n\nold opening\n\nCommand: `x` · body\n\n![p](p.png)\n")

    def judge(results):
        assert results == {"accuracy": [0.8, 0.9]}  # the stored measurements, as stored
        return [Part("new", "c", LEANS_AGAINST, "e2"), Part("other", "c", HELD, "e3")]

    report = rejudge(tmp_path, judge)
    again = json.loads((tmp_path / "results.json").read_text())
    assert [p["verdict"] for p in again["parts"]] == [LEANS_AGAINST, HELD]
    assert again["tally"][LEANS_AGAINST] == 1 and again["held"] is None and again["results"] == record["results"]
    assert again["provenance"] == {"git_commit": "abc1234"} and again["rejudged"]["git_commit"]
    text = report.read_text()
    assert "old opening" not in text and "1 of 2 held, 1 leans against" in text
    assert "from the measurements of commit `abc1234` (nothing re-run)" in text
    assert text.endswith("Command: `x` · body\n\n![p](p.png)\n")
    (tmp_path / "results.json").write_text(json.dumps({**record, "quick": True}))
    with pytest.raises(ValueError, match="only a full run"):
        rejudge(tmp_path, judge)


def test_rejudge_reads_stored_nulls_back_as_nan_and_keeps_absent_values_absent(tmp_path):
    import json

    from convzoo.experiments.record import numbers_restored, rejudge
    from convzoo.formats import to_json

    stored = json.loads(to_json({"loss": math.nan, "curve": [1.0, math.inf], "clip_norm": None, "n": 3}))
    assert stored == {"loss": None, "curve": [1.0, None], "clip_norm": None, "n": 3}  # strict JSON: null
    restored = numbers_restored(stored)
    assert isinstance(restored["loss"], float) and math.isnan(restored["loss"]) and restored["clip_norm"] is None
    assert isinstance(restored["curve"][1], float) and math.isnan(restored["curve"][1])
    # the gradients judge on a stored run with NaN numbers: no TypeError, the NaN parts decide nothing
    from convzoo.experiments.gradients import judge

    data = _gradients_data(
        [[1e-20, 1.0], [3e-20, 1.0]], [[0.06, 1.0], [0.02, 1.0]], [[math.nan, 1.0], [1e-5, 1.0]],
        _exploding([2.3, math.nan], [2.3] * 5 + [1.0] * 5),
    )  # fmt: skip
    data["runs"][1]["training_set"]["loss"] = math.nan
    data["runs"][1]["dead_fraction"] = math.nan
    record = {"experiment": "gradients", "quick": False, "claim": "c", "held": None, "verdict": "-", "parts": [],
              "provenance": {"git_commit": "abc1234"}, "results": data}  # fmt: skip
    (tmp_path / "results.json").write_text(to_json(record))
    (tmp_path / "report.md").write_text("# old\n\nCommand: `x`\n")

    def checked_judge(results):
        # what the judge is handed: the stored nulls as NaN, as measure returned them; absent clip norms still None
        loss = results["runs"][1]["training_set"]["loss"]
        assert isinstance(loss, float) and math.isnan(loss)
        assert [run["clip_norm"] for run in results["exploding"]] == [None, None, 2.0, 2.0]
        return judge(results)

    rejudge(tmp_path, checked_judge)
    parts = {p["name"]: p["verdict"] for p in json.loads((tmp_path / "results.json").read_text())["parts"]}
    assert parts["vanishes after training"] == UNDECIDED and parts["vanishes at init"] == HELD
