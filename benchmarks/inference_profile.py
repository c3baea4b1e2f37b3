# SPDX-License-Identifier: MIT
"""Where CPU inference time goes: PyTorch (optimized) and ONNX Runtime, operator by operator (docs/deploy.md).

    python benchmarks/inference_profile.py [MODEL] [--avx2]

One model (default resnet50), batch 16 at 224 px, fp32. ``optimize()`` (BN folded, channels-last, no
compile) runs under ``torch.profiler`` and the same model exported to ONNX Runtime runs with its own
profiler, five timed calls each after two warm-ups. Both are grouped by operator kind, with the share of
the total, and the total convolution time of each is compared: when the convolutions alone differ, the
gap is in the convolution kernels (oneDNN against ONNX Runtime's MLAS), not in the graph around them.
``--avx2`` limits PyTorch to AVX2 kernels, as ``onnxruntime_speed.py --avx2`` does (it re-runs itself with
the two variables set, since they must be set before torch loads).

Writes ``benchmarks/results/inference_profile-{native,avx2-emulated}.json``.
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
from pathlib import Path

CALLS = 5


def torch_profile(model, x) -> dict[str, float]:
    import torch
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode():
        for _ in range(2):
            model(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(CALLS):
                model(x)
    by_op: dict[str, float] = collections.Counter()
    for event in prof.key_averages():
        if event.key.startswith("aten::") and event.key in LEAF_OPS:
            by_op[event.key] += event.self_cpu_time_total / 1000 / CALLS  # ms per call
    total = sum(e.self_cpu_time_total for e in prof.key_averages()) / 1000 / CALLS
    return {"total_ms": round(total, 2), **{k: round(v, 2) for k, v in by_op.most_common()}}


LEAF_OPS = {  # the kernels that do the work; the rest is dispatch around them
    "aten::mkldnn_convolution",
    "aten::convolution_overrideable",
    "aten::_convolution",
    "aten::thnn_conv2d",
    "aten::addmm",
    "aten::relu_",
    "aten::relu",
    "aten::add_",
    "aten::add",
    "aten::max_pool2d_with_indices",
    "aten::adaptive_avg_pool2d",
    "aten::mean",
    "aten::hardtanh_",
    "aten::silu_",
    "aten::sigmoid",
    "aten::mul",
    "aten::clamp_min_",
    "aten::copy_",
    "aten::contiguous",
    "aten::linear",
}


def onnxruntime_profile(path: Path, x) -> dict[str, float]:
    from convzoo.deploy.export import onnxruntime_session

    session = onnxruntime_session(path, profile_prefix=str(path.parent / "ort_profile"))
    feed = {"images": x.numpy()}
    for _ in range(2 + CALLS):
        session.run(None, feed)
    events = json.loads(Path(session.end_profiling()).read_text())
    runs = [e for e in events if e.get("name") == "model_run"][-CALLS:]
    start = runs[0]["ts"]
    by_op: dict[str, float] = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["ts"] >= start and event["name"].endswith("_kernel_time"):
            by_op[event["args"]["op_name"]] += event["dur"] / 1000 / CALLS
    total = sum(e["dur"] for e in runs) / 1000 / CALLS
    return {"total_ms": round(total, 2), **{k: round(v, 2) for k, v in by_op.most_common()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default="resnet50")
    parser.add_argument("--avx2", action="store_true")
    parser.add_argument("--allow-dirty", action="store_true")
    args = parser.parse_args()
    if args.avx2:
        from convzoo.runtime import rerun_limited_to_avx2

        rerun_limited_to_avx2()
    import torch

    import convzoo
    from convzoo.deploy import optimize
    from convzoo.deploy.export import export
    from convzoo.provenance import provenance

    record = provenance(allow_dirty=args.allow_dirty)
    model = convzoo.create_model(args.model).eval()
    x = torch.randn(16, 3, 224, 224)
    with tempfile.TemporaryDirectory() as directory:
        path = export(model, x[:1], "onnx", Path(directory) / "model.onnx")
        ort = onnxruntime_profile(path, x)
    fast = optimize(model, x, compile=False, channels_last=True).module
    ours = torch_profile(fast, x)
    conv = {
        "pytorch": sum(v for k, v in ours.items() if "conv" in k),  # aten::mkldnn_convolution, ...
        "onnxruntime": sum(v for k, v in ort.items() if "Conv" in k),
    }  # Conv, FusedConv
    result = {
        **record,
        "model": args.model,
        "batch": 16,
        "size": 224,
        "calls": CALLS,
        "pytorch_optimized_ms_per_call": ours,
        "onnxruntime_ms_per_call": ort,
        "convolution_ms_per_call": {k: round(v, 2) for k, v in conv.items()},
    }
    name = "avx2-emulated" if args.avx2 else "native"
    out = Path(__file__).parent / "results" / f"inference_profile-{name}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("convolution_ms_per_call",)}), json.dumps(ours), json.dumps(ort), sep="\n")


if __name__ == "__main__":
    main()
