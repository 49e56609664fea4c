"""Run the benchmarks and print one table of their figures.

    python benchmarks/run.py                 # every benchmarks/bench_*.py
    python benchmarks/run.py content telegram   # only bench_content.py and bench_telegram.py

Each module is imported by file and its `main()` returns a dict of figures. A module that is not there
(yet) is skipped with a note; one that fails is reported and the others still run (exit status 1).
"""

from __future__ import annotations

import importlib.util
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def available() -> dict[str, Path]:
    """Benchmark name (bench_NAME.py) → file, in name order."""
    return {path.stem.removeprefix("bench_"): path for path in sorted(HERE.glob("bench_*.py"))}


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def fmt(value: object) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() and abs(value) >= 1 else f"{value:.3f}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    for path in (str(ROOT), str(HERE)):
        if path not in sys.path:
            sys.path.insert(0, path)
    found = available()
    wanted = [name.removeprefix("bench_").removesuffix(".py") for name in argv] or list(found)
    rows: list[tuple[str, str, str]] = []
    status = 0
    for name in wanted:
        path = found.get(name)
        if path is None:
            print(
                f"{name}: no benchmarks/bench_{name}.py (have: {', '.join(found) or 'none'})", file=sys.stderr
            )
            rows.append((name, "(not present)", "—"))
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            figures = load(name, path).main()
        except Exception:  # noqa: BLE001 - one failing benchmark must not hide the others
            traceback.print_exc()
            rows.append((name, "(failed, see above)", "—"))
            status = 1
            continue
        for figure, value in figures.items():
            rows.append((name, figure, fmt(value)))
        print(f"  {name} took {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    if rows:
        widths = [max(len(row[i]) for row in rows + [("benchmark", "figure", "value")]) for i in range(3)]
        line = f"{{:{widths[0]}}}  {{:{widths[1]}}}  {{:>{widths[2]}}}"
        print(line.format("benchmark", "figure", "value"))
        print(line.format("-" * widths[0], "-" * widths[1], "-" * widths[2]))
        for row in rows:
            print(line.format(*row))
    return status


if __name__ == "__main__":
    sys.exit(main())
