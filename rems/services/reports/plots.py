"""PNG plots of the periodic reports (issue 6), drawn without pyplot: no global state, no GUI."""

from __future__ import annotations

import io
from typing import Literal

from rems.services.reports.series import ActivitySeries

Kind = Literal["refusals", "dispenses"]
KINDS: tuple[Kind, ...] = ("refusals", "dispenses")


def plot_png(series: ActivitySeries, kind: Kind) -> bytes:
    """Refusals by rule over time (stacked bars, one colour per rule id) or dispenses over time."""
    # Imported here: matplotlib takes seconds to import, and only plots need it.
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(9, 4), dpi=100, layout="constrained")
    axes = figure.subplots()
    x = list(range(len(series.buckets)))
    if kind == "dispenses":
        axes.bar(x, series.dispenses, color="tab:blue", label="dispenses")
        axes.set_title(f"Dispenses per {series.bucket_days}-day period")
    else:
        bottom = [0] * len(x)
        for rule, counts in series.refusals_by_rule.items():
            axes.bar(x, counts, bottom=bottom, label=rule)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        axes.set_title(f"Refused gates by rule id per {series.bucket_days}-day period")
    step = max(1, len(x) // 12)
    axes.set_xticks(x[::step], [b.strftime("%Y-%m-%d") for b in series.buckets[::step]],
                    rotation=45, ha="right")
    axes.set_ylabel("count")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="upper left", fontsize="small", ncols=2)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
