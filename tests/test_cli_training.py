# SPDX-License-Identifier: MIT
"""`convzoo train` and `convzoo eval` from the command line, bad input included."""

import json

import pytest

from convzoo.cli import main


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    argv = [
        "train",
        "--model",
        "cifar_resnet20",
        "--epochs",
        "1",
        "--batch-size",
        "256",
        "--amp",
        "none",
        "--no-progress",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    return out / "last.pt"


def test_eval_prints_plain_figures_and_saves_the_confusion_matrix(checkpoint, capsys):
    assert main(["eval", "--checkpoint", str(checkpoint)]) == 0
    out = capsys.readouterr().out
    assert "top-1 " in out and "%" in out and "per-class accuracy" in out
    assert (checkpoint.parent / "eval-fashion-mnist-mini-confusion.png").stat().st_size > 1000
    assert main(["eval", "--checkpoint", str(checkpoint), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    recorded = json.loads((checkpoint.parent / "metrics.jsonl").read_text().splitlines()[-1])
    # the same model, data and preparation as the run's own test pass: the same figures, to the digit
    assert report["count"] == recorded["test_count"] == 1000 and report["top1"] == recorded["test_top1"]
    assert report["loss"] == recorded["test_loss"] and sum(map(sum, report["confusion"])) == 1000
    assert main(["eval", "--checkpoint", str(checkpoint), "--tta", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["tta"] is True


def _one_line_error(argv, capsys, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bad_training_input(tmp_path, capsys, checkpoint):
    _one_line_error(["train", "--model", "resnet5", "--out", str(tmp_path / "a")], capsys, "unknown model")
    _one_line_error(["train", "--data", "imagenet", "--out", str(tmp_path / "b")], capsys, "unknown dataset")
    _one_line_error(
        ["train", "--data", "fashion-mnist", "--data-dir", str(tmp_path / "none"), "--out", str(tmp_path / "c")],
        capsys,
        "does not exist",
    )
    _one_line_error(["train", "--epochs", "0", "--out", str(tmp_path / "d")], capsys, "--epochs")
    before = checkpoint.read_bytes()
    _one_line_error(["train", "--epochs", "1", "--out", str(checkpoint.parent)], capsys, "already holds a run")
    assert checkpoint.read_bytes() == before


def test_bad_evaluation_input(tmp_path, capsys, checkpoint):
    _one_line_error(["eval", "--checkpoint", str(tmp_path / "missing.pt")], capsys, "does not exist")
    broken = tmp_path / "broken.pt"
    broken.write_bytes(checkpoint.read_bytes()[:5000])
    _one_line_error(["eval", "--checkpoint", str(broken)], capsys, "truncated")
    import torch
    from torchvision.io import write_png

    for split in ("train", "test"):
        for label in ("a", "b"):
            (tmp_path / "imgs" / split / label).mkdir(parents=True)
            write_png(torch.zeros(1, 28, 28, dtype=torch.uint8), str(tmp_path / "imgs" / split / label / "0.png"))
    _one_line_error(
        ["eval", "--checkpoint", str(checkpoint), "--data", f"folder:{tmp_path / 'imgs'}"], capsys, "has 2 classes"
    )


def test_unknown_option_value_is_rejected(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--optimizer", "lion"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
