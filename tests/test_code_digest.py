"""The per-rule code digest: changes with behaviour, not with comments; follows imports."""

from __future__ import annotations

from pathlib import Path

from inflamed.pipeline.code_digest import code_digest, module_closure

REPO = Path(__file__).resolve().parents[1]


def _script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rule.py"
    path.write_text(text, encoding="utf-8")
    return path


def test_comments_docstrings_and_blank_lines_do_not_change_the_digest(tmp_path):
    plain = code_digest(_script(tmp_path, "x = 1\nprint(x)\n"))
    noted = code_digest(_script(tmp_path, '"""A rule."""\n\n# set x\nx = 1  # one\n\n\nprint(x)\n'))
    assert plain == noted


def test_a_changed_value_changes_the_digest(tmp_path):
    assert code_digest(_script(tmp_path, "x = 1\n")) != code_digest(_script(tmp_path, "x = 2\n"))


def test_library_modules_are_followed_transitively_and_type_only_imports_are_not(tmp_path):
    script = _script(tmp_path, "from inflamed.pool import analyse_outcome\n")
    closure = {p.relative_to(REPO / "src").as_posix() for p in module_closure(script)}
    assert "inflamed/pool.py" in closure
    assert "inflamed/stats/pooling.py" in closure  # pool -> stats.pooling
    assert "inflamed/stats/__init__.py" in closure  # a package runs its __init__
    assert not any(p.startswith("inflamed/figures/") for p in closure)
    # inflamed.stats lists every engine module under TYPE_CHECKING only: none is loaded by that.
    errors_only = _script(tmp_path, "from inflamed.stats.errors import InputError\n")
    names = {p.name for p in module_closure(errors_only)}
    assert "pooling.py" not in names


def test_names_from_the_engine_face_resolve_to_their_modules(tmp_path):
    script = _script(tmp_path, "from inflamed.stats import rma_mh\n")
    assert "binary.py" in {p.name for p in module_closure(script)}


def test_the_digest_is_the_same_in_every_process_whatever_the_hash_seed():
    """Set constants (``x in {"a", "b"}``) have a hash-ordered repr; the digest must not."""
    import os
    import subprocess
    import sys

    script = REPO / "workflow" / "scripts" / "ingest.py"
    code = f"from inflamed.pipeline.code_digest import code_digest; print(code_digest({str(script)!r}))"
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3", "4")
    }
    assert len(digests) == 1, digests


def test_names_from_the_lazy_figures_package_resolve_to_their_modules(tmp_path):
    """inflamed.figures loads its names on first use: no import there names forest.py."""
    script = _script(tmp_path, "from inflamed.figures import forest_plot, save_figure\n")
    names = {p.name for p in module_closure(script)}
    assert {"forest.py", "style.py"} <= names
    assert "funnel.py" not in names
