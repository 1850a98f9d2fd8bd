"""The warning that validation people rarely show a condition common in training (glasses x reflections, per class):
found from the split's metadata, logged by `train`, recorded in config.json's split and shown in the model card."""
from eyebench.config import THIN_NOTE
from eyebench.data.dataset import Dataset, Sample
from eyebench.evaluate.robustness import thin_conditions
from eyebench.models.card import model_card


def people(rows, source="mrl") -> Dataset:
    """rows: (subject, label, glasses, reflections, count) -> that many samples with the metadata."""
    return Dataset([Sample(f"{s}_{i}.png", label, s, source, {"glasses": g, "reflections": r} if g else {})
                    for s, label, g, r, n in rows for i in range(n)])


def test_a_cell_common_in_training_and_rare_in_validation_is_named():
    train = people([("a", 0, "yes", "big", 300), ("a", 1, "no", "none", 500), ("b", 0, "no", "none", 200)])
    val = people([("c", 0, "yes", "big", 10), ("c", 1, "no", "none", 300), ("d", 0, "no", "none", 200)])
    assert thin_conditions(train, val) == ["open eyes with glasses=yes reflections=big: 300 training images (30.0%), "
                                           "10 validation (2.0%)"]
    even = people([("c", 0, "yes", "big", 150), ("c", 1, "no", "none", 250), ("d", 0, "no", "none", 100)])
    assert thin_conditions(train, even) == []
    rare = people([("a", 0, "yes", "big", 30), ("a", 1, "no", "none", 970)])  # 3% of training: not flagged
    assert thin_conditions(rare, people([("c", 1, "no", "none", 100)])) == []


def test_no_metadata_or_no_validation_gives_no_warning():
    cew = people([("x", 0, None, None, 50), ("y", 1, None, None, 50)], source="cew")
    assert thin_conditions(cew, cew) == []
    assert thin_conditions(people([("a", 0, "yes", "big", 10)]), Dataset([])) == []


def test_the_model_card_shows_the_caveat():
    config = {"architecture": "small_cnn", "family": "torch", "class_names": ["open", "closed"],
              "data_config": {"input_size": 64, "channels": 1},
              "split": {"seed": 0, "n_images": {"train": 10, "val": 5, "test": 5}, "train": ["a"], "val": ["c"],
                        "test": ["e"], "thin_in_validation": ["open eyes with glasses=yes reflections=big: 300 "
                                                              "training images (30.0%), 10 validation (1.9%)"]}}
    card = model_card(config)
    assert f"**Caveat:** {THIN_NOTE}:\n- open eyes with glasses=yes reflections=big: 300" in card
    del config["split"]["thin_in_validation"]
    assert "Caveat" not in model_card(config)


def test_train_records_what_it_found_in_the_split(trained_cnn, mrl_dir):
    import json

    from eyebench.data.dataset import load_dataset
    from eyebench.data.splits import apply_split

    config = json.loads((trained_cnn / "config.json").read_text())
    data, split = load_dataset([str(mrl_dir)]), config["split"]
    assert config["split"]["thin_in_validation"] == thin_conditions(apply_split(data, split, "train"),
                                                                    apply_split(data, split, "val"))
