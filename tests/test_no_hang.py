# SPDX-License-Identifier: MIT
"""No command can be made to hang by a file in its input or output folder.

Each case plants a FIFO (or a dangling link) where a command reads: an image, a checkpoint, a weights file,
the run's lock, a comparison's state, a dataset file. Before, ``open`` of a FIFO blocked until a writer came,
and Python retries an ``open`` interrupted by a signal, so SIGTERM could not stop it; a dangling ``.lock`` link
made the lock loop for ever. Each command runs as a real process: it must end by itself (exit 0, or 2 with one
line); one still running after :data:`NATURAL_S` gets SIGTERM and must be gone within :data:`STOP_S`.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
from hostile_inputs import image_folder

from convzoo.cli import main

pytestmark = pytest.mark.slow

NATURAL_S = 120  # a case's own work: start-up and a few training steps, on the slowest CPU with 3 side by side
STOP_S = 5  # the bound for stopping on SIGTERM
SIDE_BY_SIDE = 3
QUICK = ["--model", "cifar_resnet20", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4"]
QUICK += ["--amp", "none", "--no-progress"]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A trained run, and every place a FIFO or a dangling link can be planted, with the command reading it."""
    root = tmp_path_factory.mktemp("hang")
    good = root / "good"
    assert main(["train", *QUICK, "--data", "fashion-mnist-mini", "--out", str(good)]) == 0
    fifo_folder = image_folder(root / "fifo-folder", per_class=4)
    os.mkfifo(fifo_folder / "train" / "cat" / "x.png")
    os.mkfifo(fifo_folder / "test" / "dog" / "y.png")
    fifo = root / "fifo.pt"
    os.mkfifo(fifo)
    image = fifo_folder / "test" / "cat" / "0.png"
    runs = {}
    for name, planted_name, kind in (
        ("lock-fifo", ".lock", "fifo"),
        ("lock-link", ".lock", "link"),
        ("last-fifo", "last.pt", "fifo"),
    ):
        run = root / name
        run.mkdir()
        for item in good.iterdir():
            if item.name != planted_name:
                (run / item.name).write_bytes(item.read_bytes())
        os.mkfifo(run / planted_name) if kind == "fifo" else (run / planted_name).symlink_to(root / "nonexistent")
        runs[name] = run
    compare_out = root / "compare"
    compare_out.mkdir()
    os.mkfifo(compare_out / "state.json")
    fashion = root / "fashion"
    fashion.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):  # fmt: skip
        os.mkfifo(fashion / name)
    checkpoint, mini, folder = str(good / "last.pt"), "fashion-mnist-mini", f"folder:{fifo_folder}"
    fifo_image = str(fifo_folder / "train" / "cat" / "x.png")
    cases = {
        "train-folder-fifo": _train("--data", folder, "--out", root / "t1"),
        "train-streamed-fifo": _train("--data", folder, "--stream", "yes", "--workers", 1, "--out", root / "t2"),
        "train-lock-fifo": _train("--data", mini, "--resume", "--out", runs["lock-fifo"]),
        "train-lock-dangling-link": _train("--data", mini, "--resume", "--out", runs["lock-link"]),
        "train-resume-fifo-checkpoint": _train("--data", mini, "--resume", "--out", runs["last-fifo"]),
        "train-weights-fifo": _train("--data", mini, "--weights", fifo, "--out", root / "t3"),
        "train-dataset-fifo": _train("--data", "fashion-mnist", "--data-dir", fashion, "--out", root / "t4"),
        "eval-checkpoint-fifo": ["eval", "--checkpoint", str(fifo)],
        "eval-folder-fifo": ["eval", "--checkpoint", str(root / "t0" / "last.pt"), "--data", folder],
        "predict-image-fifo": ["predict", "--checkpoint", checkpoint, fifo_image, str(image)],
        "predict-checkpoint-fifo": ["predict", "--checkpoint", str(fifo), str(image)],
        "export-checkpoint-fifo": ["export", "--checkpoint", str(fifo), "--out", str(root / "m.onnx")],
        "compare-state-fifo": ["compare", "--resume", "--out", str(compare_out)],
    }
    return cases, fifo_folder, root


def _train(*options) -> list[str]:
    return ["train", *QUICK, *(str(option) for option in options)]


def _outcome(process: subprocess.Popen) -> tuple[str, float]:
    """How the process ended: by itself, or stopped by SIGTERM (and how fast), or not at all."""
    began = time.perf_counter()
    try:
        process.wait(timeout=NATURAL_S)
        return "by itself", 0.0
    except subprocess.TimeoutExpired:
        pass
    os.killpg(process.pid, signal.SIGTERM)
    stopped = time.perf_counter()
    try:
        process.wait(timeout=STOP_S)
        return "stopped by SIGTERM", time.perf_counter() - stopped
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return f"still running {STOP_S} s after SIGTERM ({time.perf_counter() - began:.0f} s in all)", STOP_S


def test_no_command_hangs_on_a_file(planted, tmp_path):
    cases, fifo_folder, root = planted
    # eval of a folder needs a checkpoint trained on a folder of the same classes
    assert main(["train", *QUICK, "--data", f"folder:{fifo_folder}", "--out", str(root / "t0")]) == 0
    failures, pending = [], list(cases.items())
    running: list[tuple[str, subprocess.Popen]] = []
    while pending or running:
        while pending and len(running) < SIDE_BY_SIDE:
            name, argv = pending.pop(0)
            process = subprocess.Popen(
                [sys.executable, "-m", "convzoo", *argv],
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            running.append((name, process))
        name, process = running.pop(0)
        how, _ = _outcome(process)
        err = process.stderr.read().decode(errors="replace")
        errors = [line for line in err.splitlines() if line.startswith("convzoo: error")]
        if how != "by itself":
            failures.append(f"{name}: {how}")
        elif process.returncode not in (0, 2) or "Traceback" in err or (process.returncode == 2 and len(errors) != 1):
            failures.append(f"{name}: exit {process.returncode}, {err.strip()[-300:]}")
    assert not failures, "\n".join(failures)
