"""The person-leak guard: evaluating a checkpoint on its own training or validation people is said next to the numbers."""
from __future__ import annotations

import json

from eyebench.cli import main
from eyebench.data.dataset import load_dataset
from eyebench.evaluate.leak import leak_report
from eyebench.models.checkpoint import load_classifier


def test_leak_report_counts_training_and_validation_people(trained_cnn, mrl_dir):
    clf = load_classifier(trained_cnn)
    data = load_dataset([mrl_dir])
    split = clf.info["split"]
    rep = leak_report(clf, data)
    n_train = sum(s in split["train"] for s in data.subjects.tolist())
    n_val = sum(s in split["val"] for s in data.subjects.tolist())
    assert (rep["n_train"], rep["n_val"], rep["n_images"]) == (n_train, n_val, len(data))
    assert rep["message"].startswith(f"{n_train + n_val} of {len(data)} images belong to this model's training")
    test_only = data.subset([s in split["test"] for s in data.subjects.tolist()])
    assert leak_report(clf, test_only) is None


def test_evaluate_cli_and_json_warn_unless_the_split_is_test(trained_cnn, mrl_dir, tmp_path, capsys):
    out = tmp_path / "all.json"
    assert main(["evaluate", "--model", str(trained_cnn), "--data", str(mrl_dir), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    row = json.loads(out.read_text())["models"][0]
    assert row["leak"]["n_train"] > 0 and "WARNING" in printed and "use --split test" in printed
    out = tmp_path / "test.json"
    assert main(["evaluate", "--model", str(trained_cnn), "--data", str(mrl_dir), "--split", "test",
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    row = json.loads(out.read_text())["models"][0]
    assert row["leak"] is None and "WARNING" not in printed
    assert row["split_removed"] == len(load_dataset([mrl_dir])) - row["n"] > 0
    assert f"left out {row['split_removed']} others" in printed
