"""Which labels look wrong? Out-of-fold images that the cv runs get wrong, by how many runs, per person; CSV and a sheet.

Each RUN is a `cv --out` folder (fold_1 ... fold_K); all must hold out the same people per fold (as in
seed_ensemble.py). An image every run gets wrong, whatever the recipe or seed, is a systematic error: a mislabelled
or undecidable image, or a person the recipes do not generalise to. Look at the sheet before trusting either reading.
Example (the top-level README has the full command: the nine runs of recipes C, I and J, session 10):
  python scripts/label_audit.py --data ../shared/data/mrl --run cv_c --run cv_c1 --run cv_c2 --run cv_i ... \\
      --csv audit.csv --sheet audit.png
"""
from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
from PIL import Image, ImageDraw

from eyebench.config import CLASS_NAMES, CLOSED
from eyebench.evaluate.triage import write_csv
from seed_ensemble import fold_logits

SHEET_TILE = 96  # pixels per image on the contact sheet
SHEET_CAPTION = 14  # pixels of caption under each image


def audit_rows(folds) -> tuple[list[dict], list[str]]:
    """CSV rows of every out-of-fold image at least one run gets wrong (most runs wrong first), and a summary."""
    rows, summary = [], []
    for k, (held_out, logits) in enumerate(folds, 1):
        z = np.array(logits)
        y = held_out.labels
        wrong = ((z > 0) != (y == CLOSED)).sum(0)
        n = len(z)
        summary.append(f"fold {k}: {len(y)} images; wrong for all {n} runs: {(wrong == n).sum()}, for most: "
                       f"{(wrong > n / 2).sum()}, for any: {(wrong > 0).sum()}")
        mean = z.mean(0)
        for i in np.flatnonzero(wrong):
            s = held_out.samples[i]
            rows.append({"path": s.path, "subject": s.subject, "source": s.source, "label": CLASS_NAMES[y[i]],
                         "runs_wrong": int(wrong[i]), "runs": n, "mean_closed_logit": round(float(mean[i]), 3),
                         "fold": k, **s.meta})
    keys = list(dict.fromkeys(k for r in rows for k in r))  # sources differ in metadata: one header for all
    rows = [{k: r.get(k, "") for k in keys} for r in rows]
    # most runs wrong first, then the most confidently wrong
    rows.sort(key=lambda r: (-r["runs_wrong"], -abs(r["mean_closed_logit"])))
    return rows, summary


def contact_sheet(rows: list[dict], path: str, cols: int = 12) -> None:
    """A grid of the images in `rows` with subject, label and mean closed logit under each."""
    t, row = SHEET_TILE, SHEET_TILE + SHEET_CAPTION
    sheet = Image.new("L", (cols * t, max(1, -(-len(rows) // cols)) * row), 255)
    draw = ImageDraw.Draw(sheet)
    for j, r in enumerate(rows):
        x0, y0 = (j % cols) * t, (j // cols) * row
        sheet.paste(Image.open(r["path"]).convert("L").resize((t, t)), (x0, y0))
        draw.text((x0 + 2, y0 + t), f"{r['subject']} {r['label']} {r['mean_closed_logit']:+.1f}", fill=0)
    sheet.save(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", action="append", required=True, help="the data to score (e.g. ../shared/data/mrl)")
    p.add_argument("--run", action="append", required=True, metavar="FOLDER", help="a cv output folder (repeat)")
    p.add_argument("--csv", help="write every image at least one run gets wrong, most runs wrong first")
    p.add_argument("--sheet", metavar="PNG", help="contact sheet of the images every run gets wrong, worst first")
    p.add_argument("--sheet-size", type=int, default=120, help="at most this many images on the sheet (default 120)")
    args = p.parse_args()
    rows, summary = audit_rows(fold_logits([(r, r) for r in args.run], args.data))
    print("\n".join(summary))
    every = [r for r in rows if r["runs_wrong"] == r["runs"]]
    print(f"wrong for every run: {len(every)} images; by person and label: "
          + ", ".join(f"{s} {lab} {n}" for (s, lab), n in Counter((r["subject"], r["label"]) for r in every).most_common(10)))
    keys = [k for k in ("glasses", "reflections", "sensor") if every and k in every[0]]
    if keys:  # MRL names carry these
        print(f"by {' / '.join(keys)}: " + ", ".join(
            f"{' / '.join(v)} {n}" for v, n in Counter(tuple(str(r[k]) for k in keys) for r in every).most_common(8)))
    if args.csv:
        write_csv(rows, args.csv)
        print(f"wrote {args.csv} ({len(rows)} rows)")
    if args.sheet:
        contact_sheet(every[: args.sheet_size], args.sheet)
        print(f"wrote {args.sheet} ({min(len(every), args.sheet_size)} images)")


if __name__ == "__main__":
    main()
