"""A markdown results table built from checkpoint configs (the README's table comes from here)."""
from __future__ import annotations

from .checkpoint import read_config


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}"


def results_table(directories) -> str:
    """One row per checkpoint and data source: person-disjoint test metrics recorded at training time."""
    lines = ["| model | params | test data | n | accuracy % | closed recall % | open recall % | worst test subject |",
             "|---|---:|---|---:|---:|---:|---:|---|"]
    for d in directories:
        cfg = read_config(d)
        test = (cfg.get("metrics") or {}).get("test")
        if not test:
            continue
        ws = test.get("worst_subject") or {}
        worst = f"{ws.get('subject')} ({_pct(ws.get('accuracy'))}%, n={ws.get('n')})" if ws else "-"
        for src, m in [("all", test["overall"])] + sorted(test.get("per_source", {}).items()):
            lines.append(f"| {cfg['architecture']} | {cfg.get('num_parameters', 0):,} | {src} | {m['n']} | "
                         f"{_pct(m['accuracy'])} | {_pct(m['recall_closed'])} | {_pct(m['recall_open'])} | "
                         f"{worst if src == 'all' else ''} |")
    return "\n".join(lines)
