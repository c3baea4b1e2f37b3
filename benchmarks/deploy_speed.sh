#!/usr/bin/env bash
# Optimized inference against eager torchvision (issue 6 targets), batch 16 at 224 on the CPU.
# Every line is a `convzoo bench --against torchvision` run; results land in benchmarks/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results
mkdir -p "$out"
models="resnet50 efficientnet_b0 mobilenet_v2"
common="--batch 16 --size 224 --against torchvision --repeats 5 --no-memory --format json"
convzoo bench $models $common                                   > "$out/deploy-eager.json"
convzoo bench $models $common --optimize                        > "$out/deploy-optimized-fp32.json"
convzoo bench $models $common --optimize --compile              > "$out/deploy-compiled-fp32.json"
convzoo bench $models $common --optimize --dtype bf16           > "$out/deploy-optimized-bf16.json"
convzoo bench $models $common --optimize --compile --dtype bf16 > "$out/deploy-compiled-bf16.json"
python - <<'PY'
import json, pathlib
for path in sorted(pathlib.Path("benchmarks/results").glob("deploy-*.json")):
    for row in json.loads(path.read_text()):
        if row["impl"] == "convzoo":
            print(f"{path.stem:28s} {row['model']:16s} {row['variant']:22s} {row['dtype']:5s} {row['images_per_s']:8.1f} img/s  x{row['ratio']:.2f} vs eager torchvision")
PY
