# SPDX-License-Identifier: MIT
"""Faults in the lab: its measurements, its judges and the verdict rules."""

from .fault import Fault

VERDICTS = "tests/test_lab_verdicts.py"
FILTERS = "tests/test_lab_filters.py"

FAULTS = (
    Fault(
        "gradient_norm_order", "the lab's per-layer gradient norms listed output side first",
        "convzoo/experiments/gradient_flow.py",
        "    return [g.norm().item() for g in gradients]\n", "    return [g.norm().item() for g in gradients][::-1]\n",
        ("tests/test_experiments.py::test_gradients",),
        origin="planned: written together with the test that catches it",
    ),
    Fault(
        "lab_margin_not_reached_leans", "a gap inside a claimed margin still leans towards the claim",
        "convzoo/experiments/verdicts.py",
        "    if gap > margin and gap > 0:", "    if gap > 0:",
        (f"{VERDICTS}::test_leans_say_which_way_the_data_point_when_nothing_is_decided",
         f"{VERDICTS}::test_compare_seeds_margin_applies_to_the_claimed_direction_only"),
        quick=True,
        origin="history 158aff5: compare_seeds leaned for the claim on any positive gap, a claimed margin not reached",
    ),
    Fault(
        "lab_zero_gradient_one_arm", "an exact-0 first-block gradient is ranked lowest in the plain arm only",
        "convzoo/experiments/gradients_judge.py",
        "return compare_seeds(floored(flow), floored(plain_flow), better=\"higher\")",
        "return compare_seeds(flow, floored(plain_flow), better=\"higher\")",
        (f"{VERDICTS}::test_a_first_block_gradient_of_exactly_zero_is_the_lowest_flow_but_nan_decides_nothing",),
        origin="history 158aff5: reaches_further took an exact 0 (log −inf) as the lowest flow only on the plain "
               "side; a remedy cut off in every seed read undecided instead of did not hold",
    ),
    Fault(
        "lab_rejudge_reads_nulls_as_none", "rejudge hands the judge the stored results with NaN read back as None",
        "convzoo/experiments/record.py",
        "    parts = judge(numbers_restored(record[\"results\"]))", "    parts = judge(record[\"results\"])",
        (f"{VERDICTS}::test_rejudge_reads_stored_nulls_back_as_nan_and_keeps_absent_values_absent",),
        origin="history 158aff5: rejudge passed the stored results as read, strict JSON's nulls (NaN, inf) as None",
    ),
    Fault(
        "lab_dead_net_did_not_fail", "a run at the high rate that died at ln 10 does not count as failing to train",
        "convzoo/experiments/gradients_judge.py",
        "    return HELD if diverged(run[\"loss_curve\"]) or _trains(run) == FAILED else FAILED",
        "    return HELD if diverged(run[\"loss_curve\"]) else FAILED",
        (f"{VERDICTS}::test_a_net_that_dies_at_the_high_rate_failed_to_train_and_so_did_a_dead_control",),
        origin="history 158aff5: only a diverged loss counted as failing; a net that died (constant output, loss "
               "just below its start) read as trained, for the free run and the same-mean-step control",
    ),
    Fault(
        "lab_dead_clipped_run_trained", "a clipped run whose curve falls but whose net ends dead counts as trained",
        "convzoo/experiments/gradients_judge.py",
        "    return falls if falls != HELD or trained(run[\"training_set\"][\"loss\"]) else FAILED",
        "    return falls",
        (f"{VERDICTS}::test_a_net_that_dies_at_the_high_rate_failed_to_train_and_so_did_a_dead_control",),
        origin="history 158aff5: _trains looked only at the loss curve, not at the training-set loss at ln 10",
    ),
    Fault(
        "lab_after_training_too_short", "'vanishes after training' decided from a run shorter than an epoch",
        "convzoo/experiments/gradients_judge.py",
        "    if short:\n        verdict, evidence = UNDECIDED, f\"{short}; {evidence}\"\n",
        "",
        (f"{VERDICTS}::test_gradients_judge_does_not_hold_and_is_undecided_from_data",),
        origin="history b39107b: the demo's 27 steps (0.35 epochs) decided 'vanishes after training' did not hold "
               "from a profile still at its initialization",
    ),
    Fault(
        "lab_very_deep_too_few_steps", "the ~1000-layer part decided from fewer steps than 4× its warm-up",
        "convzoo/experiments/degradation.py",
        "    if len(losses) < needed and math.isfinite(last):\n        verdict, evidence = UNDECIDED, "
        "f\"too few steps to judge: {len(losses)}, the rule needs {needed}; \" + evidence\n",
        "",
        (f"{VERDICTS}::test_degradation_judge_from_data",),
        origin="history d31a88a: 7 steps decided '~1000 layers train' did not hold from the warm-up's loss spike",
    ),
    Fault(
        "lab_untrained_run_decides_nothing", "a NaN or dead run leaves 'trains better' undecided instead of last",
        "convzoo/experiments/gradients_judge.py",
        "                compare_training(loss, plain, chance_loss=CHANCE_LOSS),",
        "                compare_seeds(loss, plain, better=\"lower\"),",
        (f"{VERDICTS}::test_a_run_that_did_not_train_ranks_below_every_run_that_did",),
        origin="history c9dd57d: 'trains better' compared the losses with compare_seeds, so a plain-56 seed at NaN "
               "(the committed --budget 60 run) decided nothing instead of ranking below every run that trained",
    ),
    Fault(
        "lab_penalty_margin_dropped", "the residual depth penalty holds without beating half the plain rise",
        "convzoo/experiments/degradation.py",
        "better=\"lower\", margin=MUCH_SMALLER * mean_plain)", "better=\"lower\")",
        (f"{VERDICTS}::test_the_residual_depth_penalty_reaches_every_verdict",),
        origin="planned: 'residual depth penalty much smaller' was only ever asserted held; written with its test",
    ),
    Fault(
        "lab_penalty_without_plain_rise", "the residual penalty is judged when the plain nets show no penalty",
        "convzoo/experiments/degradation.py",
        "    if not mean_plain > 0:", "    if math.isnan(mean_plain):",
        (f"{VERDICTS}::test_the_residual_depth_penalty_reaches_every_verdict",),
        origin="planned: only a NaN plain rise guarded, so a negative one makes a negative margin; written with its "
               "test",
    ),
    Fault(
        "lab_he_init_nan_kept", "a He-init profile that is not finite counts as keeping the gradient",
        "convzoo/experiments/gradients_judge.py",
        "below=VANISHED_BELOW), UNDECIDED) for n in he]", "below=VANISHED_BELOW), HELD) for n in he]",
        (f"{VERDICTS}::test_gradient_parts_only_asserted_held_also_fail_and_stay_undecided",),
        origin="planned: 'He init keeps it' was never fed a NaN profile; written with its test",
    ),
    Fault(
        "lab_filters_best_start", "the filter fit judged by its best random start instead of its worst",
        "convzoo/experiments/filters.py",
        "final = {name: max(errors) for name, errors in per_start.items()}",
        "final = {name: min(errors) for name, errors in per_start.items()}",
        (f"{FILTERS}::test_the_worst_start_decides_the_filter_claim",),
        origin="planned: the filters verdict was only tested in quick mode (undecided); written with its test",
    ),
    Fault(
        "lab_filters_budget_cut_fails", "a kernel fit cut short by the budget that has not converged did not hold",
        "convzoo/experiments/filters.py",
        "held = None if lab.quick or (not converged and fit_steps < FIT_STEPS) else converged",
        "held = None if lab.quick else converged",
        (f"{FILTERS}::test_a_fit_cut_short_by_the_budget_is_undecided_unless_it_converged",),
        origin="planned: the rule 76562a3 added with the budget-cut fits, never tested outside quick mode",
    ),
)  # fmt: skip
