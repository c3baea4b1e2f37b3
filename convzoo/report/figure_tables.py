"""Documented figures rendered from their JSON in ``benchmarks/results/``, never typed in.

Each function reads result files and returns a Markdown block for ``generated_docs``; a figure whose
run did not record its commit or CPU kind says so in the table instead of borrowing today's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..tables import markdown

RESULTS = Path("benchmarks") / "results"
DEMO_RUNS = Path("docs") / "compare"


def _read(root: Path, name: str, folder: Path = RESULTS) -> Any:
    return json.loads((root / folder / name).read_text())


def _cpu(record: dict) -> str:
    cpu = (record.get("environment") or {}).get("cpu")
    return f"{cpu['label']} ({cpu['model']})" if cpu else "not recorded"


def _commit(record: dict) -> str:
    commit = record.get("git_commit")
    return f"`{commit}`" if commit else "not recorded"


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
    header = ["budget", "epochs", "recipe", "work (full-size epochs)", "reached 93.0%", "reached 94.0%", "final test top-1", "training time",
              "last epoch's images/s", "target", "CPU", "commit"]  # fmt: skip
    rows, commands = [], []
    for tag, (budget, minutes, accuracy) in TIME_TO_ACCURACY_RUNS.items():
        path = root / RESULTS / f"time_to_accuracy-{tag}.json"
        if not path.exists():
            continue
        run = json.loads(path.read_text())
        commands.append(f"    {run['command']}")
        rows.append([
            budget, run["config"]["epochs"], _recipe(run), f"{_work(run):.2f}", _reached(run["reached_93"]), _reached(run["reached_94"]),
            f"**{run['final_top1']:.2%}**", f"{run['train_minutes']:.2f} min",
            f"{run['epochs'][-1]['train_images_per_s']:,.0f}", _target(run, minutes, accuracy),
            _cpu(run), _commit(run),
        ])  # fmt: skip
    lines = [markdown(header, rows), "", "The rows' commands, as recorded:", "", *commands]
    evaluated = _read(root, "time_to_accuracy-5min.json").get("eval")
    if evaluated:
        lines += [
            "",
            (
                f"`convzoo eval` on the 5-minute run's final checkpoint: top-1 {evaluated['top1']:.2%} on "
                f"{evaluated['count']:,} test images, {evaluated['images_per_s']:,.0f} images/s."
            ),
        ]
    return "\n".join(lines)


DEPLOY_VARIANTS = (
    ("eager", "eager"),
    ("optimized-fp32", "`--optimize` fp32"),
    ("compiled-fp32", "`--optimize --compile` fp32"),
    ("optimized-bf16", "`--optimize` bf16"),
    ("compiled-bf16", "`--optimize --compile` bf16"),
)
DEPLOY_TARGETS = {"resnet50": "fp32 ≥ 2.0×, bf16 ≥ 5×", "efficientnet_b0": "fp32 ≥ 1.5×", "mobilenet_v2": "fp32 ≥ 1.5×"}


def deploy_speed(root: Path) -> str:
    """Ratios to eager torchvision per model and variant (docs/deploy.md), three decimals: no rounding up to a target."""
    ratios: dict[str, dict[str, float]] = {}
    for variant, _ in DEPLOY_VARIANTS:
        for row in _read(root, f"deploy-{variant}.json")["rows"]:
            if row["impl"] == "convzoo":
                ratios.setdefault(row["model"], {})[variant] = row["ratio"]
    header = ["model", *(label for _, label in DEPLOY_VARIANTS), "target"]
    rows = [
        [
            model,
            *(f"{by_variant[v]:.3f}×" if v in by_variant else "—" for v, _ in DEPLOY_VARIANTS),
            DEPLOY_TARGETS.get(model, ""),
        ]
        for model, by_variant in ratios.items()
    ]
    run = _read(root, "deploy-eager.json")
    return f"{markdown(header, rows)}\n\nCommit {_commit(run)}, CPU {_cpu(run)}."


def eager_speed(root: Path) -> str:
    """Eager forward time against the reference library (docs/benchmarks.md)."""
    run = _read(root, "eager_speed.json")
    header = ["model", "reference", "ours (ms)", "reference (ms)", "speed ratio"]
    rows = [
        [r["model"], r["reference"], f"{r['ours_ms']:.1f}", f"{r['reference_ms']:.1f}", f"{r['speed_ratio']:.3f}"]
        for r in run["rows"]
    ]
    lines = [markdown(header, rows)]
    lowest = min(run["rows"], key=lambda row: row["speed_ratio"])
    lines += [
        "",
        f"Lowest ratio: {lowest['model']} {lowest['speed_ratio']:.3f}. Commit {_commit(run)}, CPU {_cpu(run)}.",
    ]
    return "\n".join(lines)


def onnx_export(root: Path) -> str:
    """The ONNX export sweep in one sentence per finding (docs/deploy.md), counted from the rows."""
    rows = _read(root, "onnx_export_all.json")["rows"]
    verified = [row for row in rows if row["ok"]]
    small = [row for row in rows if row["max_abs_logit"] < 1]
    large = [row for row in rows if row["max_abs_logit"] >= 1]
    lines = [
        (
            f"**{len(verified)} of {len(rows)} verified.** For the {len(small)} models whose random-weight logits stay "
            f"below 1 the max absolute difference is at most {max(row['max_abs_difference'] for row in small):.1e}."
        )
    ]
    if large:
        worst = max(large, key=lambda row: row["max_abs_difference"] / row["max_abs_logit"])
        lines.append(
            f"The other {len(large)} have logits of {min(r['max_abs_logit'] for r in large):.2g} to "
            f"{max(r['max_abs_logit'] for r in large):.2g} at random initialization, where the check allows 1e-4 of the "
            f"largest logit; their largest difference relative to it is {worst['max_abs_difference'] / worst['max_abs_logit']:.1e} "
            f"({worst['model']})."
        )
    return " ".join(lines)


def bf16_agreement(root: Path) -> str:
    """bf16 against fp32 predictions on real test images (docs/deploy.md)."""
    run = _read(root, "bf16_agreement.json")
    return (
        f"On the {run['images']:,} Fashion-MNIST test images, optimized bf16{' (compiled)' if run['compile'] else ''} "
        f"and fp32 agree on the top-1 class for **{run['top1_agreement']:.2%}** of the images; top-1 accuracy "
        f"{run['top1_fp32']:.2%} in fp32, {run['top1_bf16']:.2%} in bf16 ({run['model']}, checkpoint "
        f"`{run['checkpoint']}` sha256 {run.get('checkpoint_sha256', 'not recorded')[:12]}; commit {_commit(run)}, CPU {_cpu(run)})."
    )


def profile_speed(root: Path) -> str:
    """The cost model's time against a plain forward pass (docs/benchmarks.md)."""
    rows = _read(root, "profile_speed.json")["rows"]
    return markdown(
        ["model", "forward (ms)", "profile (ms)", "profile / forward"],
        [
            [r["model"], f"{r['forward_ms']:.1f}", f"{r['profile_ms']:.1f}", f"{r['profile_over_forward']:.2f}"]
            for r in rows
        ],
    )


def engine_overhead(root: Path) -> str:
    """The training engine against a hand-written loop (docs/training.md), one table per CPU kind measured."""
    names = ("train_throughput.json", "train_throughput-avx2-emulated.json")
    return "\n\n".join(_engine_overhead(_read(root, name)) for name in names if (root / RESULTS / name).exists())


def _engine_overhead(run: dict) -> str:
    rows = run["rows"]
    bf16 = run["environment"]["cpu"].get("bf16_native") and run["args"]["amp"] in ("auto", "bf16")
    precision = "bf16 autocast" if bf16 else "fp32"
    table = markdown(
        ["model", "engine images/s", "plain loop images/s", "engine overhead"],
        [
            [f"{r['model']}{' (small input)' if r['small_input'] else ''}", f"{r['engine_images_per_s']:,.0f}",
             f"{r['plain_images_per_s']:,.0f}", f"{r['engine_overhead']:+.1%}".replace("-", "−")]
            for r in rows
        ],
    )  # fmt: skip
    within = sum(1 for r in rows if r["engine_overhead"] <= 0.05)
    return (
        f"{table}\n\nWithin the 5% budget for {within} of {len(rows)} (a negative overhead is the noise of the "
        f"machine). Training in {precision}; commit {_commit(run)}, CPU {_cpu(run)}."
    )


DATA_PIPELINE_LABELS = {
    "torchvision DataLoader, 0 workers": "torchvision `transforms.v2` per image, `DataLoader`, 0 workers",
    "torchvision DataLoader, 2 workers": "the same with 2 worker processes",
    "convzoo BatchLoader + InputAdapter": "convzoo `BatchLoader` + `InputAdapter` (whole-batch crop and flip)",
}


def data_pipeline(root: Path) -> str:
    """Images/s of the input pipelines (docs/training.md)."""
    measured = _read(root, "data_pipeline.json")["images_per_s"]
    rows = [[DATA_PIPELINE_LABELS.get(k, k), f"{v:,}"] for k, v in measured.items()]
    ours = measured["convzoo BatchLoader + InputAdapter"]
    best_name, best = max(((k, v) for k, v in measured.items() if k.startswith("torchvision")), key=lambda kv: kv[1])
    return (
        f"{markdown(['pipeline', 'images/s'], rows)}\n\nThe batched pipeline is {ours / best:.1f}× faster than the "
        f"best DataLoader setting ({best_name}) and costs {60_000 / ours:.2f} s an epoch of 60,000 images, "
        f"against {60_000 / best:.1f} s."
    )


def readme_demo(root: Path) -> str:
    """The committed `make demo` runs (``convzoo demo``: compare and the lab in one budget), per CPU kind (README)."""
    runs = []
    for demo_name, compare_name in (
        ("demo.json", "results.json"),
        ("demo-avx2-emulated.json", "results-avx2-emulated.json"),
    ):
        if not (root / DEMO_RUNS / demo_name).exists():
            continue
        demo, compare = _read(root, demo_name, DEMO_RUNS), _read(root, compare_name, DEMO_RUNS)
        cpu, rows = demo["cpu"], compare["rows"]
        checked = [row for row in rows if "learns" in row]
        passed = sum(1 for row in checked if row["learns"])
        parts = ", ".join(
            f"{part['part']} " + ("skipped" if part.get("skipped") else f"{part['seconds'] / 60:.1f}")
            for part in demo["parts"]
        )
        precision = "bf16" if compare["plan"]["amp"] == "bf16" else "fp32"
        runs.append(
            f"{demo['seconds'] / 60:.1f} of {demo['budget_minutes']:g} minutes ({parts}) on {cpu['model']} as "
            f"{cpu['label']} ({precision}; learns-check passed by {passed} of the {len(checked)} models it trained, "
            f"{len(rows) - len(checked)} left out; commit `{demo['provenance']['git_commit']}`)"
        )
    return "`make demo`, measured, set-up excluded: " + ("; ".join(runs) or "no committed run yet") + "."


def readme_full_runs(root: Path) -> str:
    """Full Fashion-MNIST runs behind the report's accuracy column (README)."""
    runs = _read(root, "fashion_mnist_full.json")["runs"]
    described = ", ".join(
        f"{run['model']} {run['test_top1']:.1%} after {run['epochs']} epochs (seed {run['seed']}, {_threads(run)})"
        for run in runs
    )
    return f"Recorded so far: {described} (`benchmarks/results/fashion_mnist_full.json`)."


def _threads(run: dict) -> str:
    """The threads the run recorded and the machine's cores, as recorded ("not recorded" where missing)."""
    environment = run.get("environment") or {}
    threads, cores = environment.get("threads"), environment.get("cpu_count")
    if threads is None:
        return "threads not recorded"
    label = (environment.get("cpu") or {}).get("label", "")
    machine = f" of a {cores}-core {label} CPU".replace("  ", " ") if cores else ""
    return f"{threads} thread{'s' if threads != 1 else ''}{machine}"


def readme_deploy(root: Path) -> str:
    """The headline optimized-inference ratios for ResNet-50 (README)."""
    ratio = {
        variant: next(
            r["ratio"]
            for r in _read(root, f"deploy-{variant}.json")["rows"]
            if r["impl"] == "convzoo" and r["model"] == "resnet50"
        )
        for variant in ("compiled-fp32", "compiled-bf16")
    }
    return (
        f"  ResNet-50 through `optimize(compile=True)` runs at {ratio['compiled-fp32']:.2f}× (fp32) and "
        f"{ratio['compiled-bf16']:.2f}× (bf16) the speed of eager torchvision."
    )


LAB_RUNS = Path("docs") / "experiments"


def readme_lab(root: Path) -> str:
    """The lab's committed runs (README): each experiment's claim, verdict, machine and wall time, linked.

    Records judged in parts (``parts: [...]``) list each part's verdict under the claim's; older records, which
    have none, render as before.
    """
    from ..experiments import NAMES

    rows = []
    for name in NAMES:
        record = _read(root, "results.json", LAB_RUNS / name)
        held = {True: "held", False: "did not hold", None: "undecided"}[record["held"]]
        verdict = f"**{held}**"
        if record.get("parts"):
            verdict += "<br>" + "<br>".join(f"{part['name']}: {part['verdict']}" for part in record["parts"])
        cpu = record["provenance"]["environment"]["cpu"]
        rows.append((f"[{name}](docs/experiments/{name}/report.md)", record["claim"], verdict,
                     f"{record['wall_seconds'] / 60:.1f} min, {cpu['label']}"))  # fmt: skip
    return markdown(["experiment", "the lecture's claim", "at this scale", "run"], rows)


def image_pipeline(root: Path) -> str:
    """The streaming image-folder pipeline against torchvision's, and ResNet-50's data wait (docs/finetuning.md)."""
    run = _read(root, "image_pipeline.json")
    medians, wait = run["pipeline_median_images_per_s"], run["resnet50_fine_tuning"]
    rows = [[name, f"{medians[name]:,}", ", ".join(f"{x:,}" for x in run["pipeline_images_per_s"][name])]
            for name in ("torchvision", "convzoo")]  # fmt: skip
    decoders = markdown(
        ["decoder (one process, decode only)", "images/s"],
        [[name, f"{rate:,}"] for name, rate in run["decode_only_images_per_s_one_process"].items()],
    )
    return (
        f"Measured on {_cpu(run)}, commit {_commit(run)}: {run['images']} JPEG photos of 300–900 px, "
        f"batches of {run['batch_size']} at {run['image_size']} px, {run['workers']} workers.\n\n"
        f"{markdown(['pipeline', 'median images/s', 'each pass'], rows)}\n\n"
        f"convzoo / torchvision: **{run['pipeline_ratio_convzoo_over_torchvision']:.2f}×**.\n\n{decoders}\n\n"
        f"Fine-tuning ResNet-50 at {run['image_size']} px ({wait['amp']}, batch {run['batch_size']}, "
        f"{run['workers']} workers, {wait['steps']} steps with warm workers): {wait['step_seconds']:.2f} s a step, "
        f"of which {wait['data_wait_s'] / wait['steps']:.3f} s waiting for data: "
        f"**{wait['data_wait_fraction']:.1%}** of the time."
    )


ONNXRUNTIME_RUNS = (("native", "this CPU's own kernels"), ("avx2-emulated", "PyTorch limited to AVX2"))


def _per_cpu_kind(root: Path, stem: str) -> list[tuple[str, dict | None]]:
    """(what the kind means, its run or None when not measured) for ``STEM-native.json`` and ``STEM-avx2-emulated.json``."""
    runs = []
    for name, meaning in ONNXRUNTIME_RUNS:
        path = root / RESULTS / f"{stem}-{name}.json"
        runs.append((meaning, json.loads(path.read_text()) if path.exists() else None))
    return runs


def onnxruntime_speed(root: Path) -> str:
    """Ours (eager, optimized, compiled) and ONNX Runtime fp32 against eager torchvision, per CPU kind (docs/deploy.md)."""
    parts = []
    for meaning, run in _per_cpu_kind(root, "onnxruntime"):
        if run is None:
            parts.append(f"**{meaning}**: not measured yet.")
            continue
        ratios: dict[str, dict[str, float]] = {}
        for variant, measured in run["runs"].items():
            for row in measured["rows"]:
                label = variant if row["impl"] == "convzoo" else ("ORT" if row["impl"].startswith("onnx") else None)
                if label:
                    ratios.setdefault(row["model"], {})[label] = row["ratio"]
        variants = [v for v in ("eager", "optimized", "compiled") if v in run["runs"]]
        header = ["model", *(f"convzoo {v}" for v in variants), "ONNX Runtime fp32", "best convzoo / ORT"]
        rows = []
        for model, by in ratios.items():
            best = max(by[v] for v in variants)
            rows.append(
                [model, *(f"{by[v]:.3f}×" for v in variants), f"{by['ORT']:.3f}×", f"**{best / by['ORT']:.2f}**"]
            )
        parts.append(f"**{meaning}**: CPU {_cpu(run)}, commit {_commit(run)}.\n\n{markdown(header, rows)}")
    return "\n\n".join(parts)


INT8_TARGET = 2.5  # int8 resnet50 over eager torchvision fp32 (issue 14), on AVX2; more where VNNI or AMX exist


def int8_speed(root: Path) -> str:
    """Every inference path against eager torchvision, and both int8 paths' agreement, per CPU kind (docs/deploy.md)."""
    parts = []
    for meaning, run in _per_cpu_kind(root, "int8_speed"):
        if run is None:
            parts.append(f"**{meaning}**: not measured yet.")
            continue
        speed, agree = run["speed"], run["agreement"]
        rows = [[label, f"{speed['images_per_s'][label]:,}", f"{ratio:.3f}×"]
                for label, ratio in speed["ratio_to_eager_torchvision"].items()]  # fmt: skip
        ours = speed["ratio_to_eager_torchvision"]["convzoo optimized+compiled int8 (PT2E)"]
        top1, same = agree["test_top1"], agree["top1_agreement_with_fp32"]
        parts.append(
            f"**{meaning}**: CPU {_cpu(run)}, commit {_commit(run)}, ONNX Runtime {speed['onnxruntime']}.\n\n"
            f"{markdown(['resnet50, batch 16, 224 px', 'images/s', 'vs eager torchvision'], rows)}\n\n"
            f"PyTorch int8 is {ours:.2f}× eager torchvision fp32: the ≥ {INT8_TARGET}× target is "
            f"{'met' if ours >= INT8_TARGET else '**missed**'}. ONNX Runtime: {speed['convolutions_int8']} "
            f"convolutions int8. On {agree['test_images']:,} Fashion-MNIST test images ({agree['model']}, "
            f"checkpoint sha256 {agree['checkpoint_sha256'][:12]}, top-1 {top1['fp32']:.2%} in fp32), the int8 "
            f"models agree with fp32 on the top-1 class for **{same['pytorch int8']:.2%}** (PyTorch, top-1 "
            f"{top1['pytorch int8']:.2%}) and **{same['onnxruntime int8']:.2%}** (ONNX Runtime, top-1 "
            f"{top1['onnxruntime int8']:.2%}; {agree['convolutions_int8']} convolutions int8)."
        )
    return "\n\n".join(parts)


def inference_profile(root: Path) -> str:
    """Per-operator time of optimized PyTorch and ONNX Runtime on one model (docs/deploy.md)."""
    parts = []
    for meaning, run in _per_cpu_kind(root, "inference_profile"):
        if run is None:
            continue
        ours, theirs = run["pytorch_optimized_ms_per_call"], run["onnxruntime_ms_per_call"]
        conv = run["convolution_ms_per_call"]
        top = lambda ops: ", ".join(f"{k} {v:.0f}" for k, v in list(ops.items())[1:5])
        parts.append(
            f"**{meaning}** ({run['model']}, batch {run['batch']}, ms per call, CPU {_cpu(run)}, commit "
            f"{_commit(run)}): PyTorch `optimize()` {ours['total_ms']:.0f} ms ({top(ours)}); ONNX Runtime "
            f"{theirs['total_ms']:.0f} ms ({top(theirs)}). Convolutions alone: {conv['pytorch']:.0f} ms in oneDNN "
            f"against {conv['onnxruntime']:.0f} ms in ONNX Runtime (its Conv nodes include the fused add and ReLU)."
        )
    return "\n\n".join(parts) or "Not measured yet."


PRECISION = {"None": "fp32", "torch.bfloat16": "bf16 autocast", "torch.float16": "fp16 autocast"}


def train_profile(root: Path) -> str:
    """Where a training step's time goes, per CPU kind (docs/training.md)."""
    parts = []
    for meaning, run in _per_cpu_kind(root, "train_profile"):
        if run is None:
            continue
        ops = ", ".join(f"{op} {ms:.0f}" for op, ms in list(run["ms_per_step"].items())[:5])
        parts.append(
            f"**{meaning}** ({run['model']}, batch {run['batch']}, {PRECISION.get(run['amp'], run['amp'])} "
            f"{'channels-last' if run['channels_last'] else 'NCHW'}, CPU {_cpu(run)}, commit {_commit(run)}): "
            f"{run['step_ms']:.0f} ms a step, {run['batch'] / run['step_ms'] * 1000:.0f} images/s ({ops} ms); convolutions **{run['convolution_share']:.0%}** of it "
            f"at {run['convolution_gmacs_per_s']} G multiply-adds/s, batch norm {run['batch_norm_share']:.0%}."
        )
    return "\n\n".join(parts) or "Not measured yet."
