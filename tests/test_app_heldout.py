"""The app opened on a held-out bundle: Evaluate, Threshold and Robustness answer at startup; stale models and leaks."""
from __future__ import annotations

import json

import pytest
from app_server import LIVE, PRECOMPUTED, heldout_app  # noqa: F401  (module-scoped app fixture)

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402


@pytest.fixture
def client(heldout_app):
    return Client(heldout_app["url"], verbose=False, download_files=False)


def test_evaluate_defaults_to_the_bundle_and_flags_models_it_does_not_hold(client, heldout_app):
    note, table, conf, curves, gallery, files, *_ = client.predict(
        ["cnn", "svm", "cnn_new"], PRECOMPUTED, None, 50, api_name="/evaluate")
    rows = {r[0]: r for r in table["data"]}
    assert set(rows) == {"cnn", "svm"}
    assert all(r[table["headers"].index("n")] == heldout_app["n_test"] for r in rows.values())
    assert "Precomputed held-out results" in note and "python -m eyebench heldout" in note
    assert "cnn_new: not in the precomputed results" in note
    assert gallery == [] and json.loads(conf["plot"])["data"]


def test_threshold_answers_at_startup_on_the_bundle(client, heldout_app):
    stats, subsets, rc, raw, hist, three, people = client.predict("svm", 0.2, 0.8, api_name="/threshold")
    assert raw["n"] == heldout_app["n_test"] and 0 <= raw["coverage"] <= 1
    assert "accuracy on accepted" in stats
    counts = {r[0]: r[1:] for r in three["data"]}
    assert set(counts) == {"open", "closed"} and sum(map(sum, counts.values())) == heldout_app["n_test"]
    assert people["headers"][:3] == ["subject", "n", "rejected %"]
    assert len(json.loads(hist["plot"])["data"]) == 2  # one histogram per true class


def test_robustness_opens_on_the_bundle_subsets_and_stored_sweeps(client):
    note, table, bars, sweeps, raw = client.predict(["cnn", "svm"], PRECOMPUTED, None, 20, api_name="/robustness")
    factors = {(r["model"], r["factor"]) for r in raw["subsets"]}
    assert {("cnn", "glasses"), ("svm", "glasses")} <= factors
    for block in raw["sweeps"]["sweeps"].values():
        assert set(block["models"]) == {"cnn", "svm"}
    assert "stored sweeps" in note
    assert all("n=" in str(t.get("text")) for t in json.loads(bars["plot"])["data"])


def test_live_evaluation_warns_about_the_models_own_people(client):
    note, *_ = client.predict(["cnn"], LIVE, None, 0, api_name="/evaluate")
    assert "belong to this model's training" in note and "use --split test" in note
