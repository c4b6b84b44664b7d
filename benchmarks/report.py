"""The table (Markdown), the raw figures (JSON) and the plots (ratios, sweep, overload)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Row:
    item: str  # the numbered item
    measure: str
    database: str
    rate: float | None = None
    unit: str = ""
    p50_ms: float | None = None
    p99_ms: float | None = None
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    note: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    ratio_old: float | None = None  # against the project's own "bare" endpoint (second reference)


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}" if value < 100 else f"{value:,.0f}"


def markdown(machine: dict[str, Any], settings: dict[str, Any], rows: list[Row]) -> str:
    head = (f"Machine: {machine['cores']} cores, {machine['cpu']}, {machine['ram_gib']} GiB RAM, "
            f"Python {machine['python']}, {machine['os']}; {machine['date']}; load average "
            f"{machine['load_before']:.2f} before the run.  \n"
            f"Run: {', '.join(f'{k}={v}' for k, v in settings.items())}.  \n"
            "ratio: the rate against the truly bare endpoint of its kind measured in the same rounds "
            "(median of the per-round ratios; item 4: goodput against the process's capacity); "
            "× project bare: against the project's own bare endpoint (the second reference).\n\n")
    lines = ["| # | measure | database | rate | p50 ms | p99 ms | ratio | × project bare | goal "
             "| met |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        met = "—" if r.met is None else ("yes" if r.met else "**no**")
        rate = f"{_num(r.rate)} {r.unit}".strip() if r.rate is not None else (r.unit or "—")
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "—"
        old = f"{r.ratio_old:.2f}" if r.ratio_old is not None else "—"
        note = f" ({r.note})" if r.note else ""
        lines.append(f"| {r.item} | {r.measure}{note} | {r.database} | {rate} | {_num(r.p50_ms, 2)} | "
                     f"{_num(r.p99_ms, 2)} | {ratio} | {old} | {r.goal or '—'} | {met} |")
    return head + "\n".join(lines) + "\n"


def write(out: Path, machine: dict[str, Any], settings: dict[str, Any], rows: list[Row],
          extra: dict[str, Any]) -> str:
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(machine, settings, rows)
    plots = "".join(f"![{alt}]({name})\n\n" for name, alt in PLOTS if (out / name).exists())
    (out / "latest.md").write_text("# Latest benchmark run\n\n" + table + ("\n" + plots if plots else ""))
    document = {"machine": machine, "settings": settings, "rows": [asdict(r) for r in rows], **extra}
    (out / "latest.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
    return table


PLOTS = (("ratios.png", "Each measure against the truly bare endpoint of its kind, and its goal"),
         ("overload.png", "Goodput and p99 of admitted requests at 1x, 2x and 4x capacity"),
         ("sweep.png", "Reminder sweep time against population"))


def _goal_ratio(goal: str) -> float | None:
    """The ratio a goal asks for ("≥ 0.7 × truly bare read, …" gives 0.7), if it names one."""
    head = goal.removeprefix("≥").strip().split(" ", 1)[0]
    try:
        return float(head)
    except ValueError:
        return None


def plot_ratios(path: Path, rows: list[Row]) -> None:
    """Items 2, 3 and 5: every rate with a ratio against the truly bare endpoint, beside its goal."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in rows if r.ratio is not None and r.item in {"1", "2", "3", "5"}]
    if not shown:
        return
    labels = [f"{r.item} · {r.measure.split(' (')[0]} · {r.database}" for r in shown]
    figure, axis = plt.subplots(figsize=(9, 0.32 * len(shown) + 1.2), dpi=110)
    ys = range(len(shown))
    colours = ["tab:green" if r.met else ("tab:red" if r.met is False else "tab:blue") for r in shown]
    axis.barh(list(ys), [r.ratio or 0.0 for r in shown], color=colours)
    for y, r in zip(ys, shown, strict=True):
        goal = _goal_ratio(r.goal)
        if goal is not None:
            axis.plot([goal, goal], [y - 0.4, y + 0.4], color="black", linewidth=2)
        axis.text((r.ratio or 0.0) + 0.01, y, f"{r.ratio:.2f}", va="center", fontsize=7)
    axis.set_yticks(list(ys), labels, fontsize=7)
    axis.invert_yaxis()
    axis.set_xlim(0, 1.1)
    axis.set_xlabel("rate ÷ truly bare endpoint of its kind, same run (black tick: the goal; "
                    "red: goal missed, green: met)", fontsize=8)
    axis.grid(True, axis="x", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def plot_sweep(path: Path, points: list[dict[str, Any]]) -> None:
    """Sweep time against population (log-x), one line per phase; matplotlib's Agg, no display."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [p["patients"] for p in points]
    figure, axis = plt.subplots(figsize=(7, 4.2), dpi=110)
    for key, label in (("find_s", "find (queries + due-date arithmetic)"),
                       ("sweep_s", "find + record (one transaction)"),
                       ("enqueue_s", "relay: publish to Redis"),
                       ("total_s", "find + record + enqueue")):
        if all(key in p for p in points):
            axis.plot(sizes, [p[key] for p in points], marker="o", label=label)
    axis.axhline(5.0, color="grey", linestyle="--", linewidth=1, label="goal at 1 M patients: 5 s")
    axis.set_xscale("log")
    axis.set_xlabel("patients in the population (log scale)")
    axis.set_ylabel("seconds")
    due = {p["found"] for p in points}
    axis.set_title(f"Reminder sweep vs population ({', '.join(str(d) for d in sorted(due))} reminders due)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def plot_overload(path: Path, rows: list[Row]) -> None:
    """Item 4: goodput (of capacity) and p99 of the admitted requests against the load offered."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, list[tuple[float, float, float]]] = {}
    for r in rows:
        if r.item != "4" or not r.measure.startswith("open loop") or r.ratio is None:
            continue
        multiple = r.raw["offered_rps"] / r.raw["capacity_rps"]
        off = ", admission off" in r.measure
        series.setdefault(f"{r.database}{', admission off' if off else ''}", []).append(
            (multiple, r.ratio, r.p99_ms or 0.0))
    if not series:
        return
    figure, (good, late) = plt.subplots(1, 2, figsize=(9, 3.8), dpi=110)
    for label, points in sorted(series.items()):
        xs = [p[0] for p in points]
        style = "--" if "off" in label else "-"
        good.plot(xs, [p[1] for p in points], style, marker="o", label=label)
        late.plot(xs, [p[2] for p in points], style, marker="o", label=label)
    good.axhline(0.9, color="grey", linestyle=":", linewidth=1, label="goal at 2×: 0.9")
    good.set_ylabel("goodput / capacity")
    late.set_ylabel("p99 of admitted requests, ms (log)")
    late.set_yscale("log")
    for axis in (good, late):
        axis.set_xlabel("load offered (× capacity)")
        axis.set_xticks([1, 2, 4])
        axis.grid(True, alpha=0.3)
    good.legend(fontsize=7)
    figure.suptitle("One process offered more than it serves (open loop)", fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
