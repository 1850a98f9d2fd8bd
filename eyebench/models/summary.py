"""Markdown tables built from checkpoint configs (the README's tables come from here)."""
from __future__ import annotations

from pathlib import Path

from ..config import DataConfig, pct
from .checkpoint import read_config


def row_name(directory, cfg: dict) -> str:
    """The checkpoint's folder name, with its architecture in brackets when they differ: my_cnn (small_cnn)."""
    name, arch = Path(directory).resolve().name, cfg["architecture"]
    return name if name == arch else f"{name} ({arch})"


N_NOTE = ("n: the test images of each checkpoint's own test people, as stored in its config.json when it was tested; "
          "'data read' is its config.json data record, the copy of the data it was trained and tested on (all "
          "sources, then per source)")


def data_read(cfg: dict, source: str = "all") -> str:
    """The images the checkpoint was trained and tested on (config.json's data record), in all or from one source."""
    data = cfg.get("data") or {}
    n = data.get("n_read") if source == "all" else (data.get("per_source") or {}).get(source)
    return "-" if n is None else f"{n:,}"


def n_note(directories) -> list[str]:
    """The footnote on n, and, where the checkpoints' test n differ, which copy of the data each n comes from."""
    groups = {}
    for d in directories:
        cfg = read_config(d)
        test = ((cfg.get("metrics") or {}).get("test") or {}).get("overall")
        if test:
            groups.setdefault((test["n"], data_read(cfg)), []).append(row_name(d, cfg))
    lines = [N_NOTE + "."]
    if len(groups) > 1:
        lines.append("The n differ because these checkpoints were trained and tested on different copies of the data: "
                     + "; ".join(f"n={n} of {read} images read ({', '.join(names)})"
                                 for (n, read), names in sorted(groups.items())) + ".")
    return lines


def results_table(directories) -> str:
    """Per checkpoint and data source: person-disjoint test metrics recorded at training time, and what n is."""
    lines = ["| model | test data | n | data read | accuracy % | closed recall % | open recall % | "
             "worst test subject (n >= 20) |", "|---|---|---:|---:|---:|---:|---:|---|"]
    for d in directories:
        cfg = read_config(d)
        test = (cfg.get("metrics") or {}).get("test")
        if not test:
            continue
        ws = test.get("worst_subject") or {}
        worst = f"{ws.get('subject')} ({pct(ws.get('accuracy'))}, n={ws.get('n')})" if ws else "-"
        for src, m in [("all", test["overall"])] + sorted(test.get("per_source", {}).items()):
            cells = [pct(m[k], sign=False) for k in ("accuracy", "recall_closed", "recall_open")]
            lines.append(f"| {row_name(d, cfg)} | {src} | {m['n']} | {data_read(cfg, src)} | {' | '.join(cells)} | "
                         f"{worst if src == 'all' else ''} |")
    return "\n".join(lines + [""] + n_note(directories))


def model_table(directories) -> str:
    """Per checkpoint: size, cost, calibration, the band's coverage and accuracy on test, and measured speed."""
    lines = ["| model | params | MFLOPs/prediction | ECE val (before -> after T) | band (validation risk, rule) | test coverage % | "
             "test accuracy on accepted % | batch img/s | single ms |", "|---|---:|---:|---|---|---:|---:|---:|---:|"]
    for d in directories:
        cfg = read_config(d)
        cal = cfg.get("calibration") or {}
        band = ((cfg.get("metrics") or {}).get("test") or {}).get("band") or {}
        bench = cfg.get("bench") or {}
        flops = cfg.get("flops_per_image")
        flops = flops and flops * DataConfig.from_dict(cfg["data_config"]).views  # flip/zoom averaging: several passes
        b = cfg.get("uncertain_band")
        fit = cal.get("band") or {}
        how = f" ({100 * fit['target_risk']:g}%, {fit.get('rule', 'pooled')})" if fit.get("target_risk") is not None else ""
        lines.append(
            f"| {row_name(d, cfg)} | {cfg.get('num_parameters', 0):,} | {'-' if not flops else f'{flops / 1e6:.1f}'} | "
            + (f"{cal['ece_before']:.4f} -> {cal['ece_after']:.4f}" if cal else "-") + " | "
            + (f"[{b[0]:.3f}, {b[1]:.3f}]{how}" if b else "-") + f" | {pct(band.get('coverage'), sign=False)} | "
            + ("-" if band.get("selective_risk") is None else pct(1 - band["selective_risk"], sign=False)) + " | "
            + (f"{bench['batch_images_per_second']:.0f} | {bench['single_ms_per_image']:.2f}" if bench else "- | -") + " |")
    return "\n".join(lines)
