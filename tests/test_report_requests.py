"""The data-request log: the shipped sheet names contacts only with sources, and the report shows it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from inflamed.errors import InputError
from inflamed.report.requests import NOT_PUBLIC, read_data_requests, request_log_table

REVIEW = Path(__file__).resolve().parents[1] / "data" / "reviews" / "anti-inflammatory-crp"


def test_shipped_log_covers_every_trial_and_puts_the_meta_analysis_first() -> None:
    log = read_data_requests(REVIEW)
    assert log is not None
    studies = pd.read_csv(REVIEW / "studies.csv", dtype=str)
    assert set(studies["study_id"]) <= set(log["study_id"])
    first = log.assign(p=log["priority"].astype(int)).sort_values("p").iloc[0]
    assert first["study_id"] == "MacGiollabhui2026"
    assert set(log["status"]) <= {"not requested", "requested", "reminded", "received", "declined"}
    for _, r in log.iterrows():
        assert "CRP >= 2 mg/L" in r["crp_subgroups"] and "CRP >= 3 mg/L" in r["crp_subgroups"]
        for value in ("n randomised", "SD", "responders", "remitters", "serious adverse event"):
            assert value in r["values_to_request"]


def test_named_contacts_carry_url_and_location_and_others_say_not_public() -> None:
    log = read_data_requests(REVIEW)
    table = request_log_table(log, None)
    named = log[(log["contact_name"] != "") | (log["contact_organisation"] != "")]
    assert set(named["study_id"]) == {"RAISON2013", "SIRUKUMAB_NCT02473289"}
    assert (named["contact_source"].str.startswith("https://")).all()
    unnamed = table[~table["study"].isin(named["study_id"])]
    assert (unnamed["contact"] == NOT_PUBLIC).all()


def test_a_contact_without_source_is_refused(tmp_path: Path) -> None:
    log = read_data_requests(REVIEW)
    log.loc[1, "contact_source"] = ""
    log.to_csv(tmp_path / "data_requests.csv", index=False)
    with pytest.raises(InputError, match="named contact has no source") as info:
        read_data_requests(tmp_path)
    assert "row 3" in str(info.value)


def test_join_counts_the_runs_gaps_per_study() -> None:
    log = read_data_requests(REVIEW)
    missing = pd.DataFrame(
        {
            "study_id": ["NETTIS2021", "NETTIS2021", "PREDDICT"],
            "outcome": ["response", "sae", "sae"],
        }
    )
    table = request_log_table(log, missing)
    gaps = dict(zip(table["study"], table["gaps in this run"], strict=True))
    assert gaps["NETTIS2021"] == "2 (response, sae)"
    assert gaps["PREDDICT"] == "1 (sae)"
    assert gaps["RAISON2013"] == ""
    assert list(table["#"].astype(int)) == sorted(table["#"].astype(int))
    labelled = request_log_table(log, missing, {"sae": "Serious adverse events"})
    assert "1 (Serious adverse events)" in set(labelled["gaps in this run"])
