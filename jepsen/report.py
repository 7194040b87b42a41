"""The per-run report: counts, schedule, verdict, and a latency plot with faults shaded.

The plot is drawn as Jepsen's ``latency-raw.png``: one point per operation at its invocation
time, its latency on a log scale, colour by outcome (ok / info / fail), marker by kind, and each
fault's window shaded in its own colour, so "latency went up while the leader was partitioned"
reads at a glance.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jepsen.nemesis import Fault, shaded_windows
from seshat.check import CheckResult, NemesisEvent, Op, Record, format_result

STATUS_COLOURS = {"ok": "#1f77b4", "info": "#ff7f0e", "fail": "#d62728"}
KIND_MARKERS = {"read": "o", "write": "^", "cas": "s", "add": "^", "incr": "^"}
FAULT_COLOURS = {"kill": "#f4a6a6", "pause": "#c9b3e6", "partition": "#a6c8f4",
                 "membership": "#b6e3a8", "transfer": "#f7e08a"}


@dataclass
class RunSummary:
    run_id: str
    command: str
    seed: int
    nodes: int
    net: str
    workload: str
    workload_mode: str
    nemeses: list[str]
    skipped: list[str]
    time_limit_s: float
    schedule: list[Fault]
    verdict: str  # "valid", "INVALID", "run failed", "unknown"
    result: CheckResult | None
    exit_code: int
    duration_s: float = 0.0
    check_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    errors: dict[tuple[str, str], int] = field(default_factory=dict)
    error_examples: dict[tuple[str, str], str] = field(default_factory=dict)


LINE_CHARS_MAX = 400  # a final set read holds thousands of elements; history.jsonl has them all


def _clip(text: str) -> str:
    """Shorten very long lines of a checker's verdict (long reads) for people to read."""
    out = []
    for line in text.splitlines():
        if len(line) > LINE_CHARS_MAX:
            line = (f"{line[:LINE_CHARS_MAX - 80]} ...[{len(line) - LINE_CHARS_MAX + 60} chars]... "
                    f"{line[-60:]}")
        out.append(line)
    return "\n".join(out)


def counts(records: Sequence[Record]) -> dict[str, Counter[str]]:
    table: dict[str, Counter[str]] = {}
    for r in records:
        if isinstance(r, Op):
            table.setdefault(r.kind, Counter())[r.status] += 1
    return table


def plot_latency(records: Sequence[Record], path: Path, title: str, end_s: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    ops = [r for r in records if isinstance(r, Op) and r.complete is not None]
    events = [r for r in records if isinstance(r, NemesisEvent)]
    fig, ax = plt.subplots(figsize=(12, 5.5), dpi=100)
    handles: list[Any] = []
    seen_faults: set[str] = set()
    for start, stop, fault in shaded_windows(events, end_s):
        colour = FAULT_COLOURS.get(fault, "#dddddd")
        ax.axvspan(start, max(stop, start + 0.05), color=colour, alpha=0.55, lw=0)
        if fault not in seen_faults:
            seen_faults.add(fault)
            handles.append(Patch(color=colour, alpha=0.55, label=fault))
    for ev in events:  # instantaneous faults (transfers) and errors as vertical lines
        if ev.fault == "transfer" or ev.detail.get("variant") == "transfer" or ev.phase == "error":
            ax.axvline(ev.time / 1e6, color="#b8860b" if ev.phase != "error" else "black",
                       lw=0.8, ls="--")
    for kind in sorted({op.kind for op in ops}):
        for status in ("ok", "info", "fail"):
            chosen = [op for op in ops if op.kind == kind and op.status == status]
            if not chosen:
                continue
            xs = [op.invoke / 1e6 for op in chosen]
            ys = [max((op.complete - op.invoke) / 1e3, 0.01) for op in chosen]  # type: ignore[operator]
            handles.append(ax.scatter(xs, ys, s=6, marker=KIND_MARKERS.get(kind, "o"),
                                      color=STATUS_COLOURS[status], alpha=0.6,
                                      label=f"{kind} {status}", linewidths=0))
    ax.set_yscale("log")
    ax.set_xlim(0, max(end_s, 1.0))
    ax.set_xlabel("time since start (s)")
    ax.set_ylabel("latency (ms)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              markerscale=2.5, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def nemesis_lines(records: Sequence[Record]) -> list[str]:
    lines = []
    for r in records:
        if isinstance(r, NemesisEvent):
            detail = ", ".join(f"{k}={v}" for k, v in r.detail.items())
            lines.append(f"| {r.time / 1e6:7.2f} | {r.fault} | {r.phase} | {detail} |")
    return lines


def write_report(summary: RunSummary, records: Sequence[Record], store: Path) -> str:
    """Write report.md (and latency.png); return the short summary printed to the terminal."""
    table = counts(records)
    totals: Counter[str] = Counter()
    for c in table.values():
        totals.update(c)
    plot_ok = True
    try:
        plot_latency(records, store / "latency.png",
                     f"{summary.run_id}: {summary.workload}, nemesis "
                     f"{','.join(summary.nemeses) or 'none'} — {summary.verdict}",
                     summary.duration_s)
    except Exception as error:  # noqa: BLE001 -- a missing matplotlib must not hide the verdict
        plot_ok = False
        summary.notes.append(f"latency plot not drawn: {error} (install the `test` extra)")
    result_text = (_clip(format_result(summary.result)) if summary.result is not None
                   else "(not checked)")
    md = [
        f"# Jepsen run {summary.run_id}",
        "",
        f"- command: `{summary.command}`",
        f"- verdict: **{summary.verdict}** (exit {summary.exit_code})",
        f"- workload: {summary.workload} ({summary.workload_mode})",
        (f"- nemesis: {', '.join(summary.nemeses) or 'none'}"
         + (f"; skipped: {', '.join(summary.skipped)}" if summary.skipped else "")),
        f"- nodes: {summary.nodes}, {summary.net}",
        (f"- seed: {summary.seed}; time limit {summary.time_limit_s:.0f} s; run took "
         f"{summary.duration_s:.1f} s; check took {summary.check_s:.2f} s"),
        "",
        "## Verdict",
        "",
        "```",
        result_text,
        "```",
        "",
        "## Operations",
        "",
        "| kind | ok | info | fail |",
        "|---|---|---|---|",
        *[f"| {k} | {c['ok']} | {c['info']} | {c['fail']} |" for k, c in sorted(table.items())],
        f"| **all** | {totals['ok']} | {totals['info']} | {totals['fail']} |",
        "",
    ]
    if summary.errors:
        md += ["Client errors (status, kind, count, example):", "",
               "| status | count | example |", "|---|---|---|"]
        for (status, kind), n in sorted(summary.errors.items(), key=lambda kv: -kv[1])[:15]:
            md.append(f"| {status} | {n} | `{summary.error_examples[(status, kind)]}` |")
        md.append("")
    md += ["## Nemesis schedule (planned)", ""]
    md += [f"    {f.describe()}" for f in summary.schedule] or ["    (none)"]
    md += ["", "## Nemesis events (as applied)", "", "| t (s) | fault | phase | detail |",
           "|---|---|---|---|", *nemesis_lines(records), ""]
    if plot_ok:
        md += ["## Latency", "", "![latency over time, faults shaded](latency.png)", ""]
    if summary.notes:
        md += ["## Notes", "", *[f"- {n}" for n in summary.notes], ""]
    md += ["## Files", "",
           "- `history.jsonl`: every op and nemesis event (`seshat.check.read_jsonl`)",
           "- `n<id>.log`: node logs", ""]
    (store / "report.md").write_text("\n".join(md))
    short = [
        (f"run {summary.run_id}: {summary.workload} / nemesis "
         f"{','.join(summary.nemeses) or 'none'} / {summary.nodes} nodes / "
         f"{summary.duration_s:.0f} s"),
        (f"ops: {totals['ok']} ok, {totals['info']} info, {totals['fail']} fail; "
         f"nemesis events: {sum(isinstance(r, NemesisEvent) for r in records)}"),
        *[f"note: {n}" for n in summary.notes],
        f"verdict: {summary.verdict}",
        result_text,
        f"report: {store / 'report.md'}",
    ]
    return "\n".join(short)
