"""The text of triage and audit: each model's count of listed images, then the CSV written and its first rows."""
from __future__ import annotations

from ..evaluate.triage import ModelTriage, band_text

FIRST_ROWS = 10  # rows of a written CSV shown after the line that names it


def first_rows(rows: list[dict], wrote: str, row_line) -> list[str]:
    """After a command wrote its CSV of images worst first: the line saying what it wrote, then its first rows."""
    return [wrote, *(row_line(r) for r in rows[:FIRST_ROWS])]


def triage_model_line(t: ModelTriage) -> str:
    """How many images a model listed, of how many, and by what band."""
    n_wrong = t.n_misclassified
    return (f"{t.model}: {len(t.rows)} of {t.n_images} images listed ({n_wrong} misclassified, {len(t.rows) - n_wrong} "
            f"uncertain); band on p(closed) {band_text(t.band)}")


def triage_rows_lines(rows: list[dict], csv) -> list[str]:
    """triage's CSV, named with its columns, and its worst rows."""
    return first_rows(rows, f"wrote {csv}: {len(rows)} rows, one per listed image and model, worst first "
                      "(lowest p(true class)); columns model, path, subject, label, decision, reason, p_closed, band, "
                      "p_true_class",
                      lambda r: f"  {r['p_true_class']:.4f}  {r['model']:<12} {r['label']:<6} -> {r['decision']:<9} "
                                f"({r['reason']}) {r['path']}")


def accepted_line(rows: list[dict], n: int) -> str:
    """The warning that audit --accept-top took the top `n` suggestions without anyone looking at them."""
    taken = sum(r["decision"] != "kept" for r in rows)
    return (f"UNREVIEWED: the suggestions of the {n} most doubted images were taken as their labels "
            f"({taken} labels changed) without anyone looking at them; review them (the app's Review tab) before "
            "you trust the result")


def audit_rows_lines(rows: list[dict], csv) -> list[str]:
    """audit's CSV, with how many labels the models doubt, and its most doubted rows."""
    doubted = sum(r["suggested"] != r.get("original_label", r["label"]) for r in rows)
    return first_rows(rows, f"wrote {csv}: {len(rows)} images, most doubted first; the models suggest the other "
                      f"label for {doubted}. It is a manifest: --data {csv} reads it",
                      lambda r: f"  doubt {r['doubt']:.3f}  {r.get('original_label', r['label']):<6} -> suggested "
                                f"{r['suggested']:<6} ({r['n_disagree']} of {r['n_models']} models decide it)  "
                                f"{r['path']}")
