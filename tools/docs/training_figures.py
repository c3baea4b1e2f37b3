# SPDX-License-Identifier: MIT
"""Training figures (docs/training.md, docs/finetuning.md) rendered from their JSON in ``benchmarks/results/``."""

from __future__ import annotations

import json
from pathlib import Path

from convzoo.formats import markdown

from .records import RESULTS, commit_label, cpu_label, per_cpu_kind, read_record


def _reached(hit: dict | None) -> str:
    return "—" if hit is None else f"epoch {hit['epoch']}, {hit['minutes']:.2f} min"


# tag of benchmarks/results/time_to_accuracy-TAG.json: (budget label, minutes, target top-1 %)
TIME_TO_ACCURACY_RUNS = {
    "5min": ("5 minutes", 5, "93"),
    "15min": ("15 minutes", 15, "94"),
    "amx-7ep-full-size": ("5 minutes", 5, "93"),  # a pair: progressive resizing's cost in accuracy, same epochs
    "amx-7ep-progressive": ("5 minutes", 5, "93"),
    "avx2-6ep-progressive": ("10 minutes", 10, "93"),
    "avx2-7ep-progressive": ("10 minutes", 10, "93"),
}


def _target(run: dict, minutes: int, accuracy: str) -> str:
    hit = run[f"reached_{accuracy}"]
    met = hit is not None and hit["minutes"] <= minutes
    return f"{accuracy}% in ≤ {minutes} min: {'met' if met else '**missed**'}"


def _recipe(run: dict) -> str:
    """How the run trained, in a few words: precision, layout, image sides."""
    config, cpu = run["config"], run["environment"]["cpu"]
    bf16 = cpu.get("bf16_native") and config["amp"] in ("auto", "bf16")
    parts = [f"batch {config['batch_size']}", "bf16" if bf16 else "fp32"]
    if config["channels_last"]:
        parts.append("channels-last")
    sides = [row.get("train_side") for row in run["epochs"]]
    if config.get("progressive_resize") and None not in sides:
        parts.append("sides " + ", ".join(str(side) for side in sides) + " px")
    return ", ".join(parts)


def _work(run: dict) -> float:
    """The run's convolution work in full-size epochs: an epoch at side s of full size S counts (s / S)²."""
    sides = [row.get("train_side") for row in run["epochs"]]
    if None in sides:
        return float(len(sides))
    full = max(sides)
    return sum((side / full) ** 2 for side in sides)


def time_to_accuracy(root: Path) -> str:
    """The time-to-accuracy table of docs/training.md: one row per run and CPU kind, with the target's verdict."""
    header = [
        "budget",
        "epochs",
        "recipe",
        "work (full-size epochs)",
        "reached 93.0%",
        "reached 94.0%",
        "final test top-1",
        "training time",
        "last epoch's images/s",
        "target",
        "CPU",
        "commit",
    ]
    rows, commands = [], []
    for tag, (budget, minutes, accuracy) in TIME_TO_ACCURACY_RUNS.items():
        path = root / RESULTS / f"time_to_accuracy-{tag}.json"
        if not path.exists():
            continue
        run = json.loads(path.read_text())
        commands.append(f"    {run['command']}")
        rows.append(
            [
                budget,
                run["config"]["epochs"],
                _recipe(run),
                f"{_work(run):.2f}",
                _reached(run["reached_93"]),
                _reached(run["reached_94"]),
                f"**{run['final_top1']:.2%}**",
                f"{run['train_minutes']:.2f} min",
                f"{run['epochs'][-1]['train_images_per_s']:,.0f}",
                _target(run, minutes, accuracy),
                cpu_label(run),
                commit_label(run),
            ]
        )
    lines = [markdown(header, rows), "", "The rows' commands, as recorded:", "", *commands]
    evaluated = read_record(root, "time_to_accuracy-5min.json").get("eval")
    if evaluated:
        lines += [
            "",
            (
                f"`convzoo eval` on the 5-minute run's final checkpoint: top-1 {evaluated['top1']:.2%} on "
                f"{evaluated['count']:,} test images, {evaluated['images_per_s']:,.0f} images/s."
            ),
        ]
    return "\n".join(lines)


def engine_overhead(root: Path) -> str:
    """The training engine against a hand-written loop (docs/training.md), one table per CPU kind measured."""
    names = ("train_throughput.json", "train_throughput-avx2-emulated.json")
    return "\n\n".join(_engine_overhead(read_record(root, name)) for name in names if (root / RESULTS / name).exists())


def _engine_overhead(run: dict) -> str:
    rows = run["rows"]
    bf16 = run["environment"]["cpu"].get("bf16_native") and run["args"]["amp"] in ("auto", "bf16")
    precision = "bf16 autocast" if bf16 else "fp32"
    table = markdown(
        ["model", "engine images/s", "plain loop images/s", "engine overhead"],
        [
            [
                f"{r['model']}{' (small input)' if r['small_input'] else ''}",
                f"{r['engine_images_per_s']:,.0f}",
                f"{r['plain_images_per_s']:,.0f}",
                f"{r['engine_overhead']:+.1%}".replace("-", "−"),
            ]
            for r in rows
        ],
    )
    within = sum(1 for r in rows if r["engine_overhead"] <= 0.05)
    return (
        f"{table}\n\nWithin the 5% budget for {within} of {len(rows)} (a negative overhead is the noise of the "
        f"machine). Training in {precision}; commit {commit_label(run)}, CPU {cpu_label(run)}."
    )


DATA_PIPELINE_LABELS = {
    "torchvision DataLoader, 0 workers": "torchvision `transforms.v2` per image, `DataLoader`, 0 workers",
    "torchvision DataLoader, 2 workers": "the same with 2 worker processes",
    "convzoo BatchLoader + InputAdapter": "convzoo `BatchLoader` + `InputAdapter` (whole-batch crop and flip)",
}


def data_pipeline(root: Path) -> str:
    """Images/s of the input pipelines (docs/training.md)."""
    measured = read_record(root, "data_pipeline.json")["images_per_s"]
    rows = [[DATA_PIPELINE_LABELS.get(k, k), f"{v:,}"] for k, v in measured.items()]
    ours = measured["convzoo BatchLoader + InputAdapter"]
    best_name, best = max(((k, v) for k, v in measured.items() if k.startswith("torchvision")), key=lambda kv: kv[1])
    return (
        f"{markdown(['pipeline', 'images/s'], rows)}\n\nThe batched pipeline is {ours / best:.1f}× faster than the "
        f"best DataLoader setting ({best_name}) and costs {60_000 / ours:.2f} s an epoch of 60,000 images, "
        f"against {60_000 / best:.1f} s."
    )


def image_pipeline(root: Path) -> str:
    """The streaming image-folder pipeline against torchvision's, and ResNet-50's data wait (docs/finetuning.md)."""
    run = read_record(root, "image_pipeline.json")
    medians, wait = run["pipeline_median_images_per_s"], run["resnet50_fine_tuning"]
    rows = [
        [name, f"{medians[name]:,}", ", ".join(f"{x:,}" for x in run["pipeline_images_per_s"][name])]
        for name in ("torchvision", "convzoo")
    ]
    decoders = markdown(
        ["decoder (one process, decode only)", "images/s"],
        [[name, f"{rate:,}"] for name, rate in run["decode_only_images_per_s_one_process"].items()],
    )
    return (
        f"Measured on {cpu_label(run)}, commit {commit_label(run)}: {run['images']} JPEG photos of 300–900 px, "
        f"batches of {run['batch_size']} at {run['image_size']} px, {run['workers']} workers.\n\n"
        f"{markdown(['pipeline', 'median images/s', 'each pass'], rows)}\n\n"
        f"convzoo / torchvision: **{run['pipeline_ratio_convzoo_over_torchvision']:.2f}×**.\n\n{decoders}\n\n"
        f"Fine-tuning ResNet-50 at {run['image_size']} px ({wait['amp']}, batch {run['batch_size']}, "
        f"{run['workers']} workers, {wait['steps']} steps with warm workers): {wait['step_seconds']:.2f} s a step, "
        f"of which {wait['data_wait_s'] / wait['steps']:.3f} s waiting for data: "
        f"**{wait['data_wait_fraction']:.1%}** of the time."
    )


PRECISION = {"None": "fp32", "torch.bfloat16": "bf16 autocast", "torch.float16": "fp16 autocast"}


def train_profile(root: Path) -> str:
    """Where a training step's time goes, per CPU kind (docs/training.md)."""
    parts = []
    for meaning, run in per_cpu_kind(root, "train_profile"):
        if run is None:
            continue
        ops = ", ".join(f"{op} {ms:.0f}" for op, ms in list(run["ms_per_step"].items())[:5])
        parts.append(
            f"**{meaning}** ({run['model']}, batch {run['batch']}, {PRECISION.get(run['amp'], run['amp'])} "
            f"{'channels-last' if run['channels_last'] else 'NCHW'}, CPU {cpu_label(run)}, commit "
            f"{commit_label(run)}): "
            f"{run['step_ms']:.0f} ms a step, {run['batch'] / run['step_ms'] * 1000:.0f} images/s ({ops} ms); "
            f"convolutions **{run['convolution_share']:.0%}** of it "
            f"at {run['convolution_gmacs_per_s']} G multiply-adds/s, batch norm {run['batch_norm_share']:.0%}."
        )
    return "\n\n".join(parts) or "Not measured yet."
