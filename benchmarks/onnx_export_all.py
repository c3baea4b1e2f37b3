# SPDX-License-Identifier: MIT
"""Export every registered model to ONNX and check it in onnxruntime against PyTorch.

    python benchmarks/onnx_export_all.py            # all models, 10 classes, batch 2 exported, batch 3 checked

Each model is exported at its default input size (CIFAR nets at 32) with a dynamic batch axis and
run in onnxruntime on a *different* batch size; the max absolute difference of the logits must be
≤ 1e-4 (× the largest logit where that exceeds 1: random-weight deep nets reach logits of 1e5). Models
that cannot be exported are listed with the reason. Writes ``benchmarks/results/onnx_export_all.json``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import torch

import convzoo
from convzoo.deploy.export import export, onnx_agrees
from convzoo.provenance import provenance
from convzoo.registry import get_entry


def main() -> None:
    record = provenance(allow_dirty="--allow-dirty" in sys.argv)  # the only option
    rows = []
    for name in convzoo.list_models():
        size = get_entry(name).default_input_size[-1]
        model = convzoo.create_model(name, num_classes=10).eval()
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            try:
                path = export(model, torch.randn(2, 3, size, size), "onnx", Path(folder) / "model.onnx")
                ok, difference, scale = onnx_agrees(path, model, torch.randn(3, 3, size, size))
                row = {"model": name, "size": size, "max_abs_difference": difference, "max_abs_logit": scale, "ok": ok}
            except Exception as error:  # noqa: BLE001  (record why, go on with the next model)
                row = {
                    "model": name,
                    "size": size,
                    "ok": False,
                    "error": f"{type(error).__name__}: {str(error).splitlines()[0][:300]}",
                }
        row["seconds"] = round(time.perf_counter() - start, 1)
        rows.append(row)
        print(row, flush=True)
    out = Path(__file__).parent / "results" / "onnx_export_all.json"
    out.write_text(json.dumps({**record, "torch": torch.__version__, "rows": rows}, indent=2) + "\n")
    failed = [r["model"] for r in rows if not r["ok"]]
    print(f"{len(rows) - len(failed)} of {len(rows)} exported and verified; failed: {failed or 'none'}")


if __name__ == "__main__":
    main()
