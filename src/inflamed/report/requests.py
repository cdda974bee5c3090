"""The data-request log: who to ask for which missing values, and where each request stands.

The log is a human-maintained sheet shipped in the review folder (``data_requests.csv``): the
contacts are data with sources (a name only where a cited source shows it, with URL and location)
and ``status`` is typed by the people who send the requests. The pipeline never writes it; the
report joins it with what this run found missing (``extract/missing_data.csv``), so a reader sees
both what to ask for and what the analyses lacked.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from inflamed.errors import InputError

__all__ = ["NOT_PUBLIC", "REQUEST_COLUMNS", "read_data_requests", "request_log_table"]

#: The file name of the sheet inside a review folder.
REQUESTS_FILE = "data_requests.csv"

#: Columns the sheet must carry (header row).
REQUEST_COLUMNS = (
    "priority",
    "study_id",
    "ask",
    "contact_name",
    "contact_organisation",
    "contact_source",
    "contact_source_location",
    "values_to_request",
    "crp_subgroups",
    "status",
    "status_date",
    "notes",
)

#: What the log says where no cited source names a contact (never a guess).
NOT_PUBLIC = "not public in the cited sources"


def read_data_requests(folder: str | Path) -> pd.DataFrame | None:
    """Read ``<folder>/data_requests.csv``; ``None`` when the review ships none.

    Raises
    ------
    InputError
        A required column is absent, or a named contact has no source URL and location.
    """
    path = Path(folder) / REQUESTS_FILE
    if not path.is_file():
        return None
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    absent = [c for c in REQUEST_COLUMNS if c not in frame.columns]
    if absent:
        raise InputError(
            "the data-request log lacks required columns",
            file=path,
            row=1,
            column=absent[0],
            expected=", ".join(REQUEST_COLUMNS),
        )
    for i, r in frame.iterrows():
        named = r["contact_name"].strip() or r["contact_organisation"].strip()
        if named and not (r["contact_source"].strip() and r["contact_source_location"].strip()):
            # A contact without its source would be a guess in the report.
            raise InputError(
                "a named contact has no source",
                file=path,
                row=int(i) + 2,
                column="contact_source",
                value=named,
                expected="the URL and the location in it where the name is shown",
            )
    return frame


def _contact(r: pd.Series) -> str:
    parts = [p for p in (r["contact_name"].strip(), r["contact_organisation"].strip()) if p]
    return "; ".join(parts) if parts else NOT_PUBLIC


def _gaps(missing: pd.DataFrame | None, study_id: str, labels: Mapping[str, str]) -> str:
    if missing is None or missing.empty or "study_id" not in missing.columns:
        return ""
    rows = missing[missing["study_id"].astype(str) == study_id]
    if rows.empty:
        return ""
    outcomes = sorted(set(rows.get("outcome", pd.Series(dtype=str)).astype(str)))
    return f"{len(rows)} ({', '.join(labels.get(o, o) for o in outcomes)})"


def request_log_table(
    requests: pd.DataFrame | None,
    missing: pd.DataFrame | None,
    outcome_labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per request, in priority order, joined with this run's missing-data rows.

    Parameters
    ----------
    requests
        The sheet as read by :func:`read_data_requests`.
    missing
        ``extract/missing_data.csv`` of the run (``study_id``, ``outcome`` columns used).
    outcome_labels
        Outcome name -> its label, so the gaps read "Depressive symptom severity".

    Returns
    -------
    pandas.DataFrame
        Human column names; ``gaps in this run`` counts the run's missing-data rows of the study.
    """
    columns = [
        "#",
        "study",
        "ask",
        "contact",
        "contact source",
        "values to request",
        "CRP subgroups",
        "gaps in this run",
        "status",
    ]
    if requests is None or requests.empty:
        return pd.DataFrame(columns=columns)
    frame = requests.assign(_p=pd.to_numeric(requests["priority"], errors="coerce"))
    frame = frame.sort_values(["_p", "study_id"], kind="mergesort")
    rows = []
    for _, r in frame.iterrows():
        source = " ".join(
            p for p in (r["contact_source"].strip(), r["contact_source_location"].strip()) if p
        )
        status = r["status"].strip() or "not requested"
        if r["status_date"].strip():
            status = f"{status} ({r['status_date'].strip()})"
        rows.append(
            {
                "#": r["priority"],
                "study": r["study_id"],
                "ask": r["ask"],
                "contact": _contact(r),
                "contact source": source,
                "values to request": r["values_to_request"],
                "CRP subgroups": r["crp_subgroups"],
                "gaps in this run": _gaps(missing, r["study_id"], outcome_labels or {}),
                "status": status,
            }
        )
    return pd.DataFrame(rows, columns=columns)
