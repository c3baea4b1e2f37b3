"""`convzoo compare` on a two-model, one-epoch line-up: the report, its plots, and a failing model."""

import json

from convzoo.cli import main
from convzoo.report import compare as compare_module


def test_compare_writes_the_report(tmp_path, capsys):
    out = tmp_path / "report"
    argv = ["compare", "cifar_resnet20", "mobilenet_v3_small", "--epochs", "1", "--repeats", "1", "--out", str(out)]
    assert main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    rows = {row["model"]: row for row in results["rows"]}
    assert set(rows) == {"cifar_resnet20", "mobilenet_v3_small"}
    for row in rows.values():
        assert row["params"] > 0 and row["gmacs"] > 0 and row["latency_b1_ms"] > 0
        assert 0 <= row["test_top1"] <= 1 and row["train_seconds"] > 0
    markdown = (out / "report.md").read_text()
    assert "mobilenet_v3_small" in markdown and "accuracy_vs_gmacs.png" in markdown
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "<table>" in html
    assert all((out / f"{name}.png").stat().st_size > 5000 for name in ("accuracy_vs_gmacs", "latency_vs_gmacs", "params_by_family"))


def test_a_failing_model_is_reported_in_its_row(tmp_path, monkeypatch, capsys):
    real = compare_module._accuracy

    def flaky(name, config, run_dir):
        if name == "cifar_resnet20":
            raise RuntimeError("out of memory (simulated)")
        return real(name, config, run_dir)

    monkeypatch.setattr(compare_module, "_accuracy", flaky)
    out = tmp_path / "report"
    argv = ["compare", "cifar_resnet20", "mobilenet_v3_small", "--epochs", "1", "--repeats", "1", "--out", str(out)]
    assert main(argv) == 0
    rows = {row["model"]: row for row in json.loads((out / "results.json").read_text())["rows"]}
    assert "out of memory" in rows["cifar_resnet20"]["error"] and "test_top1" in rows["mobilenet_v3_small"]
    assert "out of memory" in (out / "report.md").read_text()


def test_unknown_model_fails_before_any_work(tmp_path, capsys):
    assert main(["compare", "resnet50", "resnet51", "--out", str(tmp_path / "x")]) == 2
    assert "resnet51" in capsys.readouterr().err and not (tmp_path / "x").exists()
