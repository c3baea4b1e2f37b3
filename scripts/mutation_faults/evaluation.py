# SPDX-License-Identifier: MIT
"""Faults in evaluation: accuracy, top-5, loss, confusion matrix, per-class accuracy."""

from .fault import INDEPENDENT, Fault

FAULTS = (
    Fault(
        "confusion_transposed", "confusion matrix stored (predicted, true) instead of (true, predicted)",
        "convzoo/evaluation.py",
        "labels.cpu() * num_classes + top[:, 0].cpu()", "top[:, 0].cpu() * num_classes + labels.cpu()",
        (f"{INDEPENDENT}::test_evaluation_against_a_hand_computation",),
        quick=True,
        origin="planned: survived at first; tests/test_independent_checks.py was written to catch it",
    ),
    Fault(
        "eval_top5", "top-5 counts only the first guess (top-5 equals top-1)", "convzoo/evaluation.py",
        "sums[2] += (top == labels[:, None]).any(1).sum().item()",
        "sums[2] += (top[:, :1] == labels[:, None]).any(1).sum().item()",
        (f"{INDEPENDENT}::test_evaluation_against_a_hand_computation",),
        quick=True,
        origin="planned: survived at first; tests/test_independent_checks.py was written to catch it",
    ),
    Fault(
        "eval_loss_mean", "the loss summed as per-batch means, then divided by the image count",
        "convzoo/evaluation.py",
        'F.cross_entropy(logits, labels, reduction="sum")', 'F.cross_entropy(logits, labels, reduction="mean")',
        (f"{INDEPENDENT}::test_evaluation_against_a_hand_computation",),
        origin="planned: survived at first; tests/test_independent_checks.py was written to catch it",
    ),
    Fault(
        "per_class_by_prediction", "per-class accuracy divided by predictions of the class, not its images",
        "convzoo/evaluation.py",
        "totals = self.confusion.sum(1).clamp_min(1)", "totals = self.confusion.sum(0).clamp_min(1)",
        (f"{INDEPENDENT}::test_evaluation_against_a_hand_computation",),
        origin="planned: survived at first; tests/test_independent_checks.py was written to catch it",
    ),
)  # fmt: skip
