# SPDX-License-Identifier: MIT
"""Inference and cost-model figures (docs/deploy.md, docs/benchmarks.md) rendered from ``benchmarks/results/``.

Ratios keep three decimals, so a figure is never rounded up to its target.
"""

from __future__ import annotations

from pathlib import Path

from convzoo.formats import markdown

from .records import commit_label, cpu_label, per_cpu_kind, read_record

DEPLOY_VARIANTS = (
    ("eager", "eager"),
    ("optimized-fp32", "`--optimize` fp32"),
    ("compiled-fp32", "`--optimize --compile` fp32"),
    ("optimized-bf16", "`--optimize` bf16"),
    ("compiled-bf16", "`--optimize --compile` bf16"),
)


DEPLOY_TARGETS = {"resnet50": "fp32 ≥ 2.0×, bf16 ≥ 5×", "efficientnet_b0": "fp32 ≥ 1.5×", "mobilenet_v2": "fp32 ≥ 1.5×"}


def deploy_speed(root: Path) -> str:
    """Ratios to eager torchvision per model and variant (docs/deploy.md), three decimals: no rounding up to a
    target."""
    ratios: dict[str, dict[str, float]] = {}
    for variant, _ in DEPLOY_VARIANTS:
        for row in read_record(root, f"deploy-{variant}.json")["rows"]:
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
    run = read_record(root, "deploy-eager.json")
    return f"{markdown(header, rows)}\n\nCommit {commit_label(run)}, CPU {cpu_label(run)}."


def eager_speed(root: Path) -> str:
    """Eager forward time against the reference library (docs/benchmarks.md)."""
    run = read_record(root, "eager_speed.json")
    header = ["model", "reference", "ours (ms)", "reference (ms)", "speed ratio"]
    rows = [
        [r["model"], r["reference"], f"{r['ours_ms']:.1f}", f"{r['reference_ms']:.1f}", f"{r['speed_ratio']:.3f}"]
        for r in run["rows"]
    ]
    lines = [markdown(header, rows)]
    lowest = min(run["rows"], key=lambda row: row["speed_ratio"])
    lines += [
        "",
        (
            f"Lowest ratio: {lowest['model']} {lowest['speed_ratio']:.3f}. Commit {commit_label(run)}, "
            f"CPU {cpu_label(run)}."
        ),
    ]
    return "\n".join(lines)


def profile_speed(root: Path) -> str:
    """The cost model's time against a plain forward pass (docs/benchmarks.md)."""
    rows = read_record(root, "profile_speed.json")["rows"]
    return markdown(
        ["model", "forward (ms)", "profile (ms)", "profile / forward"],
        [
            [r["model"], f"{r['forward_ms']:.1f}", f"{r['profile_ms']:.1f}", f"{r['profile_over_forward']:.2f}"]
            for r in rows
        ],
    )


def onnx_export(root: Path) -> str:
    """The ONNX export sweep in one sentence per finding (docs/deploy.md), counted from the rows."""
    rows = read_record(root, "onnx_export_all.json")["rows"]
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
            f"{max(r['max_abs_logit'] for r in large):.2g} at random initialization, where the check allows 1e-4 of "
            "the largest logit; their largest difference relative to it is "
            f"{worst['max_abs_difference'] / worst['max_abs_logit']:.1e} "
            f"({worst['model']})."
        )
    return " ".join(lines)


def bf16_agreement(root: Path) -> str:
    """bf16 against fp32 predictions on real test images (docs/deploy.md)."""
    run = read_record(root, "bf16_agreement.json")
    return (
        f"On the {run['images']:,} Fashion-MNIST test images, optimized bf16{' (compiled)' if run['compile'] else ''} "
        f"and fp32 agree on the top-1 class for **{run['top1_agreement']:.2%}** of the images; top-1 accuracy "
        f"{run['top1_fp32']:.2%} in fp32, {run['top1_bf16']:.2%} in bf16 ({run['model']}, checkpoint "
        f"`{run['checkpoint']}` sha256 {run.get('checkpoint_sha256', 'not recorded')[:12]}; commit "
        f"{commit_label(run)}, CPU {cpu_label(run)})."
    )


def onnxruntime_speed(root: Path) -> str:
    """Ours (eager, optimized, compiled) and ONNX Runtime fp32 against eager torchvision, per CPU kind
    (docs/deploy.md)."""
    parts = []
    for meaning, run in per_cpu_kind(root, "onnxruntime"):
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
        parts.append(f"**{meaning}**: CPU {cpu_label(run)}, commit {commit_label(run)}.\n\n{markdown(header, rows)}")
    return "\n\n".join(parts)


INT8_TARGET = 2.5  # int8 resnet50 over eager torchvision fp32, on AVX2; more where VNNI or AMX exist


def int8_speed(root: Path) -> str:
    """Every inference path against eager torchvision, and both int8 paths' agreement, per CPU kind (docs/deploy.md)."""
    parts = []
    for meaning, run in per_cpu_kind(root, "int8_speed"):
        if run is None:
            parts.append(f"**{meaning}**: not measured yet.")
            continue
        speed, agree = run["speed"], run["agreement"]
        rows = [
            [label, f"{speed['images_per_s'][label]:,}", f"{ratio:.3f}×"]
            for label, ratio in speed["ratio_to_eager_torchvision"].items()
        ]
        ours = speed["ratio_to_eager_torchvision"]["convzoo optimized+compiled int8 (PT2E)"]
        top1, same = agree["test_top1"], agree["top1_agreement_with_fp32"]
        parts.append(
            f"**{meaning}**: CPU {cpu_label(run)}, commit {commit_label(run)}, ONNX Runtime {speed['onnxruntime']}.\n\n"
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
    for meaning, run in per_cpu_kind(root, "inference_profile"):
        if run is None:
            continue
        ours, theirs = run["pytorch_optimized_ms_per_call"], run["onnxruntime_ms_per_call"]
        conv = run["convolution_ms_per_call"]

        def top(ops):
            return ", ".join(f"{k} {v:.0f}" for k, v in list(ops.items())[1:5])

        parts.append(
            f"**{meaning}** ({run['model']}, batch {run['batch']}, ms per call, CPU {cpu_label(run)}, commit "
            f"{commit_label(run)}): PyTorch `optimize()` {ours['total_ms']:.0f} ms ({top(ours)}); ONNX Runtime "
            f"{theirs['total_ms']:.0f} ms ({top(theirs)}). Convolutions alone: {conv['pytorch']:.0f} ms in oneDNN "
            f"against {conv['onnxruntime']:.0f} ms in ONNX Runtime (its Conv nodes include the fused add and ReLU)."
        )
    return "\n\n".join(parts) or "Not measured yet."


def cpu_peers(root: Path) -> str:
    """The lecture's line-up on every CPU inference path, per batch and CPU kind (docs/deploy.md): speed over the
    eager reference, and convzoo's fp32 deployment path over the faster peer (below 1: convzoo trails)."""
    parts = []
    for meaning, run in per_cpu_kind(root, "cpu_peers"):
        if run is None:
            parts.append(f"**{meaning}**: not measured yet.")
            continue
        by_batch: dict[int, list[list[str]]] = {}
        worst = {}
        for measured in run["runs"]:
            if measured["dtype"] != "fp32":
                continue
            for batch in sorted({row["batch"] for row in measured["rows"]}):
                rows = {_path(row["impl"]): row for row in measured["rows"] if row["batch"] == batch}
                reference = next(row for label, row in rows.items() if label == "reference")
                peers = {label: rows[label]["ratio"] for label in ("ONNX Runtime", "OpenVINO") if label in rows}
                ours = rows["convzoo"]["ratio"]
                against_best = ours / max(peers.values())
                worst[(measured["model"], batch)] = against_best
                agreement = max(rows[label]["max_relative_difference"] for label in ("convzoo", *peers))
                by_batch.setdefault(batch, []).append(
                    [
                        measured["model"],
                        f"{reference['latency_ms']:,.1f} ms ({reference['impl'].split(':')[0]})",
                        f"{ours:.3f}×",
                        *(f"{peers[label]:.3f}×" for label in ("ONNX Runtime", "OpenVINO")),
                        f"**{against_best:.2f}**",
                        f"{agreement:.1e}",
                    ]
                )
        header = [
            "model",
            "eager reference fp32",
            "convzoo fp32 (optimize + compile)",
            "ONNX Runtime fp32",
            "OpenVINO fp32",
            "convzoo / faster peer",
            "max output difference",
        ]
        tables = "\n\n".join(f"Batch {batch}:\n\n{markdown(header, rows)}" for batch, rows in by_batch.items())
        ahead = sum(value >= 1 for value in worst.values())
        parts.append(
            f"**{meaning}**: CPU {cpu_label(run)}, commit {commit_label(run)}; convzoo's fp32 path is at least as "
            f"fast as the faster peer in {ahead} of {len(worst)} model and batch pairs.\n\n{tables}"
        )
    return "\n\n".join(parts)


def _path(impl: str) -> str:
    """A bench row's implementation as the table names it."""
    if impl == "convzoo":
        return "convzoo"
    if impl.startswith("onnxruntime"):
        return "ONNX Runtime"
    if impl.startswith("openvino"):
        return "OpenVINO"
    return "reference"
