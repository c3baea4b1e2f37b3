# SPDX-License-Identifier: MIT
"""What goes wrong in real clusters: a whole process group stopped, a disk that fills up, weights that blow up,
links planted in a run directory, a crash between a checkpoint and its metrics row, leftovers of a killed writer."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid

import pytest
import torch
from filesystems import mounted_tmpfs

from convzoo import checkpoint as ckpt
from convzoo.data.synthetic_photos import write_photo_folder
from convzoo.errors import DivergedError
from convzoo.training import TrainConfig, train

STEPS = 6


def _config(tmp_path, name, **overrides):
    values = {
        "model": "cifar_resnet20",
        "epochs": 2,
        "batch_size": 64,
        "steps_per_epoch": STEPS,
        "amp": "none",
        "out": str(tmp_path / name),
        "progress": False,
    }
    values.update(overrides)
    return TrainConfig(**values)


def _assert_same_weights(a, b):
    assert a.keys() == b.keys()
    different = [key for key in a if not torch.equal(a[key], b[key])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"


def _stop_after(steps):
    def stop(state):
        if state.global_step == steps:
            raise KeyboardInterrupt

    return stop


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith("convzoo: error: "), stderr[-3000:]
    return lines[0]


# --- a SIGTERM to the whole process group, DataLoader workers included ------------------------------------------
@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    return write_photo_folder(
        tmp_path_factory.mktemp("group"), train_per_class=24, test_per_class=2, sizes=(64, 160), broken=False
    ).root


def _streamed_train(folder, out, *extra):
    return [
        sys.executable,
        "-m",
        "convzoo",
        "train",
        "--model",
        "cifar_resnet20",
        "--data",
        f"folder:{folder}",
        "--stream",
        "yes",
        "--image-size",
        "32",
        "--workers",
        "2",
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--amp",
        "none",
        "--no-progress",
        "--out",
        str(out),
        *extra,
    ]


@pytest.mark.slow
def test_sigterm_to_the_process_group_with_workers_saves_an_exact_checkpoint(photo_folder, tmp_path):
    """What SLURM, ``docker stop`` and Kubernetes do: every process of the job gets SIGTERM at once."""
    straight = subprocess.run(
        _streamed_train(photo_folder, tmp_path / "straight"), capture_output=True, text=True, check=False
    )
    assert straight.returncode == 0, straight.stderr[-3000:]
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        _streamed_train(photo_folder, run_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a job under a scheduler
    )
    deadline = time.monotonic() + 300
    while not (run_dir / "metrics.jsonl").exists():  # epoch 1 saved and logged: epoch 2 (18 steps) begins
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(0.5)  # a few steps into epoch 2
    workers = subprocess.run(
        ["pgrep", "-g", str(process.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    os.killpg(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert len(workers) >= 3, workers  # the main process and its two decoding workers all got the signal
    assert process.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert "Traceback" not in stderr and "killed by signal" not in stderr, stderr[-3000:]
    state = ckpt.load(run_dir / "last.pt").training["train_state"]
    # stopped in epoch 2 (usually a few steps in; on a slow machine possibly before its first step), position saved
    assert state["epoch"] == 1 and state["step_in_epoch"] < 18, state
    resumed = subprocess.run(
        _streamed_train(photo_folder, run_dir, "--resume"), capture_output=True, text=True, check=False
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _assert_same_weights(
        ckpt.load(run_dir / "last.pt").model_state, ckpt.load(tmp_path / "straight" / "last.pt").model_state
    )


# --- a real full disk ----------------------------------------------------------------------------------------------
def _small_filesystem(path, megabytes):
    path.mkdir()
    return mounted_tmpfs(path, megabytes)


def _fill(directory, leave_bytes):
    """Fill the filesystem of ``directory`` until ``leave_bytes`` are free."""
    free = os.statvfs(directory).f_bavail * os.statvfs(directory).f_frsize
    with open(directory / "filler", "wb") as file:
        file.write(b"\0" * max(0, free - leave_bytes))


def _cli_train(out, *extra):
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
        "64",
        "--steps-per-epoch",
        str(STEPS),
        "--amp",
        "none",
        "--no-progress",
        "--out",
        str(out),
        *extra,
    ]


def test_a_real_full_disk_is_one_line_and_the_previous_checkpoint_loads(tmp_path):
    with _small_filesystem(tmp_path / "disk", 16) as disk:
        run_dir = train(_config(disk, "run"), on_step=_stop_after(STEPS + 2)).run_dir  # epoch 2, step 2
        before = (run_dir / "last.pt").read_bytes()
        _fill(disk, leave_bytes=256 * 1024)  # room for config and metrics, not for a 2 MiB checkpoint
        full = subprocess.run(_cli_train(run_dir, "--resume"), capture_output=True, text=True, check=False)
        assert full.returncode == 2
        line = _one_error_line(full.stderr)
        assert f"disk full while writing {run_dir / 'last.pt'}" in line and "needs about" in line
        assert "the previous last.pt is intact" in line and "--resume" in line
        assert (run_dir / "last.pt").read_bytes() == before
        assert ckpt.load(run_dir / "last.pt").training["train_state"]["global_step"] == STEPS + 2
        assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]  # no half-written temporary
        epochs = [json.loads(line)["epoch"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
        assert epochs == [1]  # epoch 2's row was not logged, since its checkpoint was not saved


def test_metrics_are_not_appended_through_a_planted_link(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.jsonl").symlink_to("/dev/full")  # a stand-in device that is always full
    finished = subprocess.run(
        _cli_train(tmp_path / "run", "--epochs", "1"), capture_output=True, text=True, check=False
    )
    assert finished.returncode == 2
    assert "metrics.jsonl is a symbolic link" in _one_error_line(finished.stderr)


# --- weights that blow up -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lr", "says"),
    [
        pytest.param(
            "1e8", r"NaN or infinite|became (nan|inf)|test loss .* is (nan|inf)", marks=pytest.mark.slow, id="1e8"
        ),
        pytest.param("inf", "--lr must be", id="inf"),
    ],
)
def test_a_diverging_run_never_writes_a_non_finite_checkpoint(tmp_path, lr, says):
    run_dir = tmp_path / "run"
    result = subprocess.run(
        _cli_train(run_dir, "--lr", lr, "--epochs", "3"), capture_output=True, text=True, check=False
    )
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    line = _one_error_line(result.stderr)
    assert re.search(says, line), line
    for name in ("last.pt", "best.pt"):
        if (run_dir / name).exists():
            checkpoint = ckpt.load(run_dir / name)
            for state in (checkpoint.model_state, checkpoint.ema_state or {}):
                assert all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point()), name


def test_non_finite_buffers_are_refused_before_saving(tmp_path, monkeypatch):
    """The loss can stay finite while a batch-norm buffer is already infinite: the save itself checks."""
    from convzoo.training import engine

    models, real_build = [], engine.build_model

    def build(config, data):
        model, kwargs = real_build(config, data)
        models.append(model)
        return model, kwargs

    def poison(state):
        if state.global_step == STEPS:  # the last step of epoch 1, just before its checkpoint
            next(b for n, b in models[0].named_buffers() if n.endswith("running_var")).fill_(float("inf"))

    monkeypatch.setattr(engine, "build_model", build)
    with pytest.raises(DivergedError, match=r"became NaN or infinite \(.*running_var.*\).*not saved as last.pt"):
        train(_config(tmp_path, "run", epochs=1, precise_bn=0), on_step=poison)
    assert not (tmp_path / "run" / "last.pt").exists()


# --- symbolic links and leftovers in a run directory --------------------------------------------------------------
def test_resume_does_not_write_config_through_a_planted_link(tmp_path):
    train(_config(tmp_path, "run"), on_step=_stop_after(2))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    config = tmp_path / "run" / "config.json"
    config.unlink()
    config.symlink_to(victim)
    resumed = subprocess.run(_cli_train(tmp_path / "run", "--resume"), capture_output=True, text=True, check=False)
    assert resumed.returncode == 2
    assert "config.json is a symbolic link" in _one_error_line(resumed.stderr)
    assert victim.read_text() == "precious"


def test_a_killed_writers_temporaries_are_removed_and_a_lost_metrics_row_is_logged_once(tmp_path, monkeypatch):
    from convzoo.training.run_log import RunLog

    first = train(_config(tmp_path, "run"), on_step=_stop_after(STEPS + 1))  # epoch 1 logged, epoch 2 begun
    run_dir = first.run_dir
    orphan = run_dir / f".last.pt.{uuid.uuid4().hex[:8]}.tmp"  # what SIGKILL mid-save leaves
    orphan.write_bytes(b"PK\x03\x04 half")
    # a crash between epoch 2's checkpoint and its metrics row: the row is in the checkpoint only
    monkeypatch.setattr(RunLog, "log", lambda self, row: (_ for _ in ()).throw(SystemExit("crash")))
    with pytest.raises(SystemExit):
        train(_config(tmp_path, "run", epochs=2, resume=True))
    monkeypatch.undo()
    assert ckpt.load(run_dir / "last.pt").training["train_state"]["epoch"] == 2
    assert [json.loads(line)["epoch"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()] == [1]
    train(_config(tmp_path, "run", epochs=2, resume=True))  # nothing left to train: catches up the row
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [1, 2]
    assert len((run_dir / "metrics.csv").read_text().splitlines()) == 3  # header and two rows
    assert not orphan.exists()
