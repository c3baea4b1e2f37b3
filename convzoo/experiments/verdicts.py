# SPDX-License-Identifier: MIT
"""Judging a lecture claim in parts, each part decided by a stated rule on the numbers that back it.

An experiment is measure → judge → render: ``measure`` returns plain data,
``judge`` turns it into a list of :class:`Part` with the rules below (pure
functions of numbers, unit-tested on synthetic results in
``tests/test_lab_verdicts.py``), and ``render`` writes them. A claim held only
if every part held; it did not hold if any part did not hold; otherwise it is
undecided.

Every rule has three outcomes, and "undecided" is a real one: it is what a
rule returns when the evidence cannot tell (a difference inside the seed
spread, a single seed, a number that is not finite, training too short for
what the part is about).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

HELD, FAILED, UNDECIDED = "held", "did not hold", "undecided"
LEANS_FOR, LEANS_AGAINST = "leans for", "leans against"  # not decided, but the data point one way (module docstring)
VERDICTS = (HELD, LEANS_FOR, UNDECIDED, LEANS_AGAINST, FAILED)  # from the claim's side to the other


@dataclass(frozen=True)
class Part:
    """One part of a claim, decided on its own: what it says, the verdict, and the evidence in words and numbers."""

    name: str
    claim: str
    verdict: str
    evidence: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def overall(parts: Iterable[Part | dict]) -> bool | None:
    """True if every part held, False if any did not hold, None (undecided) otherwise or when there are no parts."""
    verdicts = [p.verdict if isinstance(p, Part) else p["verdict"] for p in parts]
    if not verdicts:
        return None
    if FAILED in verdicts:
        return False
    return True if all(v == HELD for v in verdicts) else None


def tally(parts: Iterable[Part | dict]) -> dict[str, int]:
    """How many parts reached each verdict, in :data:`VERDICTS` order (every verdict present, zeros included)."""
    verdicts = [p.verdict if isinstance(p, Part) else p["verdict"] for p in parts]
    return {verdict: verdicts.count(verdict) for verdict in VERDICTS}


def tally_text(counts: dict[str, int]) -> str:
    """``tally``'s counts in words, leaving out the verdicts no part reached: "7 of 9 held, 1 undecided"."""
    total = sum(counts.values())
    shown = [f"{counts[v]} {v}" for v in VERDICTS if counts.get(v) and v != HELD]
    return ", ".join([f"{counts.get(HELD, 0)} of {total} held", *shown])


def headline(record: dict[str, Any]) -> str:
    """What a reader takes from a run's record (``results.json``): its parts' :func:`tally_text` when it was judged in
    parts, else the claim's one verdict (``held``: True, False or None)."""
    if record.get("parts"):
        return tally_text(tally(record["parts"]))
    return {True: HELD, False: FAILED, None: UNDECIDED}[record["held"]]


def _check_better(better: str) -> None:
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', got {better!r}")


def _finite(values: Sequence[float]) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def spread(values: Sequence[float]) -> float:
    """The seed spread of one arm: its range (max − min); 0 for one value."""
    return max(values) - min(values) if values else math.nan


def compare_seeds(a: Sequence[float], b: Sequence[float], *, better: str = "lower", margin: float = 0.0) -> str:
    """Is arm ``a`` better than arm ``b`` beyond the seed-to-seed spread? (one value per seed in each arm)

    Rule (separation beyond the spread): let the *gap* be how far the worst seed
    of ``a`` is ahead of the best seed of ``b`` (``min(b) − max(a)`` when lower is
    better), and the *spread* the larger of the two arms' ranges. ``a`` is better
    ("held") only if every seed of ``a`` beats every seed of ``b`` and the gap
    exceeds both the spread and ``margin``; "did not hold" when the same is true
    with the arms swapped (``b`` better beyond the spread; ``margin`` does not
    apply to the opposite direction). When every seed of one arm is ahead of
    every seed of the other but not by that much, the data lean that way
    ("leans for" / "leans against"); towards the claim only past ``margin``. Otherwise — overlapping arms, fewer than 2
    seeds in an arm, or a value that is not finite — "undecided". This is
    stricter than a t-test at 2–3 seeds (where a pooled standard deviation is
    itself too noisy to trust) and asks for no distributional assumption.
    """
    _check_better(better)
    if len(a) < 2 or len(b) < 2 or not _finite(a) or not _finite(b):
        return UNDECIDED
    sign = 1.0 if better == "lower" else -1.0
    a_signed, b_signed = [sign * v for v in a], [sign * v for v in b]  # lower is better on the signed scale
    noise = max(spread(a), spread(b))
    gap, reverse = min(b_signed) - max(a_signed), min(a_signed) - max(b_signed)
    if gap > max(noise, margin):
        return HELD
    if reverse > noise:
        return FAILED
    if gap > margin and gap > 0:  # a claimed margin not reached is no lean towards the claim
        return LEANS_FOR
    if reverse > 0:
        return LEANS_AGAINST
    return UNDECIDED


def not_trained(loss: float, chance_loss: float, *, within: float = 0.01) -> bool:
    """A run did not train when its loss is not finite or within ``within`` (relative) of ``chance_loss``, the loss
    of a constant output (ln C for C balanced classes), or above it: the net outputs the same for every image."""
    return not (isinstance(loss, (int, float)) and math.isfinite(loss) and loss < (1 - within) * chance_loss)


def compare_training(a: Sequence[float], b: Sequence[float], *, chance_loss: float, within: float = 0.01) -> str:
    """:func:`compare_seeds` on losses (lower is better), where a run that did not train ranks below every run that
    did: its loss is taken as ``chance_loss`` (:func:`not_trained`), so a NaN or a net stuck at the constant output
    counts as the worst training, not as a number that decides nothing. Arms that all failed to train tie."""

    def ranked(values: Sequence[float]) -> list[float]:
        return [chance_loss if not_trained(v, chance_loss, within=within) else v for v in values]

    return compare_seeds(ranked(a), ranked(b), better="lower")


def separation(a: Sequence[float], b: Sequence[float], *, better: str = "lower") -> dict[str, float]:
    """The numbers :func:`compare_seeds` decides on, for the record: means, spreads, the gap (how far a's worst seed
    is ahead of b's best; > 0 when every seed of a beats every seed of b) and the reverse gap (the same for b)."""
    sign = 1.0 if better == "lower" else -1.0
    ok = bool(a) and bool(b)
    a_signed, b_signed = [sign * v for v in a], [sign * v for v in b]  # lower is better on the signed scale
    return {
        "mean_a": sum(a) / len(a) if a else math.nan,
        "mean_b": sum(b) / len(b) if b else math.nan,
        "spread_a": spread(a),
        "spread_b": spread(b),
        "gap": (min(b_signed) - max(a_signed)) if ok else math.nan,
        "reverse_gap": (min(a_signed) - max(b_signed)) if ok else math.nan,
    }


def gap_text(numbers: dict[str, float], spec: str = ".3g", scale: float = 1.0) -> str:
    """``separation``'s numbers in words: the gap between the arms against the larger seed spread.

    A gap that is not positive says which way the seeds lie: the other arm's worst seed ahead of this one's best
    (the reverse gap, which decides "did not hold"), or seeds that overlap.
    """
    noise = max(numbers["spread_a"], numbers["spread_b"])
    gap, reverse = numbers["gap"], numbers.get("reverse_gap", math.nan)
    if gap > 0 or not math.isfinite(gap):
        how = ""
    elif reverse > 0:
        how = f" (reversed: every seed of the other arm ahead, by {format(scale * reverse, spec)})"
    else:
        how = " (the arms' seeds overlap)"
    return f"gap {format(scale * gap, spec)}{how} vs seed spread {format(scale * noise, spec)}"


def vanished(norm_first: float, norm_last: float, *, below: float = 1e-2) -> str:
    """Has the gradient vanished at the input side? ``norm_first / norm_last`` below ``below`` (default 1/100).

    NaN or infinity is never "vanished": a gradient that is not finite overflowed
    or was poisoned, which is another failure, so it is "undecided" (not finite).
    Both norms zero is undecided too (no signal at all: nothing to compare). A
    first norm of exactly zero with a positive last norm has vanished.
    """
    if not (math.isfinite(norm_first) and math.isfinite(norm_last)):
        return UNDECIDED
    if norm_last <= 0:
        return UNDECIDED
    return HELD if norm_first / norm_last < below else FAILED


def every_seed(verdicts: Sequence[str]) -> str:
    """One verdict from one per seed: held if all held, did not hold if none held and all decided, else undecided.

    Needs at least 2 seeds to decide anything.
    """
    if len(verdicts) < 2:
        return UNDECIDED
    if all(v == HELD for v in verdicts):
        return HELD
    if all(v == FAILED for v in verdicts):
        return FAILED
    return UNDECIDED


def loss_falls(first: float, last: float, *, drop: float = 0.05) -> str:
    """Does training make progress? The loss of the last window is below ``(1 − drop)`` × the first window's.

    A loss that is not finite at the end (the run diverged) did not train: "did
    not hold". A first loss that is not finite leaves nothing to compare: undecided.
    """
    if not math.isfinite(first):
        return UNDECIDED
    if not math.isfinite(last):
        return FAILED
    return HELD if last < (1 - drop) * first else FAILED


def diverged(losses: Sequence[float], *, initial: float | None = None, factor: float = 1.0) -> bool:
    """A run diverged if its loss became non-finite, or ended at or above ``factor`` × its initial loss."""
    if not losses:
        return False
    if not _finite(losses):
        return True
    start = losses[0] if initial is None else initial
    tail = losses[-max(1, len(losses) // 10) :]
    return sum(tail) / len(tail) >= factor * start


def short_training(epochs: float, *, minimum: float) -> str | None:
    """The reason a part about the end of training is undecided, or None when ``epochs`` reaches ``minimum``."""
    if epochs >= minimum:
        return None
    return f"training too short to judge: {epochs:.1f} epochs, the criterion needs at least {minimum:g}"


def reached(values: Sequence[float], *, minimum: float, what: str = "training accuracy") -> str | None:
    """The reason a part that needs training to have gone far enough is undecided, or None when every run reached it.

    ``values`` holds one number per run (e.g. each run's training accuracy); a value that is not finite has not
    reached anything.
    """
    short = [v for v in values if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= minimum)]
    if values and not short:
        return None
    shown = ", ".join(format(v, ".3g") for v in values) or "no runs"
    return f"not trained far enough to judge: {what} {shown}, the criterion needs at least {minimum:g} in every run"


def at_most(value: float, reference: float, fraction: float) -> str:
    """Is ``value`` at most ``fraction`` × ``reference``? For exact numbers (the cost model's): no noise to weigh.

    Undecided when either number is not finite or the reference is not positive.
    """
    if not (_finite([value, reference]) and reference > 0):
        return UNDECIDED
    return HELD if value <= fraction * reference else FAILED


def paired_difference(
    correct_a: Sequence[int], correct_b: Sequence[int], seeds_a: int, seeds_b: int
) -> dict[str, float]:
    """The difference of two arms' seed-mean accuracies on the same images, and its standard error over the images.

    ``correct_a[i]`` is how many of arm a's ``seeds_a`` runs classified image ``i`` correctly. Per image
    ``d_i = correct_a[i] / seeds_a − correct_b[i] / seeds_b``; the difference is the mean of ``d`` and its
    standard error ``sd(d) / √n`` is what drawing another ``n`` evaluation images would change (the paired
    error: the images both arms find hard or easy cancel). The seed-to-seed spread is separate and weighed by
    the rules that take seeds.
    """
    n = len(correct_a)
    if n < 2 or len(correct_b) != n or seeds_a < 1 or seeds_b < 1:
        return {"difference": math.nan, "standard_error": math.nan, "images": n}
    d = [a / seeds_a - b / seeds_b for a, b in zip(correct_a, correct_b, strict=True)]
    mean = sum(d) / n
    variance = sum((v - mean) ** 2 for v in d) / (n - 1)
    return {"difference": mean, "standard_error": math.sqrt(variance / n), "images": n}


def compare_arms(
    a: Sequence[float], b: Sequence[float], *, better: str, standard_error: float, z: float = 2.0, margin: float = 0.0
) -> str:
    """:func:`compare_seeds`, decided only when the difference of the means also exceeds ``z`` standard errors.

    ``standard_error`` is the evaluation's own sampling error of the difference (:func:`paired_difference`): a
    difference the seeds agree on but that another draw of the evaluation images could undo is not decided. It
    leans: towards the seeds' side when the paired interval (the difference ± ``z`` standard errors) does not
    exclude zero; towards the difference's side when the interval excludes zero but the seeds do not decide
    (the same strictness for and against the claim). An error that is not finite leaves it undecided.
    """
    _check_better(better)
    seeds = compare_seeds(a, b, better=better, margin=margin)
    if not (_finite([*a, *b, standard_error]) and len(a) >= 2 and len(b) >= 2):
        return UNDECIDED
    sign = 1.0 if better == "lower" else -1.0
    ahead = sign * (sum(b) / len(b) - sum(a) / len(a))  # > 0: a's mean is the better one
    beyond = abs(ahead) > z * standard_error and standard_error > 0  # an error of 0 is no interval: nothing measured
    if seeds in (HELD, FAILED):
        if beyond:
            return seeds
        return LEANS_FOR if seeds == HELD else LEANS_AGAINST
    if beyond:
        return LEANS_FOR if ahead > 0 else LEANS_AGAINST
    return seeds


def deficit_and_noise(
    a: Sequence[float], b: Sequence[float], *, better: str = "higher", standard_error: float = 0.0, z: float = 2.0
) -> dict[str, float]:
    """What :func:`no_worse` decides on: how far ``a``'s mean is behind ``b``'s (negative when ahead), and the
    noise, the larger of the two seed spreads and ``z`` standard errors of the evaluation."""
    _check_better(better)
    if not a or not b:
        return {"deficit": math.nan, "noise": math.nan}
    sign = 1.0 if better == "higher" else -1.0
    return {
        "deficit": sign * (sum(b) / len(b) - sum(a) / len(a)),
        "noise": max(spread(a), spread(b), z * standard_error),
    }


def no_worse(
    a: Sequence[float],
    b: Sequence[float],
    *,
    tolerance: float,
    better: str = "higher",
    standard_error: float = 0.0,
    z: float = 2.0,
) -> str:
    """Is arm ``a`` no worse than arm ``b`` within ``tolerance``? An equivalence test ("without costing accuracy").

    The *deficit* is how far ``a``'s mean is behind ``b``'s (negative when ahead); the *noise* the larger of the
    two arms' seed spreads and ``z`` standard errors of the evaluation. Held when even the pessimistic end,
    deficit + noise, is within ``tolerance`` (the equivalence margin, stated in the part that uses it); did not
    hold when the optimistic end, deficit − noise, is beyond it. When the seed spread leaves it open but the
    evaluation's own interval, deficit ± ``z`` standard errors, is wholly within or wholly beyond ``tolerance``,
    it leans that way. Otherwise, fewer than 2 seeds in an arm, or a number that is not finite: undecided.
    """
    _check_better(better)
    if len(a) < 2 or len(b) < 2 or not _finite([*a, *b, standard_error, tolerance]):
        return UNDECIDED
    numbers = deficit_and_noise(a, b, better=better, standard_error=standard_error, z=z)
    deficit, noise = numbers["deficit"], numbers["noise"]
    if deficit + noise <= tolerance:
        return HELD
    if deficit - noise > tolerance:
        return FAILED
    if standard_error > 0 and deficit + z * standard_error <= tolerance:
        return LEANS_FOR
    if standard_error > 0 and deficit - z * standard_error > tolerance:
        return LEANS_AGAINST
    return UNDECIDED


def parts_table(parts: Sequence[Part | dict]) -> str:
    """The per-part Markdown table of a report: part, claim, verdict, evidence."""
    rows = ["| part | claim | verdict | evidence |", "|---|---|---|---|"]
    for part in parts:
        p = part.as_dict() if isinstance(part, Part) else part
        cells = [p["name"], p["claim"], f"**{p['verdict']}**", p["evidence"]]
        rows.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(rows) + "\n"


__all__ = [
    "FAILED",
    "HELD",
    "LEANS_AGAINST",
    "LEANS_FOR",
    "UNDECIDED",
    "VERDICTS",
    "Part",
    "at_most",
    "compare_arms",
    "compare_seeds",
    "compare_training",
    "deficit_and_noise",
    "diverged",
    "every_seed",
    "gap_text",
    "headline",
    "loss_falls",
    "no_worse",
    "not_trained",
    "overall",
    "paired_difference",
    "parts_table",
    "reached",
    "separation",
    "short_training",
    "spread",
    "tally",
    "tally_text",
    "vanished",
]
