# SPDX-License-Identifier: MIT
"""The lab's training settings: which candidates are timed, which one is kept, and that training uses it."""

import json

import pytest
import torch

from convzoo import experiments, runtime
from convzoo.cli import main
from convzoo.errors import OptionError
from convzoo.experiments import precision as speed
from convzoo.experiments.precision import Settings, candidates, choose
from convzoo.training.short_run import Data, Recipe, train


@pytest.fixture
def native_bf16(monkeypatch):
    monkeypatch.setattr(runtime, "cpu_supports_bf16", lambda: True)


@pytest.fixture
def no_bf16(monkeypatch):
    monkeypatch.setattr(runtime, "cpu_supports_bf16", lambda: False)


def test_bf16_is_a_candidate_only_where_the_cpu_runs_it_natively(native_bf16):
    assert candidates("cpu", "auto") == [
        Settings("cpu", None, False),
        Settings("cpu", None, True),
        Settings("cpu", "bf16", False),
        Settings("cpu", "bf16", True),
    ]
    assert candidates("cpu", "none") == [Settings("cpu", None, False), Settings("cpu", None, True)]
    assert [s.amp for s in candidates("cpu", "bf16")] == ["bf16", "bf16"]


def test_without_native_bf16_auto_times_fp32_only_and_bf16_is_refused(no_bf16):
    assert [s.amp for s in candidates("cpu", "auto")] == [None, None]
    with pytest.raises(OptionError, match="no native bf16"):
        candidates("cpu", "bf16")


def _timed(monkeypatch, seconds):
    monkeypatch.setattr(speed, "_MEASURED", {})  # a fresh process: nothing measured yet
    monkeypatch.setattr(speed, "time_steps", lambda options: seconds[: len(options)])


def test_one_process_times_the_candidates_once(monkeypatch, no_bf16):
    calls = []
    monkeypatch.setattr(speed, "_MEASURED", {})
    monkeypatch.setattr(speed, "time_steps", lambda options: calls.append(options) or [1.0, 0.5])
    first, second = choose("cpu", "auto"), choose("cpu", "auto")  # the demo's experiments, one after another
    assert len(calls) == 1 and first == second and first[0] == Settings("cpu", None, True)
    choose("cpu", "none")  # the same candidates (fp32 only on this CPU): still one measurement
    assert len(calls) == 1


def test_the_fastest_setting_is_kept_when_it_beats_fp32_nchw_by_the_margin(monkeypatch, native_bf16):
    _timed(monkeypatch, [1.0, 0.8, 0.7, 0.5])
    chosen, record = choose("cpu", "auto")
    assert chosen == Settings("cpu", "bf16", True) and record["measured"]
    assert record["step_seconds"]["bf16 autocast, channels-last, cpu"] == 0.5
    assert "**bf16 autocast, channels-last, cpu**" in speed.describe(chosen, record)


def test_a_gain_inside_the_margin_keeps_fp32_nchw(monkeypatch, no_bf16):
    _timed(monkeypatch, [1.0, 1.0 / (speed.MIN_GAIN - 0.02)])  # 8% faster: inside the timing noise
    assert choose("cpu", "auto")[0] == Settings("cpu", None, False)
    _timed(monkeypatch, [1.0, 1.0 / (speed.MIN_GAIN + 0.02)])
    assert choose("cpu", "auto")[0] == Settings("cpu", None, True)


def test_quick_runs_time_nothing(monkeypatch, native_bf16):
    monkeypatch.setattr(speed, "time_steps", lambda options: pytest.fail("timed in quick mode"))
    chosen, record = choose("cpu", "auto", measure=False)
    assert chosen == Settings() and record == {
        "measured": False,
        "reason": "--quick",
        "requested": {"device": "cpu", "amp": "auto"},
    }


def test_training_runs_in_the_recipe_s_precision_and_memory_format():
    seen = []
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(), torch.nn.LazyLinear(10))
    model(torch.zeros(1, 1, 8, 8))
    model[0].register_forward_hook(lambda _m, _inputs, output: seen.append((output, output.dtype)))
    images = torch.randn(16, 1, 8, 8)
    data = Data(images, torch.arange(16) % 10, images, torch.arange(16) % 10, [str(i) for i in range(10)])
    train(model, data, Recipe(steps=1, batch_size=4, image_size=8))
    train(model, data, Recipe(steps=1, batch_size=4, image_size=8, amp="bf16", channels_last=True))
    (plain, plain_dtype), (fast, fast_dtype) = seen  # the conv's 4-channel output
    assert plain_dtype == torch.float32 and not plain.is_contiguous(memory_format=torch.channels_last)
    assert fast_dtype == torch.bfloat16 and fast.is_contiguous(memory_format=torch.channels_last)
    assert model[0].weight.dtype == torch.float32  # autocast: the weights stay fp32 masters


def test_time_steps_times_every_candidate_on_the_probe_network():
    seconds = speed.time_steps([Settings(), Settings(channels_last=True)], rounds=1)
    assert len(seconds) == 2 and all(0 < s < 60 for s in seconds)


def test_the_record_and_report_say_how_the_run_trained(tmp_path):
    report = experiments.run("filters", out=tmp_path / "filters", quick=True, device="cpu", amp="none")
    record = json.loads((tmp_path / "filters" / "results.json").read_text())
    assert record["settings"]["label"] == "fp32, NCHW, cpu" and record["settings"]["chosen_by"]["reason"] == "--quick"
    assert "Training settings: fp32, NCHW, cpu (not timed: --quick)" in report.read_text()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_device_cuda_without_a_gpu_is_one_line_before_anything_is_written(tmp_path, capsys):
    assert main(["experiment", "filters", "--device", "cuda", "--out", str(tmp_path / "out")]) == 2
    assert "no CUDA device" in capsys.readouterr().err and not (tmp_path / "out").exists()
