"""A review as the workflow sees it: a folder of raw files in one of three formats.

:func:`load_review` dispatches on the review's ``format`` (``sheets``, ``metapsy``, ``ctgov``) to
:mod:`inflamed.ingest` and returns the internal model. :func:`validate_review_inputs` is the same
check, run by the workflow at parse time so that a bad sheet stops the run before any job starts.
Raw files are only ever opened for reading.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from inflamed.errors import InputError
from inflamed.ingest.double_extraction import compare_extractions
from inflamed.ingest.sheets import Review, read_review

#: A second extractor's copy of outcomes.csv; when present it must agree with the first.
SECOND_EXTRACTION = "outcomes.extractor2.csv"

#: Most disagreements quoted in the error message (all are in the ingest log).
MAX_LISTED = 25


def _check_double_extraction(folder: Path) -> None:
    second = folder / SECOND_EXTRACTION
    if not second.exists():
        return
    differences = compare_extractions(folder / "outcomes.csv", second)
    if differences.empty:
        return
    lines = [
        " | ".join(str(v) for v in row)
        for row in differences.head(MAX_LISTED).itertuples(index=False)
    ]
    more = len(differences) - len(lines)
    listing = "\n  ".join([" | ".join(differences.columns), *lines])
    if more > 0:
        listing += f"\n  ... and {more} more"
    raise InputError(
        f"the two extractions disagree in {len(differences)} place(s); resolve them before "
        f"pooling:\n  {listing}\n",
        file=str(second),
        expected=f"the same values as {folder / 'outcomes.csv'}",
    )


def load_review(spec: Mapping[str, Any], *, instruments: str | Path) -> Review:
    """Read and validate one review (a ``reviews.<name>`` config entry) into the internal model."""
    return load_review_with_registry(spec, instruments=instruments)[0]


def load_review_with_registry(
    spec: Mapping[str, Any], *, instruments: str | Path
) -> tuple[Review, dict[str, Any] | None]:
    """:func:`load_review`, plus what saved registry records added (``None`` without a mapping).

    A sheets review with ``registry_mapping`` in its config also reads the records saved by
    ``inflamed fetch ctgov`` (:mod:`inflamed.ingest.registry`); without saved records nothing
    changes.
    """
    folder = Path(spec["path"])
    if not folder.is_dir():
        raise InputError("review folder not found", file=str(folder), expected="a directory")
    fmt = spec.get("format", "sheets")
    outcomes = sorted(spec["outcomes"])
    if fmt == "sheets":
        _check_double_extraction(folder)
        review = read_review(folder, instruments_path=instruments, outcomes=outcomes)
        if not spec.get("registry_mapping"):
            return review, None
        from inflamed.ingest.registry import review_registry

        return review_registry(spec, review, instruments=instruments)
    if fmt == "metapsy":
        from inflamed.ingest.metapsy import read_metapsy_review

        return read_metapsy_review(
            folder,
            instruments_path=instruments,
            outcomes=outcomes,
            fractional_counts=bool(spec.get("fractional_counts", False)),
        ), None
    if fmt == "ctgov":
        from inflamed.ingest.ctgov_review import read_ctgov_review

        return read_ctgov_review(folder, instruments_path=instruments, outcomes=outcomes), None
    raise InputError(
        "unknown review format", file=str(folder), value=fmt, expected="sheets, metapsy or ctgov"
    )


def validate_review_inputs(spec: Mapping[str, Any], *, instruments: str | Path) -> None:
    """Raise :class:`InputError` if the review's raw files are not valid (nothing is written)."""
    load_review(spec, instruments=instruments)


def ingest_summary(review: Review) -> dict[str, Any]:
    """Counts a reviewer checks first: studies, rows per outcome and subgroup, unit conversions."""
    contrasts = review.contrasts
    per_outcome: dict[str, dict[str, int]] = {}
    if not contrasts.empty:
        counts = contrasts.groupby(["outcome", "subgroup"]).size()
        for (outcome, subgroup), n in sorted(counts.items()):
            per_outcome.setdefault(str(outcome), {})[str(subgroup)] = int(n)
    conversions = review.conversions
    return {
        "review": review.name,
        "studies": len(review.studies),
        "contrast_rows": len(contrasts),
        "rows_per_outcome_and_subgroup": per_outcome,
        "risk_of_bias_rows": len(review.risk_of_bias),
        "published_estimates": len(review.published_estimates),
        "unit_conversions": (
            conversions.to_dict(orient="records") if isinstance(conversions, pd.DataFrame) else []
        ),
    }
