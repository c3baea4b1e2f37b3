# SPDX-License-Identifier: MIT
"""The one training step (convzoo.training.step) and the one budget (convzoo.budget)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convzoo.budget import Budget, steps_that_fit
from convzoo.training.step import TrainingStep


def _tiny(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 3))


def _batch():
    generator = torch.Generator().manual_seed(1)
    return torch.randn(8, 3, 2, 2, generator=generator), torch.randint(0, 3, (8,), generator=generator)


def test_a_step_is_the_textbook_step():
    """Same weights after one step as zero_grad → backward → optimizer.step written out by hand."""
    x, y = _batch()
    ours, reference = _tiny(), _tiny()
    step = TrainingStep(ours, torch.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9))
    result = step(x, lambda logits: F.cross_entropy(logits, y))
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    loss = F.cross_entropy(reference(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert result.grad_norm is None and torch.equal(result.loss, loss.detach())
    for a, b in zip(ours.parameters(), reference.parameters(), strict=True):
        assert torch.equal(a, b)


def test_clipping_reports_the_norm_before_it_clipped():
    x, y = _batch()
    model = _tiny()
    step = TrainingStep(model, torch.optim.SGD(model.parameters(), lr=0.0), clip_norm=1e-3)
    seen = []
    result = step(x, lambda logits: F.cross_entropy(logits, y), after_backward=lambda: seen.append(_norm(model)))
    result_norm = float(result.grad_norm)
    assert result_norm == pytest.approx(seen[0]) and result_norm > 1e-3
    assert _norm(model) == pytest.approx(1e-3, rel=1e-4)  # clipped after the hook saw the gradients
    tracked = TrainingStep(model, torch.optim.SGD(model.parameters(), lr=0.0), track_grad_norm=True)
    assert float(tracked(x, lambda logits: F.cross_entropy(logits, y)).grad_norm) == pytest.approx(result_norm)


def _norm(model: nn.Module) -> float:
    return float(torch.cat([p.grad.flatten() for p in model.parameters()]).norm())


def test_the_models_own_loss_rule_is_used():
    """A model with auxiliary outputs says how they enter the loss; the step does not unpack them itself."""

    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.main, self.aux = nn.Linear(4, 3), nn.Linear(4, 3)

        def forward(self, x):
            return self.main(x), self.aux(x)

        def training_loss(self, output, loss_of):
            logits, aux = output
            return loss_of(logits) + 0.3 * loss_of(aux), logits

    model = TwoHeads()
    x, y = torch.randn(5, 4), torch.randint(0, 3, (5,))
    result = TrainingStep(model, torch.optim.SGD(model.parameters(), lr=0.0))(x, lambda z: F.cross_entropy(z, y))
    with torch.no_grad():
        expected = F.cross_entropy(model.main(x), y) + 0.3 * F.cross_entropy(model.aux(x), y)
    assert torch.allclose(result.loss, expected) and result.logits.shape == (5, 3)


def test_the_budget_plans_for_a_share_of_what_is_left(monkeypatch):
    now = [100.0]
    monkeypatch.setattr("convzoo.budget.time.perf_counter", lambda: now[0])
    budget = Budget(600, spent_before=60, safety=0.9, reserve_s=15)
    now[0] += 40
    assert budget.elapsed() == 100 and budget.left() == 500
    assert budget.for_planning() == pytest.approx(0.9 * 500 - 15)
    assert budget.for_planning(elapsed=0) == pytest.approx(0.9 * 600 - 15)
    assert budget.fits(500) and not budget.fits(500.5)
    assert budget.steps(1.0, maximum=10_000, fixed_s=35) == 400


def test_steps_that_fit_leaves_minimums_to_the_caller():
    assert steps_that_fit(10, 0.3, maximum=100) == 33
    assert steps_that_fit(10, 0.3, maximum=20) == 20
    assert steps_that_fit(10, 0.0, maximum=20) == 20
    assert steps_that_fit(1, 0.3, maximum=20, fixed_s=5) < 0
