"""Peak memory of a piece of work (one model training or generating): on CUDA
`torch.cuda.max_memory_allocated` after `reset_peak_memory_stats`; on CPU the process's resident-set
high-water mark (VmHWM), reset before the work (`/proc/self/clear_refs` 5, Linux >= 4.0). Where the reset
is refused, `ru_maxrss` is the process's peak since it started (kind `peak_rss_process`), said as such.
The RSS is process-wide: weights, libraries and Python included."""

from __future__ import annotations

import resource
import sys
from pathlib import Path


class PeakMemory:
    """The peak memory of one piece of work: `start()` before, `read()` after; `kind` says what was measured."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.kind = "cuda_max_allocated" if device.startswith("cuda") else "peak_rss"

    def start(self) -> None:
        if self.kind == "cuda_max_allocated":
            import torch

            torch.cuda.reset_peak_memory_stats(self.device)
            return
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            self.kind = "peak_rss_process"

    def read(self) -> int:
        if self.kind == "cuda_max_allocated":
            import torch

            return int(torch.cuda.max_memory_allocated(self.device))
        if self.kind == "peak_rss":
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(rss if sys.platform == "darwin" else rss * 1024)


def format_bytes(n: int | float | None) -> str:
    """A byte count for a table: 1024-based, one decimal (`1.4 GB`, `812.0 MB`, `512 B`); "-" for none."""
    if not n:
        return "-"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return "-"
