# SPDX-License-Identifier: MIT
"""One training step, the only one in convzoo: forward → loss → backward → clip → optimizer step.

The engine, the lab's short runs, compare's timing probe and ``bench --mode train`` all train through
:class:`TrainingStep`, so a change to how a step is taken (the loss of a model with auxiliary heads, the
gradient scaling of fp16, clipping) lands once. What differs between callers is a choice passed in, not
code: the precision (an autocast dtype, and a ``GradScaler`` where fp16 needs one), the input memory format,
the clipping norm, and the module whose ``forward`` runs (a ``DistributedDataParallel`` wrapper in the engine).

The step comes in two halves because the engine looks at the loss in between: a non-finite loss stops
the run (or skips the batch) before the bad step touches the weights. Callers without that need call the
step object itself, which runs both halves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..runtime import autocast

Criterion = Callable[[Tensor], Tensor]  # logits -> loss
LossRule = Callable[[object, Criterion], tuple[Tensor, Tensor]]  # (training-mode output, criterion) -> loss, logits


def plain_loss(output: Tensor, criterion: Criterion) -> tuple[Tensor, Tensor]:
    """The loss rule of a module without a ``training_loss`` hook: its output is the logits."""
    return criterion(output), output


def grad_scaler_for(amp_dtype: torch.dtype | None) -> torch.amp.GradScaler | None:
    """fp16 needs its loss scaled so small gradients do not flush to zero; bf16 and fp32 do not."""
    return torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None


def gradient_norm(parameters: list[nn.Parameter]) -> Tensor:
    """Global L2 norm of the gradients, without clipping them (0 when no parameter has one)."""
    grads = [p.grad.detach().flatten() for p in parameters if p.grad is not None]
    return torch.cat(grads).norm() if grads else torch.zeros(())


@dataclass
class StepResult:
    loss: Tensor  # detached, as the loss rule computed it
    logits: Tensor  # detached main logits (the first output of a model with auxiliary heads)
    grad_norm: Tensor | None  # global gradient norm before clipping, when clipping or tracking it; else None


class TrainingStep:
    """Forward, loss, backward, clip and optimizer step for ``model``, with the caller's precision and format.

    ``loss_rule`` defaults to the model's own ``training_loss`` (how its training-mode output, auxiliary
    heads included, becomes one loss); ``net`` is the module whose forward runs, ``model`` by default.
    ``clip_norm`` clips the global gradient norm (None or 0: no clipping); ``track_grad_norm`` reports that
    norm even without clipping. Clipping reports the norm before it clipped, so a caller can tell how often
    and by how much clipping fired.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        net: nn.Module | None = None,
        amp_dtype: torch.dtype | None = None,
        scaler: torch.amp.GradScaler | None = None,
        channels_last: bool = False,
        clip_norm: float | None = None,
        track_grad_norm: bool = False,
        loss_rule: LossRule | None = None,
    ) -> None:
        self.model, self.optimizer, self.net = model, optimizer, net or model
        self.amp_dtype, self.scaler, self.channels_last = amp_dtype, scaler, channels_last
        self.clip_norm, self.track_grad_norm = clip_norm, track_grad_norm
        self.loss_rule = loss_rule or getattr(model, "training_loss", plain_loss)

    def forward(self, x: Tensor, criterion: Criterion) -> tuple[Tensor, Tensor]:
        """``(loss, main logits)`` of the batch ``x``, under the step's autocast and memory format."""
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(x.device, self.amp_dtype):
            return self.loss_rule(self.net(x), criterion)

    def update(self, loss: Tensor, after_backward: Callable[[], None] | None = None) -> Tensor | None:
        """Backward from ``loss``, clip, and step the optimizer; returns the gradient norm before clipping.

        ``after_backward()`` sees the (unscaled) gradients before they are clipped.
        """
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if after_backward is not None:
            after_backward()
        norm = self._clip()
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        return norm

    def _clip(self) -> Tensor | None:
        if self.clip_norm:
            return nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_norm)
        if self.track_grad_norm:
            return gradient_norm(list(self.model.parameters()))
        return None

    def __call__(self, x: Tensor, criterion: Criterion, after_backward: Callable[[], None] | None = None) -> StepResult:
        """Both halves: one whole training step on the batch ``x``."""
        loss, logits = self.forward(x, criterion)
        grad_norm = self.update(loss, after_backward)
        return StepResult(loss.detach(), logits.detach(), grad_norm)
