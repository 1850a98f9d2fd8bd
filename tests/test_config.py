"""DataConfig serialisation and the cache location."""
import pytest

from eyebench.config import CLASS_NAMES, DataConfig, cache_dir, count


def test_class_names_order():
    assert CLASS_NAMES == ("open", "closed")


def test_data_config_round_trip():
    cfg = DataConfig(input_size=96, channels=3, mean=(0.4, 0.5, 0.6), std=(0.2, 0.2, 0.2))
    d = cfg.to_dict()
    assert d == {"input_size": 96, "channels": 3, "mean": [0.4, 0.5, 0.6], "std": [0.2, 0.2, 0.2], "contrast": "none",
                 "flip_average": False, "zoom_average": 1.0}
    assert DataConfig.from_dict(d) == cfg
    clahe = DataConfig(contrast="clahe")
    assert DataConfig.from_dict(clahe.to_dict()) == clahe


def test_data_config_contrast_default_and_check():
    # checkpoints written before the contrast option have no such key: they read as "none"
    assert DataConfig.from_dict({"input_size": 64, "channels": 1, "mean": [0.5], "std": [0.25]}).contrast == "none"
    with pytest.raises(ValueError, match="contrast must be one of none, clahe"):
        DataConfig(contrast="histeq")


def test_data_config_unknown_key():
    with pytest.raises(ValueError, match="unknown data_config keys"):
        DataConfig.from_dict({"input_size": 64, "colour": True})


def test_cache_dir_follows_env(isolated_cache):
    assert not isolated_cache.exists()
    assert cache_dir() == isolated_cache
    assert isolated_cache.is_dir()


def test_count_puts_the_noun_in_the_right_number():
    assert count(1, "blink") == "1 blink"
    assert count(0, "blink") == "0 blinks" and count(2, "long closure") == "2 long closures"
    assert count(3, "person", "people") == "3 people"
