"""Artefact writing is atomic and deterministic; provenance joins artefacts to their rules."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from inflamed.io import atomic_open, dumps_json, write_csv, write_json
from inflamed.pipeline.provenance import build_manifest, digest_of, make_record, sha256_file


def test_write_csv_is_deterministic_and_sorted(tmp_path):
    frame = pd.DataFrame({"b": [2, 1], "x": [1 / 3, math.pi]})
    write_csv(tmp_path / "a.csv", frame, sort_by=["b"])
    write_csv(tmp_path / "b.csv", frame.iloc[::-1], sort_by=["b"])
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv").read_text().splitlines()[1] == "1,3.14159265359"


def test_negative_zero_is_written_as_zero(tmp_path):
    write_csv(tmp_path / "z.csv", pd.DataFrame({"yi": [-0.0, 1.0]}))
    assert (tmp_path / "z.csv").read_text().splitlines()[1] == "0"
    assert dumps_json({"yi": -0.0}) == '{\n  "yi": 0.0\n}\n'


def test_json_has_sorted_keys_fixed_floats_and_no_nan():
    text = dumps_json({"b": np.float64(0.1) + 0.2, "a": float("nan"), "c": np.int64(3)})
    assert json.loads(text) == {"a": None, "b": 0.3, "c": 3}
    assert text.index('"a"') < text.index('"b"')


def test_atomic_open_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_manifest_joins_artefacts_to_rules(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("in.csv").write_text("a\n1\n")
    Path("out.csv").write_text("a\n2\n")
    record = make_record(
        rule="pool",
        wildcards={"review": "r"},
        params={"level": 95},
        inputs=["in.csv"],
        outputs=[tmp_path / "out.csv"],
    )
    assert record.outputs == ["out.csv"]  # absolute paths under the working dir become relative
    manifest = build_manifest(["out.csv"], [record.to_dict()], config={"x": 1})
    (entry,) = manifest["artefacts"]
    assert entry["rule"] == "pool"
    assert entry["inputs"] == {"in.csv": sha256_file("in.csv")}
    assert entry["params"] == {"level": 95}
    assert manifest["versions"]["numpy"] == np.__version__
    write_json("m1.json", manifest)
    write_json("m2.json", build_manifest(["out.csv"], [record.to_dict()], config={"x": 1}))
    assert Path("m1.json").read_bytes() == Path("m2.json").read_bytes()
    assert digest_of(["out.csv", "in.csv"]) == digest_of(["in.csv", "out.csv"])
