"""Metapsy data standard: reading (';', decimal commas, NA, '.'-derived columns), the sign
convention, the mapping into the internal model, and agreement with Metapsy's own .g on the
whole shared database (skipped where ../shared is absent)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from inflamed.errors import InputError
from inflamed.ingest.metapsy import metapsy_to_contrasts, read_metapsy
from inflamed.ingest.metapsy_effects import compare_with_metapsy, metapsy_effects
from inflamed.ingest.sheets import CONTRAST_COLUMNS

SHARED = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "metapsy-depression-psyctr"
    / "data.csv"
)

# Simulated rows in the Metapsy format (invented numbers). Row 3 has a reference that spans two
# lines; row 5 has only a precalculated g.
HEADER = '"";"study";"condition_arm1";"condition_arm2";"multi_arm1";"multi_arm2";".g";".g_se";"outcome_type";"instrument";"rating";"time";"time_weeks";"mean_arm1";"sd_arm1";"n_arm1";"mean_arm2";"sd_arm2";"n_arm2";"mean_change_arm1";"sd_change_arm1";"n_change_arm1";"mean_change_arm2";"sd_change_arm2";"n_change_arm2";"event_arm1";"event_arm2";"totaln_arm1";"totaln_arm2";"precalc_g";"precalc_g_se";"full_ref";".id"'
ROWS = [
    '"1";"Sim, 2020";"cbt";"wl";NA;NA;0,5;0,3;"msd";"bdi-2";"self-report";"post";8;10;4;20;12;4;20;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;"Sim A. Trial. J 2020.";"Sim_2020_msd"',
    '"2";"Sim, 2021";"cbt";"cau";"f2f";"cau";0,4;0,3;"change";"phq-9";"self-report";"post";12,5;NA;NA;NA;NA;NA;NA;-8;5;30;-6;5;30;NA;NA;NA;NA;NA;NA;"Sim B.\nSecond line of the reference.";"Sim_2021_change_a"',
    '"3";"Sim, 2021";"ipt";"cau";"grp";"cau";0,2;0,3;"change";"phq-9";"self-report";"post";12,5;NA;NA;NA;NA;NA;NA;-7;5;30;-6;5;30;NA;NA;NA;NA;NA;NA;"Sim B.";"Sim_2021_change_b"',
    '"4";"Sim, 2022";"pst";"wl";NA;NA;0,3;0,2;"response (50%)";"hdrs";"clinician";"post";NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;20;12;40;40;NA;NA;"Sim C.";"Sim_2022_resp"',
    '"5";"Sim, 2023";"bat";"cau";NA;NA;0,25;0,15;"other statistic";"hdrs";"clinician";"post";NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;0,25;0,15;"Sim D.";"Sim_2023_other"',
]


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return path


def test_read_keeps_derived_columns_and_parses_decimal_commas(small):
    frame = read_metapsy(small)
    assert len(frame) == 5
    assert frame.attrs["derived_columns"] == [".g", ".g_se", ".id"]
    assert frame.loc[1, "time_weeks"] == 12.5 and frame.loc[0, ".g"] == 0.5
    assert math.isnan(frame.loc[0, "mean_change_arm1"])
    assert frame.loc[0, "multi_arm1"] == ""
    assert frame["row_ref"].tolist() == [f"data.csv:{r}" for r in range(2, 7)]  # records, not lines
    assert "Second line" in frame.loc[1, "full_ref"]


def test_sign_convention_and_data_used(small):
    eff = metapsy_effects(read_metapsy(small))
    assert eff["data_used"].tolist() == [
        "post_msd",
        "change_msd",
        "change_msd",
        "events",
        "precalc_g",
    ]
    # post: arm 1 mean 10 < arm 2 mean 12 on a higher-is-worse scale -> positive g (favours arm 1)
    sp = 4.0
    j = math.exp(math.lgamma(19) - 0.5 * math.log(19) - math.lgamma(18.5))
    assert eff.loc[0, "yi"] == pytest.approx(j * (12 - 10) / sp, rel=1e-12)
    assert "flipped" in eff.loc[0, "sign"] and "flipped" in eff.loc[0, "derivation"]
    # change: -8 vs -6 (more improvement on arm 1) -> positive
    assert eff.loc[1, "yi"] > 0
    # events (response = benefit): 20/40 vs 12/40 -> positive, not flipped
    lor = math.log((20 * 28) / (12 * 20))
    jj = math.exp(math.lgamma(39) - 0.5 * math.log(39) - math.lgamma(38.5))
    assert eff.loc[3, "yi"] == pytest.approx(lor * math.sqrt(3) / math.pi * jj, rel=1e-12)
    assert eff.loc[3, "vi"] == pytest.approx(
        (1 / 20 + 1 / 20 + 1 / 12 + 1 / 28) * 3 / math.pi**2, rel=1e-12
    )
    assert eff.loc[4, "yi"] == 0.25 and eff.loc[4, "vi"] == pytest.approx(0.0225)
    assert eff[".id"].tolist()[0] == "Sim_2020_msd"


def test_mapping_into_internal_model(small):
    ct = metapsy_to_contrasts(read_metapsy(small), review="sim")
    assert list(ct.columns) == CONTRAST_COLUMNS
    assert len(ct) == 4  # the precalculated-only row has no arm-level data
    assert ct["study_id"].tolist() == ["Sim2020", "Sim2021", "Sim2021", "Sim2022"]
    assert ct["measure_kind"].tolist() == ["endpoint", "change", "change", "events"]
    assert ct["outcome"].tolist() == ["depression_severity"] * 3 + ["response"]
    assert ct.loc[1, "change_direction"] == "post_minus_pre"
    assert ct.loc[1, "shared_ctrl"] == ct.loc[2, "shared_ctrl"] == "cau_cau"
    assert ct.loc[0, "shared_ctrl"] == ""
    assert ct.loc[1, "contrast"] == "cbt_f2f_vs_cau_cau"
    assert ct.loc[3, "events_treat"] == 20 and ct.loc[3, "n_ctrl"] == 40
    assert ct.loc[0, "mean_ctrl"] == 12 and math.isnan(ct.loc[0, "se_treat"])


def test_text_in_numeric_column_is_reported(tmp_path):
    path = tmp_path / "data.csv"
    bad = ROWS[0].replace(";20;12;4;20;", ";20;12;4;twenty;", 1)
    path.write_text("\n".join([HEADER, bad]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_metapsy(path)
    assert info.value.row == 2 and info.value.column == "n_arm2" and info.value.value == "twenty"


def test_missing_standard_column(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(HEADER.replace('"outcome_type"', '"type"') + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="outcome_type"):
        read_metapsy(path)


@pytest.mark.shared_data
def test_agreement_with_metapsy_g_on_shared_database():
    if not SHARED.is_file():
        pytest.skip(
            f"the Metapsy database is not at {SHARED} (../shared is absent in a fresh clone)"
        )
    frame = read_metapsy(SHARED, fractional_counts=True)  # three split-arm n such as 19,5
    eff = metapsy_effects(frame)
    assert len(eff) == len(frame) == 900  # 900 records on 940 data lines (40 references span lines)
    cmp = compare_with_metapsy(eff)
    share = float(cmp["agree"].mean())
    lines = [
        f"Metapsy agreement: {int(cmp['agree'].sum())}/{len(cmp)} rows = {share:.4%} within 1e-3 "
        f"(data used: {cmp['data_used'].value_counts().to_dict()})"
    ]
    for r in cmp[~cmp["agree"]].itertuples():
        lines.append(
            f"  {r.row_ref} {r._1 or '(no .id)'} [{r.data_used}]: inflamed {r.yi:.6f} vs .g {r.metapsy_g:.6f} -> {r.explanation}"
        )
    report = "\n".join(lines)
    print(report)
    assert share >= 0.99, report
    assert (cmp.loc[~cmp["agree"], "explanation"] != "").all()
    assert np.isfinite(eff.loc[eff["data_used"] != "none", "yi"]).all()


def test_metapsy_folder_as_review(small):
    from inflamed.extract import extract_effects
    from inflamed.ingest.metapsy import read_metapsy_review

    review = read_metapsy_review(small.parent, name="sim")
    assert len(review.contrasts) == 4 and set(review.studies.study_id) == {
        "Sim2020",
        "Sim2021",
        "Sim2022",
        "Sim2023",
    }
    assert set(review.instruments.higher_is_worse) == {"true"}
    res = extract_effects(
        review, {"depression_severity": {"type": "continuous", "measure": "SMD"}}, {}
    )
    eff = metapsy_effects(read_metapsy(small))
    # extraction (sign convention applied) reproduces the Metapsy-oriented g of the same row
    assert res.effects.loc[res.effects.study_id == "Sim2020", "yi"].iloc[0] == pytest.approx(
        eff.loc[0, "yi"], rel=1e-12
    )
