# SPDX-License-Identifier: MIT
"""What a run leaves behind: its configuration with the git commit and environment, and per-epoch metrics."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from .. import files
from ..errors import OutputError
from ..formats import to_json
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
        files.write_text(self.run_dir / "config.json", to_json(payload, indent=2, default=str) + "\n")

    def log(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        files.append_text(self.run_dir / "metrics.jsonl", to_json(row) + "\n")
        csv_path = self.run_dir / "metrics.csv"
        line = io.StringIO()
        writer = csv.DictWriter(line, fieldnames=list(row))
        if not csv_path.exists():
            writer.writeheader()
        writer.writerow(row)
        files.append_text(csv_path, line.getvalue())
        if self.writer is not None:
            for key, value in row.items():
                if isinstance(value, (int, float)) and key != "epoch":
                    self.writer.add_scalar(key, value, row["epoch"])

    def catch_up(self, row: dict[str, Any] | None) -> None:
        """Log ``row`` (the checkpoint's last finished epoch) if a crash came between its checkpoint and its row."""
        if not self.enabled or row is None:
            return
        if self.last_logged_epoch() < row["epoch"]:
            self.log(row)

    def last_logged_epoch(self) -> int:
        path = self.run_dir / "metrics.jsonl"
        if not path.exists():
            return 0
        try:
            text = files.read_input(path, limit=files.READ_LIMIT, follow_links=False)
        except files.NotRegularFile as error:
            raise OutputError(f"{path} is {error.strerror}; convzoo does not use it: remove it") from None
        lines = text.decode(errors="replace").splitlines()
        for line in reversed(lines):
            try:
                return int(json.loads(line)["epoch"])
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash
        return 0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
