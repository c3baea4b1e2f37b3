# SPDX-License-Identifier: MIT
"""The training loop: visible, resumable, and the same on one CPU or many processes.

``train(config)`` loads the data, builds the model, and runs epochs of
``forward → loss → backward → clip → step → schedule → EMA``, evaluating on the
test split after each epoch, logging a row of metrics and writing a checkpoint.
The step itself is :class:`~convzoo.training.step.TrainingStep`, what a checkpoint
holds is :mod:`.checkpointing`, and an epoch's totals and row are :mod:`.metrics`.
SIGINT (Ctrl-C), SIGTERM and SIGUSR1 (what schedulers send before they stop a
job; see convzoo/stopping.py), or a callback raising ``KeyboardInterrupt``,
stop the run between two steps and write a checkpoint of that exact position;
``resume=True`` continues from it and ends with the same weights as an
uninterrupted run (tests/test_training.py, tests/test_preemption.py). Under
torchrun the ranks agree on the step to stop at. A loss that becomes NaN or
infinite stops the run before the bad step touches the weights, keeping the
last good checkpoint (or, with ``on_nan="skip"``, skips up to
``MAX_SKIPPED_BATCHES`` such batches).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import checkpoint as ckpt
from ..data import InputAdapter, StreamingDataset, load_dataset
from ..data.streaming import describe_skipped
from ..errors import DataError, DivergedError
from ..evaluation import evaluate
from ..run_lock import RunLock
from ..runtime import Context, all_reduce_sum, resolve_amp
from ..stopping import GracefulStop, ImmediateStop
from .batch_norm import freeze_batch_norm, recompute_batch_norm
from .checkpointing import Checkpointing
from .config import TrainConfig
from .distributed import any_rank, setup, teardown, wrap_for_ranks
from .metrics import EpochSums, epoch_row, skipped_files
from .mixing import mix
from .optim import build_ema, build_optimizer, build_schedule
from .progress import EpochProgress, timed
from .resizing import epoch_side, resize_batch
from .run_log import RunLog
from .setup import (
    CHECKPOINT,
    build_loaders,
    build_model,
    check_progressive_resize,
    folder_options,
    loader_workers,
    minimum_size,
    prepare_run_dir,
    set_backbone_trainable,
)
from .state import StopAtBoundary, TrainResult, TrainState, out_of_memory, skip_or_diverge
from .step import TrainingStep, grad_scaler_for


class Trainer(Checkpointing):
    """One run: holds the model, data, optimizer and state; ``fit()`` runs the remaining epochs."""

    def __init__(self, config: TrainConfig, context: Context, stop: GracefulStop | None = None) -> None:
        self.context = context
        self.stop = stop or GracefulStop()
        data = load_dataset(
            config.data, config.data_dir, download=config.download and context.is_main, folder=folder_options(config)
        )
        streamed = isinstance(data, StreamingDataset)
        self.config = config = config.resolved(data.image_size, config.data, streamed=streamed)
        self.data = data
        self.lock = RunLock(config.out, enabled=context.is_main).acquire()
        try:
            self._build(config, context, data)
        except BaseException:
            self.lock.release()
            raise

    def _build(self, config: TrainConfig, context: Context, data) -> None:
        self.run_dir = prepare_run_dir(config, context.is_main)
        torch.manual_seed(config.seed)
        self.model, self.model_kwargs = build_model(config, data)
        self.model.to(context.device)
        if config.channels_last:
            self.model.to(memory_format=torch.channels_last)
        smallest = minimum_size(config.model, self.model_kwargs)
        check_progressive_resize(config, smallest)
        self.adapter = InputAdapter(data.channels, self.model_kwargs["in_chans"], data.mean, data.std, smallest).to(
            context.device
        )
        self.workers = loader_workers(config, context)  # decoding processes of this rank's loaders
        self.train_loader, self.test_loader = build_loaders(config, data, context, self.workers)
        self.optimizer = build_optimizer(self.model, config)
        self.steps_per_epoch = min(len(self.train_loader), config.steps_per_epoch or len(self.train_loader))
        self.schedule = build_schedule(self.optimizer, config, self.steps_per_epoch)
        self.amp_dtype = resolve_amp(config.amp, context.device)
        self.scaler = grad_scaler_for(self.amp_dtype)
        self.ema = build_ema(self.model, config.ema)
        self.state = TrainState()
        self.side: int | None = None  # this epoch's training image side, when progressive resizing shrinks it
        self.data_wait = 0.0  # seconds this epoch spent waiting for the loader
        self.log = RunLog(self.run_dir, enabled=context.is_main, tensorboard=config.tensorboard)
        if config.resume:
            self.restore(ckpt.load(self.run_dir / CHECKPOINT))
            self.log.catch_up(self.state.last_row)
        self.net = wrap_for_ranks(self.model, context, find_unused_parameters=config.freeze_epochs > 0)
        self.step = TrainingStep(
            self.model,
            self.optimizer,
            net=self.net,
            amp_dtype=self.amp_dtype,
            scaler=self.scaler,
            channels_last=config.channels_last,
            clip_norm=config.grad_clip,
        )

    # --- the loop ----------------------------------------------------------------------------------
    def train_batch(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        """One batch: prepared on the device, one training step, then the schedule, the EMA and the totals."""
        device, config = self.context.device, self.config
        if any_rank(len(labels) == 0, self.context):  # every file of the batch was unreadable (on some rank)
            return
        x = self.adapter(images.to(device, non_blocking=True))
        if self.side is not None:
            x = resize_batch(x, self.side)
        labels = labels.to(device, non_blocking=True)
        x, targets = mix(x, labels, config, self.data.num_classes)

        def criterion(out):
            return F.cross_entropy(out.float(), targets, label_smoothing=config.label_smoothing)

        loss, logits = self.step.forward(x, criterion)
        loss_value = loss.item()
        if any_rank(not math.isfinite(loss_value), self.context):  # before the bad step touches the weights
            skip_or_diverge(self.state, loss_value, config.on_nan, self.kept_checkpoint, announce=self.context.is_main)
            return
        self.step.update(loss)
        self.schedule.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        self.state.add_batch(loss_value, (logits.argmax(1) == labels).sum().item(), len(labels))

    def _freeze_backbone(self, frozen: bool) -> None:
        """Linear probing (``freeze_epochs``): only the classifier learns, the backbone's batch norms keep their
        pretrained statistics (Kumar et al. 2022, "Fine-Tuning can Distort Pretrained Features", arXiv:2202.10054)."""
        if not self.config.freeze_epochs:
            return
        set_backbone_trainable(self.model, not frozen and not self.config.freeze_backbone)
        self.net.train()
        if frozen:
            freeze_batch_norm(self.model)

    def _check_stop(self) -> None:
        if any_rank(self.stop.requested, self.context):
            raise StopAtBoundary

    def run_epoch(self, on_step: Callable[[TrainState], None] | None, progress: EpochProgress) -> None:
        loader = self.train_loader
        loader.set_epoch(self.state.epoch)
        self._freeze_backbone(self.state.epoch < self.config.freeze_epochs)
        self.side = epoch_side(self.config, self.state.epoch, self.data.image_size)
        progress.start(self.state.epoch, self.config.epochs, self.steps_per_epoch, self.state.step_in_epoch)
        self.data_wait = 0.0
        for images, labels in timed(loader.batches(start=self.state.step_in_epoch), self._waited):
            if self.state.step_in_epoch >= self.steps_per_epoch:
                break
            self._check_stop()
            if len(labels):
                self.train_batch(images, labels)
            elif self.context.world_size > 1:  # the other processes would wait for this one's gradients for ever
                raise DataError(
                    f"a whole batch of files was unreadable at epoch {self.state.epoch + 1}, step "
                    f"{self.state.step_in_epoch + 1} ({describe_skipped(self.train_loader.skipped)}); remove the "
                    "broken files, or train with a larger --batch-size"
                )
            self.state.step_in_epoch += 1  # an empty batch (every file unreadable) is a step without an update
            self.state.global_step += 1
            progress.advance(self.state, len(labels) * self.context.world_size)
            if on_step is not None:
                on_step(self.state)
        progress.finish()

    def _waited(self, seconds: float) -> None:
        self.data_wait += seconds

    def recompute_batch_norm(self, model: nn.Module) -> None:
        """Precise BN over ``config.precise_bn`` training batches of a second, fixed-seed loader."""
        loader = self.data.train_loader(
            self.train_loader.batch_size, None, seed=self.config.seed + 1, workers=self.workers
        )
        loader.set_epoch(self.state.epoch)
        # strict=False: the first precise_bn batches of an epoch that may hold more, or fewer (then all of them)
        first = zip(range(self.config.precise_bn), loader, strict=False)
        batches = [self.adapter(x.to(self.context.device)) for _, (x, labels) in first if len(labels)]
        recompute_batch_norm(model, batches, self.amp_dtype, channels_last=self.config.channels_last)

    def end_epoch(self, seconds: float) -> dict[str, Any]:
        totals = all_reduce_sum(torch.tensor(self.state.sums, dtype=torch.float64), self.context)
        sums = EpochSums.from_list(totals.tolist())
        model = self.ema.module if self.ema is not None else self.model
        eval_start = time.perf_counter()
        if self.config.precise_bn:
            self.recompute_batch_norm(model)
        result = evaluate(
            model,
            self.adapter,
            self.test_loader,
            classes=self.data.classes,
            context=self.context,
            amp_dtype=self.amp_dtype,
            channels_last=self.config.channels_last,
        )
        if not math.isfinite(result.loss):
            raise DivergedError(
                f"the test loss after epoch {self.state.epoch + 1} is {result.loss}; {self.kept_checkpoint()}. "
                "Lower --lr or set --grad-clip"
            )
        self.state.epoch += 1
        self.state.step_in_epoch = 0
        self.state.sums = EpochSums().as_list()
        self.state.best_top1 = max(self.state.best_top1, result.top1)
        row = epoch_row(
            self.state.epoch,
            sums,
            result,
            lr=self.optimizer.param_groups[0]["lr"],
            seconds=seconds,
            eval_seconds=time.perf_counter() - eval_start,
            train_side=self.side or self.data.image_size,
            data_wait=self.data_wait,
            skipped=skipped_files([self.data, self.train_loader, self.test_loader], self.context),
        )
        self.state.last_row = row
        self.save()  # before the row is logged: a crash in between cannot log an epoch twice on resume
        self.log.log(row)
        if result.top1 >= self.state.best_top1:
            self.save("best.pt")
        return row

    def fit(self, on_step: Callable[[TrainState], None] | None = None) -> TrainResult:
        history: list[dict[str, Any]] = []
        progress = EpochProgress(enabled=self.config.progress and self.context.is_main)
        self.log.write_config(
            asdict(self.config), {"model_kwargs": self.model_kwargs, "world_size": self.context.world_size}
        )
        self.net.train()
        if self.context.is_main:
            for note in self.data.notes:
                progress.console.print(f"note: {note}")
        try:
            while self.state.epoch < self.config.epochs:
                self._check_stop()
                start = time.perf_counter()
                self.run_epoch(on_step, progress)
                history.append(self.end_epoch(time.perf_counter() - start))
                progress.report(history[-1])
                if self.context.is_main and history[-1]["skipped_files"]:
                    row = history[-1]
                    progress.console.print(
                        f"skipped {row['skipped_files']} unreadable files: {row['skipped_examples']}"
                    )
        except ImmediateStop:  # a second Ctrl-C mid-step: the position is not exact, keep the last checkpoint
            progress.finish()
            raise
        except (StopAtBoundary, KeyboardInterrupt):  # KeyboardInterrupt: raised by an on_step callback
            progress.finish()
            self.save()
            signal_name = self.stop.name or "SIGINT"
            code = self.stop.exit_code or 130
            return TrainResult(
                run_dir=self.run_dir,
                history=history,
                interrupted=True,
                is_main=self.context.is_main,
                stop_signal=signal_name,
                exit_code=code,
                classes=self.data.classes,
            )
        finally:
            self.log.close()
        return TrainResult(
            run_dir=self.run_dir, history=history, is_main=self.context.is_main, classes=self.data.classes
        )


def train(config: TrainConfig, *, on_step: Callable[[TrainState], None] | None = None) -> TrainResult:
    """Train ``config.model`` on ``config.data``; see the module docstring."""
    context = setup(config.device)
    trainer, finished = None, False
    try:
        with GracefulStop() as stop:
            trainer = Trainer(config, context, stop)
            result = trainer.fit(on_step)
            finished = True
            return result
    except RuntimeError as error:  # torch's OutOfMemoryError (CUDA), or the CPU allocator's plain RuntimeError
        resource = out_of_memory(error, config.batch_size)
        if resource is None:
            raise
        raise resource from None
    finally:
        if trainer is not None:
            trainer.lock.release()
        teardown(context, finished=finished)
