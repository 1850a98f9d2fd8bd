"""The text `evaluate`, `robustness` and `heldout` print, from the evaluation result types."""
from __future__ import annotations

from pathlib import Path

from ..config import pct
from ..evaluate.report import MIN_GROUP_N
from ..evaluate.results import Analysis, CheckpointEvaluation, HeldoutSummary


def evaluate_lines(rows: list[CheckpointEvaluation], data: dict, compare_labels: bool = False) -> list[str]:
    """The metrics table, then per model its split, leak warning, head angles, CI and band; the images read."""
    lines = [format_table(rows)]
    lines += [comparison_line(r) for r in rows] if compare_labels else []
    for r in rows:
        lines += model_notes(r)
    lines.append(f"\nimages read: {data['n_read']}, skipped: {data['n_skipped']} {data['skipped_reasons'] or ''}")
    lines += [f"  skipped {ex['path']}: {ex['reason']}" for ex in data["skipped_examples"]]
    return lines


def model_notes(r: CheckpointEvaluation) -> list[str]:
    """The lines under the table for one model: --split, leak, head angles, the subjects' CI and the uncertain band."""
    lines = []
    if r.split:
        lines.append(f"{r.name}: --split {r.split} kept {r.n} images of its {r.split} people and left out "
                     f"{r.split_removed} others")
    if r.leak:
        lines.append(f"WARNING {r.name}: {r.leak['message']}")
    lines += format_head_angles(r)
    ci = r.bootstrap_accuracy
    if ci:
        lines.append(f"{r.name}: accuracy 95% CI over subjects " + (
            f"[{100 * ci['low']:.2f}%, {100 * ci['high']:.2f}%] ({ci['n_subjects']} subjects, {ci['n_boot']} "
            "resamples)" if ci["low"] is not None else ci["note"]))
        if ci["low"] is not None and ci.get("subjects_trusted") is False:
            lines.append(f"WARNING {r.name}: {ci['note']}")
    u = r.band
    if u:
        lines.append(f"{r.name}: uncertain band {[round(b, 4) for b in u['band']]} -> {u['n_uncertain']} uncertain "
                     f"(coverage {100 * u['coverage']:.2f}%, selective risk "
                     + ("-" if u["selective_risk"] is None else f"{100 * u['selective_risk']:.2f}%") + ")")
    return lines


def format_table(rows: list[CheckpointEvaluation]) -> str:
    """A readable fixed-width table of the main metrics, one line per model (and per source)."""
    cols = [("model", 14), ("source", 10), ("n", 6), ("acc", 7), ("bal_acc", 8), ("rec_closed", 11),
            ("rec_open", 9), ("auc", 7), (f"worst subject (of those with n>={MIN_GROUP_N})", 30)]
    table = []

    def fmt(v):
        return "-" if v is None else f"{v:.4f}"

    for r in rows:
        worst = r.worst_subject or {}
        ws = f"{worst['subject']} {fmt(worst.get('accuracy'))} (n={worst.get('n')})" if worst else "-"
        # no subject has that many images: none is named (min_n 0: a row written when the worst of all was named)
        if (not worst and r.per_subject) or worst.get("min_n") == 0:
            ws = f"none has n>={MIN_GROUP_N}"
        blocks = [("all", r.metrics)] + (list(r.per_source.items()) if len(r.per_source) > 1 else [])
        for src, m in blocks:
            table.append([Path(r.name).name if src == "all" else "", src, str(m["n"]), fmt(m["accuracy"]),
                          fmt(m["balanced_accuracy"]), fmt(m["recall_closed"]), fmt(m["recall_open"]),
                          fmt(m["roc_auc"]), ws if src == "all" else ""])
    widths = [max([w] + [len(row[i]) + 1 for row in table]) for i, (_, w) in enumerate(cols)]  # long names stay apart
    return "\n".join("".join(f"{v:<{w}}" for v, w in zip(vals, widths)) for vals in [[c for c, _ in cols]] + table)


def format_head_angles(row: CheckpointEvaluation) -> list[str]:
    """A line per measured head-angle bin of one evaluation row: n, accuracy and closed recall."""
    return [f"{row.name}: {factor} {b} (degrees): n={m['n']}, accuracy {pct(m['accuracy'])}, closed recall "
            f"{pct(m['recall_closed'])}" for factor, bins in row.per_head_angle.items() for b, m in bins.items()]


def comparison_line(r: CheckpointEvaluation) -> str:
    """One model's accuracy and closed recall before and after the label corrections."""
    c = r.label_comparison
    before, after = c["original"], c["corrected"]
    return (f"{r.name}: {c['changed']} of {c['n']} labels changed ({c['open_to_closed']} open -> closed, "
            f"{c['closed_to_open']} closed -> open); accuracy {pct(before['accuracy'], sign=False)} on the original "
            f"labels -> {pct(after['accuracy'], sign=False)} on the corrected; closed recall "
            f"{pct(before['recall_closed'], sign=False)} -> {pct(after['recall_closed'], sign=False)}")


def robustness_lines(result: Analysis) -> list[str]:
    """Per model its subsets (accuracy, closed recall, share rejected by its band), then the sweeps' accuracies."""
    lines = []
    for name, m in result.models.items():
        lines.append(f"\n{name}: subsets (accuracy / closed recall / rejected by band)")
        for row in m.subsets:
            rej = "-" if row.get("rejection_rate") is None else f"{100 * row['rejection_rate']:.1f}%"
            rc = "-" if row["recall_closed"] is None else f"{100 * row['recall_closed']:.1f}%"
            lines.append(f"  {row['factor']:>12}={row['value']:<10} n={row['n']:<6} acc {100 * row['accuracy']:.1f}%  "
                         f"closed recall {rc}  rejected {rej}")
    sw = result.sweeps
    lines.append(f"\nsweeps on {sw.n} images ({sw.note})")
    for sweep, block in sw.sweeps.items():
        for name, res in block.models.items():
            accs = " ".join(f"{lvl}:{100 * a:.1f}" for lvl, a in zip(block.levels, res["accuracy"]))
            lines.append(f"  {sweep:<13} {name:<14} accuracy % per level  {accs}")
    return lines


def heldout_line(out, n_rows: int, summary: HeldoutSummary, size: int) -> str:
    """What `heldout` wrote: images, test people, models, sweeps and the bundle's size."""
    return (f"wrote {out}: {n_rows} images of {summary.n_subjects} test people, {len(summary.models)} models, "
            f"{len(summary.sweeps.sweeps)} sweeps on {summary.sweeps.n} images ({size / 1e6:.2f} MB)")
