# SPDX-License-Identifier: MIT
"""Training survives what happens to real runs: scheduler signals, a full disk, a diverging loss, a second run."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from convzoo import checkpoint as ckpt
from convzoo.errors import DivergedError, RunLockedError
from convzoo.training import TrainConfig, train

STEPS = 8  # steps per epoch: short epochs keep these tests fast on any CPU


def _config(tmp_path, name, **overrides):
    values = {
        "model": "cifar_resnet20",
        "epochs": 2,
        "batch_size": 128,
        "steps_per_epoch": STEPS,
        "amp": "none",
        "out": str(tmp_path / name),
        "progress": False,
    }
    values.update(overrides)
    return TrainConfig(**values)


def _weights(run_dir):
    return ckpt.load(run_dir / "last.pt").model_state


def _assert_same_weights(a, b):
    assert a.keys() == b.keys()
    different = [key for key in a if not torch.equal(a[key], b[key])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The uninterrupted run every interrupted one must end equal to."""
    tmp = tmp_path_factory.mktemp("straight")
    result = train(_config(tmp, "run"))
    return _weights(result.run_dir)


def _cli(*args):
    return [
        sys.executable,
        "-m",
        "convzoo",
        "train",
        "--model",
        "cifar_resnet20",
        "--epochs",
        "2",
        "--batch-size",
        "128",
        "--steps-per-epoch",
        str(STEPS),
        "--amp",
        "none",
        "--no-progress",
        *args,
    ]


def _signal_after_first_epoch(process, run_dir, number, timeout=300):
    """Send ``number`` as soon as epoch 1's checkpoint exists: the run is then early in epoch 2."""
    deadline = time.monotonic() + timeout
    while not (run_dir / "last.pt").exists():
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "no checkpoint after the first epoch"
        time.sleep(0.01)
    process.send_signal(number)
    return process.communicate(timeout=timeout)


@pytest.mark.slow
def test_sigterm_to_a_real_train_process_saves_and_resume_is_exact(tmp_path, straight):
    run_dir = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}  # same kernels, same sums as in-process
    process = subprocess.Popen(
        _cli("--out", str(run_dir)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    out, err = _signal_after_first_epoch(process, run_dir, signal.SIGTERM)
    assert process.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "stopped by SIGTERM" in out and "--resume" in out and "Traceback" not in err
    state = ckpt.load(run_dir / "last.pt").training["train_state"]
    assert state["epoch"] == 1 and state["global_step"] == STEPS + state["step_in_epoch"]
    assert not (run_dir / ".lock").exists()
    resumed = train(_config(tmp_path, "run", resume=True))
    assert resumed.final["epoch"] == 2
    _assert_same_weights(_weights(run_dir), straight)


@pytest.mark.slow  # trains or starts processes: the slow tier (keeps make test under 10 min on AVX2)
def test_sigusr1_stops_at_the_exact_step(tmp_path, straight):
    def slurm_warns(state):
        if state.global_step == STEPS + 3:  # epoch 2, step 3
            os.kill(os.getpid(), signal.SIGUSR1)

    stopped = train(_config(tmp_path, "run"), on_step=slurm_warns)
    assert stopped.interrupted and stopped.stop_signal == "SIGUSR1" and stopped.exit_code == 138
    assert ckpt.load(tmp_path / "run" / "last.pt").training["train_state"]["global_step"] == STEPS + 3
    train(_config(tmp_path, "run", resume=True))
    _assert_same_weights(_weights(tmp_path / "run"), straight)


@pytest.mark.skipif(sys.platform != "linux", reason="torchrun with gloo")
@pytest.mark.slow
def test_sigterm_under_torchrun_stops_every_rank_at_one_step_and_resumes_exactly(tmp_path):
    def torchrun(*args):
        launcher = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "convzoo",
        ]
        return launcher + _cli(*args)[3:]

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    straight = subprocess.run(
        torchrun("--out", str(tmp_path / "straight")), capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert straight.returncode == 0, straight.stderr[-2000:]
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        torchrun("--out", str(run_dir)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    out, err = _signal_after_first_epoch(process, run_dir, signal.SIGTERM)
    assert process.returncode != 0
    assert out.count("stopped by SIGTERM") == 1, (out, err[-2000:])  # rank 0 reports, and only it
    state = ckpt.load(run_dir / "last.pt").training["train_state"]
    assert state["epoch"] == 1 and state["step_in_epoch"] < STEPS
    resumed = subprocess.run(
        torchrun("--out", str(run_dir), "--resume"), capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _assert_same_weights(_weights(run_dir), _weights(tmp_path / "straight"))


def _nan_at_training_step(monkeypatch, bad_steps):
    """Make the training loss NaN at the given 1-based training steps (evaluation losses untouched)."""
    from convzoo.training import engine

    real, calls = engine.F.cross_entropy, [0]

    def flaky(*args, **kwargs):
        loss = real(*args, **kwargs)
        if "label_smoothing" in kwargs:  # the training loss
            calls[0] += 1
            if calls[0] in bad_steps:
                return loss * float("nan")
        return loss

    monkeypatch.setattr(engine.F, "cross_entropy", flaky)


@pytest.mark.slow  # trains or starts processes: the slow tier (keeps make test under 10 min on AVX2)
def test_a_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    _nan_at_training_step(monkeypatch, {STEPS + 3})
    with pytest.raises(DivergedError, match=r"became nan at epoch 2, step 3; the last good checkpoint is .*last.pt"):
        train(_config(tmp_path, "run"))
    good = ckpt.load(tmp_path / "run" / "last.pt")
    assert good.training["train_state"]["epoch"] == 1
    assert all(torch.isfinite(t).all() for t in good.model_state.values() if t.is_floating_point())
    assert not (tmp_path / "run" / ".lock").exists()


def test_on_nan_skip_skips_the_bad_batch_only(tmp_path, monkeypatch, capsys):
    _nan_at_training_step(monkeypatch, {3})
    result = train(_config(tmp_path, "run", epochs=1, on_nan="skip"))
    assert result.final["epoch"] == 1
    checkpoint = ckpt.load(tmp_path / "run" / "last.pt")
    assert checkpoint.training["train_state"]["skipped_batches"] == 1
    assert all(torch.isfinite(t).all() for t in checkpoint.model_state.values() if t.is_floating_point())
    assert "skipped a batch with a non-finite loss at epoch 1, step 3" in capsys.readouterr().out


@pytest.mark.slow  # trains or starts processes: the slow tier (keeps make test under 10 min on AVX2)
def test_a_second_run_on_a_live_run_directory_is_refused_and_a_stale_lock_is_taken_over(tmp_path, capsys):
    run_dir = tmp_path / "run"
    hold = (
        "import sys, time; from convzoo.run_lock import RunLock; RunLock(sys.argv[1]).acquire(); "
        "print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold, str(run_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(RunLockedError, match=f"in use by another run \\(pid {holder.pid} on host "):
            train(_config(tmp_path, "run", epochs=1))
    finally:
        holder.kill()
        holder.wait()
    result = train(_config(tmp_path, "run", epochs=1))  # the holder was killed: the kernel dropped its lock
    assert result.final["epoch"] == 1
    taken = f"taking over the stale lock of {run_dir} (pid {holder.pid} has ended; it held it since "
    assert taken in capsys.readouterr().err
    assert not (run_dir / ".lock").exists()
