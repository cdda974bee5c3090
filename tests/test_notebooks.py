"""Executed notebooks and their HTML are byte-identical across runs and open offline."""

import json

import nbformat
import pytest

from inflamed.errors import InputError
from inflamed.pipeline.notebooks import _offline, execute, normalise, to_html


@pytest.fixture()
def notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("greeting = 'hello'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        params,
        nbformat.v4.new_code_cell("print(greeting * 2)"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / "in.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_two_executions_normalise_to_the_same_bytes(notebook, tmp_path):
    outputs = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.ipynb"
        execute(notebook, out, {"greeting": "hi"})
        normalise(out)
        to_html(out, tmp_path / f"{name}.html")
        outputs.append(out)
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()
    executed = json.loads(outputs[0].read_text())
    assert "start_time" not in json.dumps(executed["metadata"])
    assert [c["id"] for c in executed["cells"]] == [
        f"cell-{i}" for i in range(len(executed["cells"]))
    ]
    html = (tmp_path / "a.html").read_text()
    assert "hihi" in html and "print(greeting" not in html  # outputs shown, code hidden


def test_unknown_parameter_is_an_error(notebook, tmp_path):
    with pytest.raises(InputError, match="no_such_parameter"):
        execute(notebook, tmp_path / "x.ipynb", {"no_such_parameter": "1"})


def test_remote_scripts_are_removed():
    html = (
        '<script src="https://cdnjs.example/require.js"></script>'
        '<script type="module">const m = await import("https://cdnjs.example/m.mjs");</script>'
        "<script>var local = 1;</script>"
    )
    assert _offline(html) == "<script>var local = 1;</script>"
