"""Training curves on disk: ``metrics.jsonl``, ``metrics.csv`` and a ``metrics.png`` plot.

``metrics.jsonl`` holds one record per line: ``{"step", "split", "time", <name>: value}``.
``metrics.csv`` holds the same numbers in long form (``step,split,metric,value``), so new
metric names never change its columns and both files are append-only.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from pathlib import Path

from musiclm.io import atomic_path, write_text_atomic

JSONL, CSV, PNG = "metrics.jsonl", "metrics.csv", "metrics.png"


class MetricsLog:
    """Append metric records and redraw the plot; a disabled log (non-main process) is a
    no-op, so callers need no ``if`` around it.

    Args:
        out_dir: the run folder.
        resume_step: continue an earlier run from this step: records after it (logged
            after the checkpoint being resumed) are dropped. ``None`` starts afresh.
    """

    def __init__(
        self, out_dir: str | os.PathLike, *, enabled: bool = True, resume_step: int | None = None
    ):
        self.out_dir = Path(out_dir)
        self.enabled = enabled
        self.records: list[dict] = []
        if not enabled:
            return
        if resume_step is not None:
            self.records = [r for r in read_metrics(self.out_dir) if r["step"] <= resume_step]
        self._rewrite()

    def log(self, step: int, split: str, metrics: dict[str, float]) -> None:
        """Record ``metrics`` (plain floats) of ``split`` ("train", "val") at ``step``."""
        if not self.enabled:
            return
        record = {"step": step, "split": split, "time": round(time.time(), 3)}
        record.update({k: float(v) for k, v in metrics.items()})
        self.records.append(record)
        with open(self.out_dir / JSONL, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        with open(self.out_dir / CSV, "a", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows(_rows(record))

    def _rewrite(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.out_dir / JSONL, "".join(json.dumps(r) + "\n" for r in self.records))
        with atomic_path(self.out_dir / CSV) as tmp, open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["step", "split", "metric", "value"])
            for r in self.records:
                w.writerows(_rows(r))

    def plot(self) -> Path | None:
        """Redraw ``metrics.png``: one panel per metric, train and val curves."""
        if not self.enabled or not self.records:
            return None
        return plot_metrics(self.records, self.out_dir / PNG)


def _rows(record: dict) -> list[list]:
    skip = ("step", "split", "time")
    return [[record["step"], record["split"], k, v] for k, v in record.items() if k not in skip]


def read_metrics(out_dir: str | os.PathLike) -> list[dict]:
    """The records of ``metrics.jsonl`` (a torn last line from a killed job is skipped)."""
    path = Path(out_dir) / JSONL
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def plot_metrics(records: list[dict], path: str | os.PathLike) -> Path:
    """Draw every metric of ``records`` against step, one panel each, to a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: no global state, no display needed

    names = sorted({k for r in records for k in r if k not in ("step", "split", "time")})
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(4.5 * cols, 3.2 * rows), layout="tight")
    FigureCanvasAgg(fig)
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        for split, style in (("train", "-"), ("val", "o-")):
            pts = [(r["step"], r[name]) for r in records if r["split"] == split and name in r]
            if pts:
                ax.plot(*zip(*pts), style, label=split, markersize=3)
        values = [r[name] for r in records if name in r]
        if "loss" in name and values and min(values) > 0:
            ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    return Path(path)
