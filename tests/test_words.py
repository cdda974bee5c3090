"""Do the shipped data, docs and report code describe the search as a review would?

A review's search log names the sources searched (which indexes, registries, publishers' pages,
repositories), the date and the query, and nothing else: no names of internal look-up commands,
no paths outside the repository. This test can fail: put one of the words below into a README.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = re.compile(
    r"find_string|find_files|read_file|search tool|\.\./shared/|inflamed helper|session's"
    r"|this session|stored public corpora",
    re.IGNORECASE,
)
SUFFIXES = {".csv", ".tsv", ".md", ".rst", ".py", ".ipynb", ".json", ".yaml"}


def _files() -> list[Path]:
    roots = [REPO / "data", REPO / "docs", REPO / "notebooks", REPO / "src", REPO / "workflow"]
    files = [REPO / "README.md"]
    for root in roots:
        files += [p for p in root.rglob("*") if p.is_file() and p.suffix in SUFFIXES]
    return sorted(f for f in files if f.is_file())


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_internal_tool_names_or_outside_paths(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    hits = sorted({m.group(0) for m in FORBIDDEN.finditer(text)})
    assert not hits, f"{path.relative_to(REPO)} says {hits}; describe sources as a review would"
