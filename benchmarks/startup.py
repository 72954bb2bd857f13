"""Start-up: importing the API application, and a server on the demo ward until it is healthy.

Five times each, in fresh processes:

- `import neurocart.api.app` — CPU seconds of the child (user + system; the figure a busy
  shared machine least distorts), target ≤ 1 s; beside it, the same measure for importing
  only the libraries the app cannot do without (FastAPI, SQLAlchemy's ORM, pydantic), the
  floor of any start-up;
- `neurocart serve` on a demo database (`neurocart demo --no-serve`, built once) until
  `GET /api/v1/health` answers 200 — wall seconds, target ≤ 2 s.

It also checks that the import loads none of the analytics libraries (numpy, pandas,
lifelines, matplotlib, plotly, scipy, WeasyPrint): those are loaded when a calculation, a
cohort page or a report needs them.

The children run from compiled bytecode, as an installed server does (pip compiles on
install; a checkout writes its caches on the first run): a private cache folder
(`PYTHONPYCACHEPREFIX`) is filled by one import first, even where the environment says
`PYTHONDONTWRITEBYTECODE`, and that first, compiling import is printed beside the figure.

    .venv/bin/python benchmarks/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

import _harness as h

IMPORT_TARGET_S = 1.0
HEALTHY_TARGET_S = 2.0
HEAVY = ("numpy", "pandas", "lifelines", "matplotlib", "plotly", "scipy", "weasyprint")
FLOOR = "import fastapi, sqlalchemy.orm, pydantic"
CLI = Path(sys.executable).with_name("neurocart")
SECRET = "benchmark-secret-key-0123456789abcdef0123"


_CACHE = tempfile.TemporaryDirectory(prefix="neurocart-pycache-")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {
    "PYTHONPYCACHEPREFIX": _CACHE.name,
    "NEUROCART_SECRET_KEY": SECRET,
}
"""The children's environment: bytecode cached in a folder of this run's own."""


def child_cpu(code: str) -> tuple[float, str]:
    """CPU seconds a fresh interpreter spends running `code`, and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=ENV
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used so far (Linux /proc): the part of
    a start-up a busy shared machine does not stretch."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_to_healthy(database: Path) -> tuple[float, float]:
    """Wall seconds from launching `neurocart serve` to the first healthy answer, and the CPU
    seconds the server used by then."""
    port = free_port()
    env = ENV
    start = time.perf_counter()
    process = subprocess.Popen(
        [str(CLI), "serve", "--port", str(port), "--database-url", f"sqlite:///{database}",
         "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        deadline = start + 60
        while time.perf_counter() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).is_success:
                    return time.perf_counter() - start, cpu_seconds(process.pid)
            except httpx.TransportError:
                time.sleep(0.02)
        raise RuntimeError("the server did not become healthy within 60 s")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=h.RUNS)
    args = parser.parse_args()

    probe = (
        f"import sys, neurocart.api.app; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    compiling, _ = child_cpu(probe)  # fills the bytecode cache
    app_s: list[float] = []
    floor_s: list[float] = []
    loaded = ""
    for _ in range(args.runs):
        cpu, loaded = child_cpu(probe)
        app_s.append(cpu)
        floor_s.append(child_cpu(FLOOR)[0])
    floor = h.sample(floor_s)
    h.at_most(
        "startup",
        f"import neurocart.api.app ≤ {IMPORT_TARGET_S:g} s CPU",
        h.sample(app_s),
        IMPORT_TARGET_S,
        unit=" s",
        baseline=(
            f"the libraries alone {floor.median:.2f} s; the first import, compiling "
            f"neurocart's sources, {compiling:.2f} s"
        ),
    )
    h.report(
        "startup",
        "importing the app loads no heavy analytics (" + ", ".join(HEAVY) + ")",
        loaded.strip() or "none loaded",
        "—",
        not loaded.strip(),
    )

    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "demo.db"
        subprocess.run(
            [str(CLI), "demo", "--no-serve", "--db", str(database)],
            check=True,
            stdout=subprocess.DEVNULL,
            env=ENV,
        )
        starts = [time_to_healthy(database) for _ in range(args.runs)]
        healthy = h.sample([wall for wall, _ in starts])
        server_cpu = h.sample([cpu for _, cpu in starts])
    h.at_most(
        "startup",
        f"neurocart serve on the demo ward healthy ≤ {HEALTHY_TARGET_S:g} s (wall)",
        healthy,
        HEALTHY_TARGET_S,
        unit=" s",
        baseline=(
            f"server CPU by then {server_cpu.median:.2f} s ({server_cpu.spread('.2f', ' s')}); "
            f"import alone {h.sample(app_s).median:.2f} s CPU"
        ),
    )


if __name__ == "__main__":
    main()
