# SPDX-License-Identifier: MIT
"""Faults in compare: the plan, the learns-check, the ranking and the frontier."""

from .fault import Fault

COMPARE = "tests/test_compare.py"
FRONTIER = "tests/test_compare_frontier.py"

FAULTS = (
    Fault(
        "compare_gmacs_at_224", "the top-1 vs GMACs frontier takes every model's GMACs at 224 px",
        "convzoo/report/columns.py",
        "    if (row.get(\"published\") or {}).get(\"resolution\", 224) != 224:\n"
        "        return row.get(\"gmacs_published_px\")\n    return row.get(\"gmacs\")",
        "    return row.get(\"gmacs\")",
        (f"{FRONTIER}::test_the_gmacs_frontier_takes_each_model_at_its_published_size",),
        quick=True,
        origin="history 3a77fad: GMACs at 224 were set against a top-1 published at 384 (EfficientNetV2-S) or 299",
    ),
    Fault(
        "compare_cost_measured_at_224", "the cost phase measures a model published at 384 px at 224 only",
        "convzoo/compare/comparison.py",
        "row.update(measure_cost(name, self.published_px().get(name, 224)))", "row.update(measure_cost(name))",
        (f"{COMPARE}::test_a_model_published_at_another_size_has_its_cost_and_latency_measured_there",),
        origin="history 3a77fad: measure_cost(name) profiled every model at 224, whatever its published size",
    ),
    Fault(
        "compare_cost_planned_at_224", "the plan costs a model published at another size as if at 224",
        "convzoo/compare/plan.py",
        "cost = {name: cost_estimate(p, px.get(name, 224)) for name, p in probes.items()}",
        "cost = {name: cost_estimate(p) for name, p in probes.items()}",
        (f"{COMPARE}::test_a_model_published_at_another_size_is_planned_at_that_size_too",),
        origin="history 3a77fad: cost_estimate(p) left out the second profile at the published size",
    ),
    Fault(
        "compare_refused_for_the_margin", "a budget is refused when the cost columns outrun the planning margin",
        "convzoo/compare/plan.py",
        "    if probe_s + sum(cost.values()) > budget_s:", "    if sum(cost.values()) > available:",
        (f"{COMPARE}::test_a_budget_the_cost_columns_fit_is_planned_not_refused",),
        origin="history c2a0642: the demo's share on a slow CPU was refused for the planning margin, not the budget",
    ),
    Fault(
        "compare_probe_refused_for_the_margin", "the probe is stopped when it outruns the planning margin",
        "convzoo/compare/comparison.py",
        "        if elapsed_s <= budget_s:",
        "        if elapsed_s <= compare_budget(budget_s).for_planning(elapsed=0.0):",
        (f"{COMPARE}::test_a_probe_past_the_planning_margin_but_within_the_budget_goes_on",),
        origin="history c2a0642: _check_probe_fits compared the probe's time with the planning margin",
    ),
    Fault(
        "compare_dominates_on_both", "a model dominates another only when strictly better on both axes",
        "convzoo/report/frontier.py",
        "    return no_worse and (a.latency_ms < b.latency_ms or a.top1 > b.top1)",
        "    return no_worse and (a.latency_ms < b.latency_ms and a.top1 > b.top1)",
        (f"{FRONTIER}::test_the_frontier_is_exactly_the_undominated_models",),
        quick=True,
        origin="planned: a tie on one axis (same latency, less accurate) must still be dominated",
    ),
    Fault(
        "compare_latency_at_224", "the frontier takes a model published at 384 px at its 224-px latency",
        "convzoo/report/frontier.py",
        "        return row.get(\"latency_b1_ms_published_px\")", "        return row.get(\"latency_b1_ms\")",
        (f"{FRONTIER}::test_the_report_opens_with_the_frontier_and_the_learns_column_has_no_percentages",),
        origin="planned: the latency half of the published-size rule (the GMACs half is history 3a77fad)",
    ),
    Fault(
        "compare_rank_by_mean", "full runs ranked by their seed means, overlapping seeds included",
        "convzoo/report/full_runs.py",
        "and min(a.top1) > max(b.top1):", "and a.mean > b.mean:",
        (f"{COMPARE}::test_full_runs_rank_only_what_every_seed_supports",),
        origin="planned: the ranking must hold for every seed, not the means",
    ),
    Fault(
        "compare_rank_one_seed", "a model with one full run ranks above the models its seed beats",
        "convzoo/report/full_runs.py",
        "if a.model != b.model and len(a.top1) >= 2 and len(b.top1) >= 2", "if a.model != b.model and len(b.top1) >= 2",
        (f"{COMPARE}::test_full_runs_rank_only_what_every_seed_supports",),
        origin="planned: one seed ranks nothing, on either side of a pair",
    ),
    Fault(
        "compare_learns_either", "the learns-check passes on accuracy above chance or a falling loss",
        "convzoo/compare/measure.py",
        "return test_top1 > learns_threshold(count, classes) and loss_last < loss_first",
        "return test_top1 > learns_threshold(count, classes) or loss_last < loss_first",
        (f"{COMPARE}::test_learns_needs_three_standard_errors_above_chance_and_a_falling_loss",),
        quick=True,
        origin="planned: both halves of the pass rule must hold",
    ),
    Fault(
        "compare_learns_threshold_two_se", "the learns-check threshold at 2 standard errors above chance, not 3",
        "convzoo/compare/measure.py",
        "return chance + 3 * math.sqrt(chance * (1 - chance) / max(count, 1))",
        "return chance + 2 * math.sqrt(chance * (1 - chance) / max(count, 1))",
        (f"{COMPARE}::test_learns_needs_three_standard_errors_above_chance_and_a_falling_loss",
         f"{FRONTIER}::test_the_report_opens_with_the_frontier_and_the_learns_column_has_no_percentages"),
        origin="planned: the stated p < 0.0014 is 3 standard errors",
    ),
    Fault(
        "compare_drops_the_cheapest", "the plan leaves the cheapest model out of the learns-check first",
        "convzoo/compare/plan.py",
        "        dropped = trained.pop()  # the most expensive to train",
        "        dropped = trained.pop(0)  # the most expensive to train",
        (f"{COMPARE}::test_the_plan_uses_the_budget_and_cuts_the_most_expensive_first",),
        origin="planned: the sort is cheapest first, so the dearest is the last",
    ),
)  # fmt: skip
