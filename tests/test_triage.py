"""Triage: misclassified and uncertain images, worst first, written to CSV."""
import csv

import numpy as np
import pytest

from eyebench.data.dataset import Dataset, Sample
from eyebench.evaluate.triage import FIELDS, RULE, triage_rows, write_csv


@pytest.fixture
def case():
    labels = [0, 0, 0, 1, 1, 1]
    p = np.array([0.1, 0.65, 0.95, 0.9, 0.4, 0.55])
    ds = Dataset([Sample(f"img{i}.png", y, f"p{i % 2}", "src") for i, y in enumerate(labels)])
    return ds, np.stack([1 - p, p], axis=1)


def test_misclassified_rows_worst_first(case):
    rows = triage_rows(*case, model="m")  # no band: only mistakes at 0.5
    assert [r["path"] for r in rows] == ["img2.png", "img1.png", "img4.png"]
    assert [r["p_true_class"] for r in rows] == pytest.approx([0.05, 0.35, 0.4])
    assert all(r["reason"] == "misclassified" for r in rows)
    first = rows[0]
    assert first == {"model": "m", "path": "img2.png", "subject": "p0", "label": "open", "decision": "closed",
                     "reason": "misclassified", "p_closed": 0.95, "band": "none (0.5 cut)",
                     "p_true_class": pytest.approx(0.05)}


def test_the_band_decides_uncertain_and_misclassified_alike(case):
    """The reason follows the band's decision: p(closed) 0.65 for an open eye is inside [0.3, 0.7], so uncertain
    (the 0.5 cut would call it wrong, and the printout and the CSV used to disagree)."""
    rows = triage_rows(*case, band=[0.3, 0.7])
    by_path = {r["path"]: r for r in rows}
    assert set(by_path) == {"img1.png", "img2.png", "img4.png", "img5.png"}
    for r in rows:
        assert r["reason"] == ("uncertain" if r["decision"] == "uncertain" else "misclassified")
        assert r["reason"] == "uncertain" or r["decision"] != r["label"]
    assert by_path["img1.png"]["decision"] == "uncertain" and by_path["img1.png"]["reason"] == "uncertain"
    assert by_path["img2.png"]["decision"] == "closed" and by_path["img2.png"]["reason"] == "misclassified"
    assert by_path["img2.png"]["band"] == "[0.3000, 0.7000]"
    p_true = [r["p_true_class"] for r in rows]
    assert p_true == sorted(p_true)
    assert "reason=uncertain" in RULE and "reason=misclassified" in RULE and "inside it" in RULE


def test_csv_round_trip(case, tmp_path):
    rows = triage_rows(*case, band=[0.3, 0.7], model="m")
    write_csv(rows, tmp_path / "t.csv")
    with open(tmp_path / "t.csv", newline="") as fh:
        back = list(csv.DictReader(fh))
    assert [r["path"] for r in back] == [r["path"] for r in rows]
    assert list(back[0]) == FIELDS


def test_nothing_to_list_writes_a_header(tmp_path):
    ds = Dataset([Sample("a.png", 0, "p", "s"), Sample("b.png", 1, "p", "s")])
    rows = triage_rows(ds, np.array([[0.9, 0.1], [0.2, 0.8]]))
    assert rows == []
    write_csv(rows, tmp_path / "empty.csv")
    assert (tmp_path / "empty.csv").read_text().strip() == ",".join(FIELDS)
