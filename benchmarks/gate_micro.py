"""The gate alone, in process: `python -m benchmarks.gate_micro` (issue 14: the rules' own share).

Evaluates the dispense stage for the unit tests' FRP case (every requirement met) N times and
prints the mean time per call. No I/O; compare commits on the same machine in the same minute."""

from __future__ import annotations

import argparse
import timeit

from rems.domain import gate
from tests.unit.builders import WHEN, frp_case, program


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    records, current = frp_case("dispense"), program()
    decision = gate.evaluate("dispense", records, current, WHEN["dispense"])
    runs = timeit.repeat(lambda: gate.evaluate("dispense", records, current, WHEN["dispense"]),
                         number=args.calls, repeat=args.repeat)
    best = min(runs) / args.calls * 1e6
    print(f"gate.evaluate, dispense, FRP: {best:.1f} µs per call (best of {args.repeat} × {args.calls}), "
          f"{len(decision.requirements)} requirements, allowed={decision.allowed}")


if __name__ == "__main__":
    main()
