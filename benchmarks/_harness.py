"""What every benchmark shares: repeated measurement, the verdict, one line per target.

A benchmark measures its figure at least five times and reports the median with the spread
(lowest–highest), beside a baseline or a limit measured in the same run (a raw COPY of the
same rows, a numpy expression of the same rule), so the verdict reads "PASS" or "BELOW" and
can fail. Each verdict is printed as a line and, when NEUROCART_BENCH_RESULTS names a file,
appended to it as one JSON object, so that `make bench` can print one table of them all:

    .venv/bin/python benchmarks/_harness.py table results.jsonl [table.md]

(`make bench` does this; it exits non-zero when a target is BELOW.)
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

# A benchmark signs its throwaway databases' audit logs with a throwaway key (a server it
# starts inherits it), as the tests do.
os.environ.setdefault("NEUROCART_AUDIT_KEY", f"bench:{secrets.token_hex(32)}")

RUNS = 5
"""Repetitions of every measurement (the median is the figure)."""
RESULTS_ENV = "NEUROCART_BENCH_RESULTS"

T = TypeVar("T")


@dataclass(frozen=True)
class Sample:
    """Repeated measurements of one figure."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def spread(self, fmt: str = ",.0f", unit: str = "") -> str:
        return f"{self.low:{fmt}}–{self.high:{fmt}}{unit} (n={len(self.values)})"


def sample(values: Sequence[float]) -> Sample:
    if not values:
        raise ValueError("no measurement")
    return Sample(tuple(float(v) for v in values))


def timed(fn: Callable[[], T], runs: int = RUNS, cpu: bool = False) -> tuple[Sample, T]:
    """Run `fn` `runs` times; seconds of each run (process CPU time if `cpu`) and the last result.

    CPU time is the one-core figure for single-threaded numpy work on a machine whose other
    cores are busy; wall time for anything that waits on a database or a socket.
    """
    clock = time.process_time if cpu else time.perf_counter
    seconds: list[float] = []
    out: Any = None
    for _ in range(runs):
        start = clock()
        out = fn()
        seconds.append(clock() - start)
    return sample(seconds), out


def rates(count: float, seconds: Sample) -> Sample:
    """Per-second rates of `count` items from a sample of durations."""
    return sample([count / s for s in seconds.values])


def ratios(numerator: Sample, denominator: Sample) -> Sample:
    """Run-by-run ratios of two samples measured in alternation (same machine state)."""
    return sample([a / b for a, b in zip(numerator.values, denominator.values, strict=True)])


@dataclass(frozen=True)
class Verdict:
    benchmark: str
    target: str
    figure: str
    spread: str
    passed: bool
    baseline: str = ""

    @property
    def word(self) -> str:
        return "PASS" if self.passed else "BELOW"


def report(
    benchmark: str,
    target: str,
    figure: str,
    spread: str,
    passed: bool,
    baseline: str = "",
) -> Verdict:
    """Print one target's verdict and record it for the `make bench` table."""
    verdict = Verdict(benchmark, target, figure, spread, bool(passed), baseline)
    extra = f"; baseline {baseline}" if baseline else ""
    print(f"[{verdict.word}] {benchmark}: {target} — {figure} (spread {spread}{extra})", flush=True)
    path = os.environ.get(RESULTS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(verdict), ensure_ascii=False) + "\n")
    return verdict


def at_least(
    benchmark: str,
    target: str,
    figure: Sample,
    limit: float,
    fmt: str = ",.0f",
    unit: str = "",
    baseline: str = "",
) -> Verdict:
    """PASS when the median is ≥ `limit`."""
    return report(
        benchmark,
        target,
        f"{figure.median:{fmt}}{unit}",
        figure.spread(fmt, unit),
        figure.median >= limit,
        baseline,
    )


def at_most(
    benchmark: str,
    target: str,
    figure: Sample,
    limit: float,
    fmt: str = ",.2f",
    unit: str = "",
    baseline: str = "",
) -> Verdict:
    """PASS when the median is ≤ `limit`."""
    return report(
        benchmark,
        target,
        f"{figure.median:{fmt}}{unit}",
        figure.spread(fmt, unit),
        figure.median <= limit,
        baseline,
    )


def table(path: Path) -> str:
    """The recorded verdicts as one markdown table."""
    lines = [
        "| benchmark | target | figure (median) | spread (min–max) | baseline | verdict |",
        "|---|---|---|---|---|---|",
    ]
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    for r in rows:
        word = "PASS" if r["passed"] else "**BELOW**"
        cells = [r["benchmark"], r["target"], r["figure"], r["spread"], r["baseline"], word]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    passed = sum(1 for r in rows if r["passed"])
    lines.append("")
    lines.append(f"{passed} of {len(rows)} targets PASS")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """`table RESULTS [OUT.md]`: print (and write) the table, exit 1 if any target is BELOW;
    `failed NAME`: record that benchmark NAME did not run to the end."""
    if len(argv) in (3, 4) and argv[1] == "table":
        path = Path(argv[2])
        if not path.exists():
            print(f"no results in {path}", file=sys.stderr)
            return 1
        text = table(path)
        print(text)
        if len(argv) == 4:
            Path(argv[3]).write_text(text + "\n", "utf-8")
        rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
        return 0 if rows and all(r["passed"] for r in rows) else 1
    if len(argv) == 3 and argv[1] == "failed":
        report(argv[2], "the script runs to the end", "failed", "—", False)
        return 0
    print("usage: _harness.py table RESULTS.jsonl [OUT.md] | failed NAME", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
