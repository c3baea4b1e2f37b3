"""The training loop: visible, resumable, and the same on one CPU or many processes.

``train(config)`` loads the data, builds the model, and runs epochs of
``forward → loss → backward → clip → step → schedule → EMA``, evaluating on the
test split after each epoch, logging a row of metrics and writing a checkpoint.
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
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import checkpoint as ckpt
from ..data import Augment, InputAdapter, StreamingDataset, load_dataset
from ..data.streaming import describe_skipped
from ..errors import DivergedError, OptionError, ResourceError
from ..evaluation import evaluate
from ..run_lock import RunLock
from ..runtime import Context, all_reduce_max, all_reduce_sum, autocast, decoding_workers, resolve_amp
from ..stopping import GracefulStop, ImmediateStop
from .checkpointing import Checkpointing
from .config import TrainConfig
from .distributed import setup, teardown
from .optim import build_optimizer, build_schedule
from .progress import EpochProgress
from .resizing import resize_batch, training_side
from .run_log import RunLog
from .setup import CHECKPOINT, build_model, folder_options, minimum_size, prepare_run_dir, set_backbone_trainable
from .state import MAX_SKIPPED_BATCHES, StopAtBoundary, TrainResult, TrainState, mix


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
        if config.progressive_resize and config.progressive_resize < smallest:
            raise OptionError(
                f"--progressive-resize {config.progressive_resize} is below {config.model}'s smallest input side, "
                f"{smallest} px; start at {smallest} or more"
            )
        self.adapter = InputAdapter(
            data.channels, self.model_kwargs["in_chans"], data.mean, data.std, smallest
        ).to(context.device)  # fmt: skip
        per_rank = max(1, config.batch_size // context.world_size)
        augment = Augment(config.crop_padding, config.flip, config.random_erasing)
        self.shard = {"rank": context.rank, "world_size": context.world_size, "workers": self._workers()}
        self.train_loader = data.train_loader(
            per_rank, augment, seed=config.seed, drop_last=data.train_count // context.world_size >= per_rank,
            **self.shard,
        )  # fmt: skip
        streamed = isinstance(data, StreamingDataset)  # decoded at full size: batches of training size
        self.test_loader = data.test_loader(per_rank if streamed else max(per_rank, 256), **self.shard)
        self.optimizer = build_optimizer(self.model, config)
        self.steps_per_epoch = min(len(self.train_loader), config.steps_per_epoch or len(self.train_loader))
        self.schedule = build_schedule(self.optimizer, config, self.steps_per_epoch)
        self.amp_dtype = resolve_amp(config.amp, context.device)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        self.ema = self._make_ema()
        self.state = TrainState()
        self.side: int | None = None  # this epoch's training image side, when progressive resizing shrinks it
        self.data_wait = 0.0  # seconds this epoch spent waiting for the loader
        self.log = RunLog(self.run_dir, enabled=context.is_main, tensorboard=config.tensorboard)
        if config.resume:
            self._restore(ckpt.load(self.run_dir / CHECKPOINT))
            self.log.catch_up(self.state.last_row)
        self.net = self.model
        if context.distributed:
            device_ids = [context.device.index] if context.device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(
                self.model, device_ids=device_ids, find_unused_parameters=config.freeze_epochs > 0
            )

    def _workers(self) -> int:
        """Decoding processes per training process: the CPU cores, at most 8, shared by the ranks on a node."""
        if self.config.workers is not None:
            return self.config.workers
        return decoding_workers(self.context.local_world_size)

    def _make_ema(self):
        if not self.config.ema:
            return None
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        return AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(self.config.ema), use_buffers=True)

    # --- checkpoints -------------------------------------------------------------------------------
    # --- the loop ----------------------------------------------------------------------------------
    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        device, config = self.context.device, self.config
        if self._any_rank(len(labels) == 0):  # every file of the batch was unreadable (on some rank)
            return
        x = self.adapter(images.to(device, non_blocking=True))
        if self.side is not None:
            x = resize_batch(x, self.side)
        if config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        labels = labels.to(device, non_blocking=True)
        x, targets = mix(x, labels, config, self.data.num_classes)
        with autocast(device, self.amp_dtype):
            criterion = lambda out: F.cross_entropy(out.float(), targets, label_smoothing=config.label_smoothing)
            loss, logits = self.model.training_loss(self.net(x), criterion)
        loss_value = loss.item()
        if self._any_rank(not math.isfinite(loss_value)):
            self._non_finite_loss(loss_value)
            return
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if config.grad_clip:
            nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.schedule.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        sums = self.state.sums
        sums[0] += loss_value * len(labels)
        sums[1] += (logits.argmax(1) == labels).sum().item()
        sums[2] += len(labels)

    def _freeze_backbone(self, frozen: bool) -> None:
        """Linear probing (``freeze_epochs``): only the classifier learns, the backbone's batch norms keep their
        pretrained statistics (Kumar et al. 2022, "Fine-Tuning can Distort Pretrained Features", arXiv:2202.10054)."""
        if not self.config.freeze_epochs:
            return
        set_backbone_trainable(self.model, not frozen and not self.config.freeze_backbone)
        self.net.train()
        if frozen:
            for module in self.model.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()

    def _skipped_files(self) -> dict[str, Any]:
        """Unreadable files met so far (all ranks' count; this rank's first names), for the epoch's row."""
        skipped = {**self.data.skipped, **self.train_loader.skipped, **self.test_loader.skipped}
        total = all_reduce_sum(torch.tensor([float(len(skipped))], dtype=torch.float64), self.context)
        return {"skipped_files": int(total.item()), "skipped_examples": describe_skipped(skipped)}

    def _any_rank(self, flag: bool) -> bool:
        """True if ``flag`` holds on any process, so that all take the same branch (one tiny all-reduce)."""
        if not self.context.distributed:
            return flag
        return bool(all_reduce_max(torch.tensor([float(flag)], device=self.context.device), self.context).item())

    def _non_finite_loss(self, value: float) -> None:
        state, config = self.state, self.config
        where = f"epoch {state.epoch + 1}, step {state.step_in_epoch + 1}"
        if config.on_nan == "skip" and state.skipped_batches < MAX_SKIPPED_BATCHES:
            state.skipped_batches += 1
            if self.context.is_main:
                print(
                    f"convzoo: skipped a batch with a non-finite loss at {where} ({state.skipped_batches} of at most {MAX_SKIPPED_BATCHES})"
                )
            return
        kept = self.kept_checkpoint()
        skipped = f" after skipping {state.skipped_batches} batches" if state.skipped_batches else ""
        raise DivergedError(
            f"the training loss became {value} at {where}{skipped}; {kept}. "
            "Lower --lr, set --grad-clip, or use --amp none (or --on-nan skip for rare bad batches)"
        )

    def _check_stop(self) -> None:
        if self._any_rank(self.stop.requested):
            raise StopAtBoundary

    def run_epoch(self, on_step: Callable[[TrainState], None] | None, progress: EpochProgress) -> None:
        loader = self.train_loader
        loader.set_epoch(self.state.epoch)
        self._freeze_backbone(self.state.epoch < self.config.freeze_epochs)
        self.side = self.epoch_side(self.state.epoch)
        progress.start(self.state.epoch, self.config.epochs, self.steps_per_epoch, self.state.step_in_epoch)
        self.data_wait = 0.0
        for images, labels in self._timed(loader.batches(start=self.state.step_in_epoch)):
            if self.state.step_in_epoch >= self.steps_per_epoch:
                break
            self._check_stop()
            self.train_step(images, labels)
            self.state.step_in_epoch += 1
            self.state.global_step += 1
            progress.advance(self.state, len(labels) * self.context.world_size)
            if on_step is not None:
                on_step(self.state)
        progress.finish()

    def epoch_side(self, epoch: int) -> int | None:
        """The side training images are shrunk to in ``epoch`` (``--progressive-resize``), or None: as loaded."""
        config = self.config
        if not config.progressive_resize:
            return None
        full = self.data.image_size
        side = training_side(epoch, config.epochs, full, config.progressive_resize, config.progressive_until)
        return side if side < full else None

    def _timed(self, batches: Iterator) -> Iterator:
        """``batches``, adding the time spent waiting for each to ``self.data_wait`` (a starved model shows here)."""
        iterator = iter(batches)
        while True:
            start = time.perf_counter()
            try:
                batch = next(iterator)
            except StopIteration:
                return
            self.data_wait += time.perf_counter() - start
            yield batch

    @torch.no_grad()
    def recompute_batch_norm(self, model: nn.Module) -> None:
        """ "Precise BN": exact batch-norm statistics of the current weights over a few training batches.

        After a very short training the running averages lag behind weights that still move fast,
        and evaluation-mode accuracy falls far below training-mode accuracy. Recomputing the
        statistics with a cumulative average fixes that (Wu & Johnson 2021, arXiv:2105.07576, §3).
        """
        from torch.optim.swa_utils import update_bn

        loader = self.data.train_loader(
            self.train_loader.batch_size, None, seed=self.config.seed + 1, workers=self.shard["workers"]
        )
        loader.set_epoch(self.state.epoch)
        batches = [
            self.adapter(x.to(self.context.device)) for _, (x, _labels) in zip(range(self.config.precise_bn), loader)
        ]
        if self.config.channels_last:
            batches = [b.contiguous(memory_format=torch.channels_last) for b in batches]
        with autocast(self.context.device, self.amp_dtype):
            update_bn(batches, model)

    def end_epoch(self, seconds: float) -> dict[str, Any]:
        sums = all_reduce_sum(torch.tensor(self.state.sums, dtype=torch.float64), self.context)
        model = self.ema.module if self.ema is not None else self.model
        eval_start = time.perf_counter()
        if self.config.precise_bn:
            self.recompute_batch_norm(model)
        result = evaluate(
            model, self.adapter, self.test_loader, classes=self.data.classes, context=self.context,
            amp_dtype=self.amp_dtype, channels_last=self.config.channels_last,
        )  # fmt: skip
        if not math.isfinite(result.loss):
            raise DivergedError(
                f"the test loss after epoch {self.state.epoch + 1} is {result.loss}; {self.kept_checkpoint()}. "
                "Lower --lr or set --grad-clip"
            )
        self.state.epoch += 1
        self.state.step_in_epoch = 0
        self.state.sums = [0.0, 0.0, 0.0]
        self.state.best_top1 = max(self.state.best_top1, result.top1)
        count = max(float(sums[2]), 1.0)
        row = {
            "epoch": self.state.epoch,
            "train_loss": round(float(sums[0]) / count, 5),
            "train_top1": round(float(sums[1]) / count, 5),
            "test_loss": round(result.loss, 5),
            "test_top1": round(result.top1, 5),
            "test_top5": round(result.top5, 5),
            "test_count": result.count,
            "lr": self.optimizer.param_groups[0]["lr"],
            "epoch_seconds": round(seconds, 2),
            "eval_seconds": round(time.perf_counter() - eval_start, 2),
            "train_images_per_s": round(count / max(seconds, 1e-9), 1),
            "train_side": self.side or self.data.image_size,
            "data_wait_s": round(self.data_wait, 2),  # of epoch_seconds, waiting for batches (decoding)
            **self._skipped_files(),
        }
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
            return TrainResult(self.run_dir, history, True, self.context.is_main, signal_name, code, self.data.classes)
        finally:
            self.log.close()
        return TrainResult(self.run_dir, history, is_main=self.context.is_main, classes=self.data.classes)


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
    except OUT_OF_MEMORY as error:
        raise ResourceError(
            f"out of memory with batch size {config.batch_size}; try a smaller --batch-size ({str(error).splitlines()[0][:120]})"
        ) from None
    except RuntimeError as error:
        if "can't allocate memory" in str(error).lower():  # the CPU allocator raises a plain RuntimeError
            raise ResourceError(
                f"out of memory with batch size {config.batch_size}; try a smaller --batch-size"
            ) from None
        raise
    finally:
        if trainer is not None:
            trainer.lock.release()
        teardown(context, finished=finished)


OUT_OF_MEMORY = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)
