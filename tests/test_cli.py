# SPDX-License-Identifier: MIT
"""The command line: thin commands, one-line errors with exit code 2, no tracebacks."""

import json
import subprocess
import sys

import pytest

from convzoo.cli import main


def test_models_lists_and_filters(capsys):
    assert main(["models", "resnet*", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in rows] == ["resnet101", "resnet152", "resnet18", "resnet34", "resnet50"]
    assert rows[-1]["params"] == "25,557,032"


def test_summary_json_totals(capsys):
    assert main(["summary", "cifar_resnet20", "--format", "json", "--depth", "1"]) == 0
    totals = json.loads(capsys.readouterr().out)["totals"]
    assert totals["params"] == 334_072 and totals["macs"] > 40_000_000


def test_summary_small_input_and_csv(capsys):
    assert main(["summary", "resnet18", "--small-input", "--input", "1x28x28", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("layer,type,output")


@pytest.mark.parametrize(
    "argv,message",
    [
        (["summary", "resnt18"], "unknown model 'resnt18'; did you mean resnet18"),
        (["summary", "alexnet", "--input", "3x32x32"], "at least 63x63"),
        (["summary", "resnet18", "--input", "3x2x"], "--input must look like"),
        (["summary", "resnet18", "--input", "3x0x8"], "positive"),
        (["models", "nope*"], "no model matches"),
    ],
)
def test_bad_input_is_one_clear_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_lecture_writes_the_page(tmp_path, monkeypatch, capsys):
    from convzoo.report import lecture

    monkeypatch.setattr(lecture, "SECTIONS", (lecture.one_by_one_reduction, lecture.global_pooling))
    out = tmp_path / "lecture.md"
    assert main(["lecture", "--out", str(out)]) == 0
    text = out.read_text()
    direct, reduce, conv = 14 * 14 * 48 * 480 * 25, 14 * 14 * 16 * 480, 14 * 14 * 48 * 16 * 25  # by hand
    assert f"**{direct / 1e6:.1f}M** multiply-adds" in text
    assert f"**{reduce / 1e6:.1f}M + {conv / 1e6:.1f}M = {(reduce + conv) / 1e6:.1f}M**" in text
    assert "112.9M agrees; 1.5M agrees; 3.8M agrees; 5.3M agrees" in text  # 112.896, 1.505, 3.763, 5.268
    assert (
        f"**{7 * 7 * 1024 * 1024 / 1e6:.2f}M** weights" in text and "51.3M agrees (rounded down from 51.380M)" in text
    )


def test_entry_point_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "convzoo", "models", "vgg16"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and "138,357,544" in result.stdout
