"""What a run leaves behind: its configuration with the git commit and environment, and per-epoch metrics."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ..provenance import environment, git_commit

__all__ = ["RunLog", "environment", "git_commit"]


class RunLog:
    """Appends one row per epoch to ``metrics.jsonl`` and ``metrics.csv``; optional TensorBoard."""

    def __init__(self, run_dir: Path, *, enabled: bool = True, tensorboard: bool = False) -> None:
        self.run_dir, self.enabled = run_dir, enabled
        self.writer = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(run_dir / "tensorboard"))
            except ImportError:
                print("TensorBoard is not installed; logging to metrics.jsonl/csv only")

    def write_config(self, config: dict[str, Any], extra: dict[str, Any]) -> None:
        if not self.enabled:
            return
        payload = {"config": config, "git_commit": git_commit(), "environment": environment(), **extra}
        (self.run_dir / "config.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")

    def log(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.run_dir / "metrics.jsonl", "a") as file:
            file.write(json.dumps(row) + "\n")
        csv_path = self.run_dir / "metrics.csv"
        new = not csv_path.exists()
        with open(csv_path, "a", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)
        if self.writer is not None:
            for key, value in row.items():
                if isinstance(value, (int, float)) and key != "epoch":
                    self.writer.add_scalar(key, value, row["epoch"])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
