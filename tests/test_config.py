"""Config validation: a bad key, type or value names the file, the key, the value and the fix."""

from pathlib import Path

import pytest
import yaml

from inflamed.errors import InputError
from inflamed.pipeline.config import load_config

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def shipped() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_shipped_config_is_valid_and_defaults_are_filled():
    config = load_config(shipped(), SCHEMA)
    assert config["pooling"]["preset"] == "cochrane"
    assert config["extraction"]["multi_arm"] == "split"
    assert config["mechanism"]["seed"] == 20261121
    review = config["reviews"]["anti-inflammatory-crp"]
    assert review["format"] == "sheets"
    assert review["outcomes"]["response"]["event_is"] == "benefit"


def test_minimal_config_gets_every_default():
    config = load_config(
        {"reviews": {"r": {"path": "x", "outcomes": {"o": {"type": "continuous", "label": "O"}}}}},
        SCHEMA,
    )
    assert config["reviews"]["r"]["outcomes"]["o"]["measure"] == "SMD"
    assert config["pooling"]["level"] == 95
    assert config["instruments"] == "data/instruments.csv"


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        (
            lambda c: c["pooling"].__setitem__("method", "REMLX"),
            ["key 'pooling.method'", "'REMLX'", "'REML'"],
        ),
        (
            lambda c: c["pooling"].__setitem__("metod", "REML"),
            ["key 'pooling.metod'", "unknown key", "method"],
        ),
        (
            lambda c: c["pooling"].__setitem__("level", "95%"),
            ["key 'pooling.level'", "'95%'", "number"],
        ),
        (
            lambda c: c["extraction"].__setitem__("prepost_correlation", 1.5),
            ["key 'extraction.prepost_correlation'", "<= 1"],
        ),
        (
            lambda c: c["reviews"]["anti-inflammatory-crp"]["outcomes"]["response"].pop("event_is"),
            ["event_is", "'benefit' or 'harm'"],
        ),
        (
            lambda c: c["reviews"]["anti-inflammatory-crp"]["outcomes"]["anhedonia"].__setitem__(
                "measure", "RR"
            ),
            ["anhedonia.measure", "SMD"],
        ),
        (
            lambda c: c["reviews"].__setitem__("Bad Name", c["reviews"]["anti-inflammatory-crp"]),
            ["Bad Name", "pattern"],
        ),
    ],
)
def test_bad_config_names_key_value_and_expectation(mutate, fragments):
    config = shipped()
    mutate(config)
    with pytest.raises(InputError) as caught:
        load_config(config, SCHEMA, source="my.yaml")
    message = str(caught.value)
    assert message.startswith("file my.yaml")
    for fragment in fragments:
        assert fragment in message, message
