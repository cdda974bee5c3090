"""ClinicalTrials.gov API v2 records into the internal model.

The real record tests/fixtures/ctgov/NCT00463580.json (Raison 2013; numbers copied from the
registry, see its SOURCE.md) covers means/SD by time-point class, counts, serious adverse events
and a stratum-difference outcome that cannot become arm-level numbers. Features the real record
does not have (LS means with SE per arm, CRP strata as classes, percentages) are tested on a
SIMULATED record built in code below (invented numbers, v2 structure).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import yaml

from inflamed.errors import InputError
from inflamed.ingest.ctgov import MAPPING_SCHEMA, read_ctgov_record, read_mapping
from inflamed.ingest.metapsy import metapsy_to_contrasts, read_metapsy
from inflamed.ingest.sheets import CONTRAST_COLUMNS, read_review

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "tests" / "fixtures" / "ctgov" / "NCT00463580.json"
HDRS = "Hamilton Depression Rating Scale 17 (HDRS-17) Scores"
RESPONSE = (
    "Number of Participants With a 50% Reduction in Hamilton Depression Rating Scale (HDRS) Scores"
)
MAPPING = {
    "nct_id": "NCT00463580",
    "study_id": "RAISON2013",
    "review": "anti-inflammatory-crp",
    "contrasts": [{"contrast": "infliximab_vs_placebo", "treat": "Infliximab", "ctrl": "Placebo"}],
    "outcomes": [
        {
            "title": HDRS,
            "outcome": "depression_severity",
            "instrument": "HAMD17",
            "measure_kind": "endpoint",
            "classes": [
                {"title": "Week 12", "timepoint_weeks": 12},
                {"title": "Week 4", "timepoint_weeks": 4},
            ],
        },
        {
            "title": RESPONSE,
            "outcome": "response",
            "instrument": "HAMD17",
            "measure_kind": "events",
            "timepoint_weeks": 12,
        },
    ],
    "serious_adverse_events": {"outcome": "serious_ae", "timepoint_weeks": 12},
}


def _need_record():
    if not RECORD.is_file():
        pytest.skip("tests/fixtures/ctgov/NCT00463580.json is not there")


def _write(tmp_path: Path, record: dict, name: str = "record.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def test_real_record_maps_into_internal_model():
    _need_record()
    frame = read_ctgov_record(RECORD, MAPPING)
    assert list(frame.columns) == CONTRAST_COLUMNS
    wk12 = frame[(frame.outcome == "depression_severity") & (frame.timepoint_weeks == 12)].iloc[0]
    # registry: Week 12 HDRS-17 16.6 (8.4) vs 14.0 (8.1), N analysed 30/30
    assert (wk12.mean_treat, wk12.sd_treat, wk12.n_treat) == (16.6, 8.4, 30)
    assert (wk12.mean_ctrl, wk12.sd_ctrl, wk12.n_ctrl) == (14.0, 8.1, 30)
    assert "class 'Week 12'" in wk12.source_location and wk12.row_ref.startswith(
        "NCT00463580.json:outcomeMeasures[0].classes[7]"
    )
    wk4 = frame[(frame.outcome == "depression_severity") & (frame.timepoint_weeks == 4)].iloc[0]
    assert (wk4.mean_treat, wk4.mean_ctrl) == (18.8, 16.3)
    resp = frame[frame.outcome == "response"].iloc[0]
    assert (resp.events_treat, resp.n_treat, resp.events_ctrl, resp.n_ctrl) == (15, 30, 15, 30)
    assert resp.measure_kind == "events" and math.isnan(resp.mean_treat)
    assert frame.source.iloc[0] == "https://clinicaltrials.gov/study/NCT00463580?tab=results"


def test_serious_adverse_events_come_from_the_adverse_events_module():
    _need_record()
    record = json.loads(RECORD.read_text(encoding="utf-8"))
    sae = read_ctgov_record(RECORD, MAPPING).query("outcome == 'serious_ae'").iloc[0]
    assert (sae.events_treat, sae.n_treat, sae.events_ctrl, sae.n_ctrl) == (0, 30, 0, 30)
    assert "adverseEventsModule" in sae.row_ref
    # the participant flow has withdrawals (3 and 2 not completed); they must not leak in
    flow = json.dumps(record["resultsSection"]["participantFlowModule"])
    assert "NOT COMPLETED" in flow.upper() or "dropWithdraws" in flow


def test_sae_follows_the_module_not_the_flow(tmp_path):
    _need_record()
    record = json.loads(RECORD.read_text(encoding="utf-8"))
    groups = record["resultsSection"]["adverseEventsModule"]["eventGroups"]
    next(g for g in groups if g["title"] == "Placebo")["seriousNumAffected"] = 2  # modified copy
    sae = (
        read_ctgov_record(_write(tmp_path, record, "NCT00463580.json"), MAPPING)
        .query("outcome == 'serious_ae'")
        .iloc[0]
    )
    assert (sae.events_treat, sae.events_ctrl) == (0, 2)


def test_arms_matched_by_title_not_position(tmp_path):
    _need_record()
    record = json.loads(RECORD.read_text(encoding="utf-8"))
    shuffled = copy.deepcopy(record)
    for om in shuffled["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"]:
        om["groups"] = list(reversed(om["groups"]))
    shuffled["resultsSection"]["adverseEventsModule"]["eventGroups"].reverse()
    a = read_ctgov_record(RECORD, MAPPING)
    b = read_ctgov_record(_write(tmp_path, shuffled, "NCT00463580.json"), MAPPING)
    cols = [c for c in CONTRAST_COLUMNS if c.endswith(("_treat", "_ctrl")) and c != "shared_ctrl"]
    assert a[cols].equals(b[cols])
    # swapping the titles (not the positions) swaps the arms
    swapped = copy.deepcopy(MAPPING)
    swapped["contrasts"] = [
        {"contrast": "placebo_vs_infliximab", "treat": "Placebo", "ctrl": "Infliximab"}
    ]
    c = read_ctgov_record(RECORD, swapped)
    assert c.iloc[0].mean_treat == a.iloc[0].mean_ctrl


def test_stratum_differences_cannot_become_arms():
    _need_record()
    mapping = copy.deepcopy(MAPPING)
    mapping["outcomes"] = [
        {
            "title": "Change in Hamilton Depression Rating Scale 17 (HDRS-17) Scores Subgrouped by Baseline Hs-CRP.",
            "outcome": "depression_severity",
            "instrument": "HAMD17",
            "measure_kind": "change",
            "change_direction": "post_minus_pre",
        }
    ]
    with pytest.raises(InputError) as info:
        read_ctgov_record(RECORD, mapping)
    assert info.value.value == "Infliximab" and "All Participants" in info.value.expected


def test_unknown_title_and_wrong_trial():
    _need_record()
    mapping = copy.deepcopy(MAPPING)
    mapping["outcomes"][0]["title"] = "HDRS at week 12"
    with pytest.raises(InputError) as info:
        read_ctgov_record(RECORD, mapping)
    assert info.value.value == "HDRS at week 12" and HDRS in info.value.expected
    mapping = copy.deepcopy(MAPPING)
    mapping["nct_id"] = "NCT00000000"
    with pytest.raises(InputError, match="not the trial"):
        read_ctgov_record(RECORD, mapping)
    mapping = copy.deepcopy(MAPPING)
    del mapping["outcomes"][0]["classes"]
    with pytest.raises(InputError, match="several classes"):
        read_ctgov_record(RECORD, mapping)


# --- simulated record (invented numbers, API v2 structure) ------------------------------------


def _simulated() -> dict:
    groups = [{"id": "OG000", "title": "Placebo"}, {"id": "OG001", "title": "Drug X 10 mg"}]
    return {
        "protocolSection": {"identificationModule": {"nctId": "NCT99999999"}},
        "resultsSection": {
            "outcomeMeasuresModule": {
                "outcomeMeasures": [
                    {
                        "title": "Change From Baseline in HAM-D17 Total Score at Week 8",
                        "paramType": "LEAST_SQUARES_MEAN",
                        "dispersionType": "STANDARD_ERROR",
                        "unitOfMeasure": "units on a scale",
                        "timeFrame": "Baseline and Week 8",
                        "groups": groups,
                        "denoms": [{"units": "Participants", "counts": [{"groupId": "OG000", "value": "50"}, {"groupId": "OG001", "value": "48"}]}],
                        "classes": [
                            {"title": "hsCRP >= 3 mg/L", "denoms": [{"units": "Participants", "counts": [{"groupId": "OG000", "value": "25"}, {"groupId": "OG001", "value": "24"}]}],
                             "categories": [{"measurements": [{"groupId": "OG000", "value": "-8.0", "spread": "1.2"}, {"groupId": "OG001", "value": "-11.0", "spread": "1.3"}]}]},
                            {"title": "hsCRP < 3 mg/L", "denoms": [{"units": "Participants", "counts": [{"groupId": "OG000", "value": "25"}, {"groupId": "OG001", "value": "24"}]}],
                             "categories": [{"measurements": [{"groupId": "OG000", "value": "-9.0", "spread": "1.1"}, {"groupId": "OG001", "value": "-9.5", "spread": "1.2"}]}]},
                        ],
                    },
                    {
                        "title": "Percentage of Participants With Response",
                        "paramType": "NUMBER",
                        "unitOfMeasure": "percentage of participants",
                        "groups": groups,
                        "denoms": [{"units": "Participants", "counts": [{"groupId": "OG000", "value": "50"}, {"groupId": "OG001", "value": "48"}]}],
                        "classes": [{"categories": [{"measurements": [{"groupId": "OG000", "value": "30.0"}, {"groupId": "OG001", "value": "41.7"}]}]}],
                    },
                    {
                        "title": "Number of Participants in Remission",
                        "paramType": "COUNT_OF_PARTICIPANTS",
                        "unitOfMeasure": "Participants",
                        "groups": groups,
                        "denoms": [{"units": "Participants", "counts": [{"groupId": "OG000", "value": "50"}, {"groupId": "OG001", "value": "48"}]}],
                        "classes": [{"categories": [
                            {"title": "Remitted", "measurements": [{"groupId": "OG000", "value": "10"}, {"groupId": "OG001", "value": "14"}]},
                            {"title": "Not remitted", "measurements": [{"groupId": "OG000", "value": "40"}, {"groupId": "OG001", "value": "34"}]},
                        ]}],
                    },
                ]
            },
            "participantFlowModule": {"periods": [{"dropWithdraws": [{"type": "Adverse Event", "reasons": [{"groupId": "FG000", "numSubjects": "4"}, {"groupId": "FG001", "numSubjects": "6"}]}]}]},
            "adverseEventsModule": {"timeFrame": "8 weeks", "eventGroups": [
                {"id": "EG000", "title": "Drug X 10 mg", "seriousNumAffected": 1, "seriousNumAtRisk": 49},
                {"id": "EG001", "title": "Placebo", "seriousNumAffected": 2, "seriousNumAtRisk": 50},
            ]},
        },
    }  # fmt: skip


SIM_MAPPING = {
    "nct_id": "NCT99999999",
    "study_id": "SimX2024",
    "contrasts": [{"contrast": "drugx_vs_placebo", "treat": "Drug X 10 mg", "ctrl": "Placebo"}],
    "outcomes": [
        {
            "title": "Change From Baseline in HAM-D17 Total Score at Week 8",
            "outcome": "depression_severity",
            "instrument": "HAMD17",
            "measure_kind": "change",
            "change_direction": "post_minus_pre",
            "timepoint_weeks": 8,
            "classes": [
                {
                    "title": "hsCRP >= 3 mg/L",
                    "subgroup": "crp_high",
                    "subgroup_definition": "hsCRP >= 3 mg/L",
                },
                {
                    "title": "hsCRP < 3 mg/L",
                    "subgroup": "crp_low",
                    "subgroup_definition": "hsCRP < 3 mg/L",
                },
            ],
        },
        {
            "title": "Number of Participants in Remission",
            "outcome": "remission",
            "instrument": "HAMD17",
            "measure_kind": "events",
            "timepoint_weeks": 8,
            "category": "Remitted",
        },
    ],
    "serious_adverse_events": {"outcome": "serious_ae", "timepoint_weeks": 8},
}


def test_simulated_ls_means_with_se_become_sds_and_crp_classes_become_subgroups(tmp_path):
    frame = read_ctgov_record(_write(tmp_path, _simulated()), SIM_MAPPING)
    hi = frame[frame.subgroup == "crp_high"].iloc[0]
    assert (hi.mean_treat, hi.se_treat, hi.n_treat) == (-11.0, 1.3, 24)  # class-level denominators
    assert hi.sd_treat == pytest.approx(1.3 * math.sqrt(24))
    assert hi.sd_ctrl == pytest.approx(1.2 * math.sqrt(25))
    assert "SE x sqrt(n)" in hi.notes and "Drug X 10 mg" in hi.notes
    assert hi.subgroup_definition == "hsCRP >= 3 mg/L" and hi.change_direction == "post_minus_pre"
    assert set(frame.subgroup) == {"crp_high", "crp_low", "whole"}
    rem = frame[frame.outcome == "remission"].iloc[0]
    assert (rem.events_treat, rem.n_treat, rem.events_ctrl, rem.n_ctrl) == (14, 48, 10, 50)
    sae = frame[frame.outcome == "serious_ae"].iloc[0]
    assert (sae.events_treat, sae.n_treat, sae.events_ctrl, sae.n_ctrl) == (
        1,
        49,
        2,
        50,
    )  # not the 6/4 AE withdrawals


def test_simulated_percentage_where_count_expected(tmp_path):
    mapping = copy.deepcopy(SIM_MAPPING)
    mapping["outcomes"] = [
        {
            "title": "Percentage of Participants With Response",
            "outcome": "response",
            "measure_kind": "events",
        }
    ]
    with pytest.raises(InputError) as info:
        read_ctgov_record(_write(tmp_path, _simulated()), mapping)
    assert (
        "percentage where a count" in info.value.message
        and info.value.value == "percentage of participants"
    )


def test_yaml_mapping_and_its_schema(tmp_path):
    path = tmp_path / "NCT99999999.mapping.yaml"
    path.write_text(yaml.safe_dump(SIM_MAPPING, sort_keys=False), encoding="utf-8")
    assert read_mapping(path) == SIM_MAPPING
    bad = copy.deepcopy(SIM_MAPPING)
    bad["outcomes"][0]["measure_kind"] = "mean"
    with pytest.raises(InputError) as info:
        read_mapping(bad)
    assert info.value.column == "outcomes/0/measure_kind"
    committed = json.loads(
        (ROOT / "src" / "inflamed" / "schemas" / "ctgov_mapping.schema.json").read_text(
            encoding="utf-8"
        )
    )
    assert committed == json.loads(json.dumps(MAPPING_SCHEMA))


def test_three_formats_share_the_internal_columns(tmp_path):
    sheets = read_review(
        ROOT / "tests" / "fixtures" / "sheets" / "valid",
        instruments_path=ROOT / "tests" / "fixtures" / "sheets" / "instruments.csv",
    ).contrasts
    ctgov = read_ctgov_record(_write(tmp_path, _simulated()), SIM_MAPPING)
    metapsy_csv = tmp_path / "data.csv"
    metapsy_csv.write_text(
        '"study";"condition_arm1";"condition_arm2";"multi_arm1";"multi_arm2";"outcome_type";"instrument";"rating";"time";"time_weeks";"mean_arm1";"sd_arm1";"n_arm1";"mean_arm2";"sd_arm2";"n_arm2";".g";".id"\n'
        '"Sim, 2020";"cbt";"wl";NA;NA;"msd";"bdi-2";"self-report";"post";8;10;4;20;12;4;20;0,5;"x"\n',
        encoding="utf-8",
    )
    metapsy = metapsy_to_contrasts(read_metapsy(metapsy_csv))
    for frame in (sheets, ctgov, metapsy):
        assert list(frame.columns) == CONTRAST_COLUMNS
    numeric = [
        c for c in CONTRAST_COLUMNS if c.endswith(("_treat", "_ctrl")) and c != "shared_ctrl"
    ] + ["timepoint_weeks"]
    for frame in (sheets, ctgov, metapsy):
        assert all(frame[c].dtype == float for c in numeric)


def test_ctgov_folder_as_review_and_extraction(tmp_path):
    _need_record()
    from inflamed.extract import extract_effects
    from inflamed.ingest.ctgov_review import read_ctgov_review

    folder = tmp_path / "ctgov-review"
    folder.mkdir()
    (folder / "NCT00463580.json").write_bytes(RECORD.read_bytes())
    (folder / "NCT00463580.mapping.yaml").write_text(
        yaml.safe_dump(MAPPING, sort_keys=False), encoding="utf-8"
    )
    instruments = tmp_path / "instruments.csv"
    instruments.write_text(
        "instrument,name,construct,higher_is_worse,range_min,range_max,source,source_location,notes\n"
        "HAMD17,Hamilton Depression Rating Scale 17,depression_severity,true,0,52,https://doi.org/10.1136/jnnp.23.1.56,Hamilton 1960,test\n",
        encoding="utf-8",
    )
    review = read_ctgov_review(
        folder,
        instruments_path=instruments,
        outcomes=["depression_severity", "response", "serious_ae"],
    )
    assert review.studies.loc[0, "registry_id"] == "NCT00463580"
    outcomes = {
        "depression_severity": {"type": "continuous", "measure": "SMD"},
        "response": {"type": "binary", "measure": "RR", "event_is": "benefit"},
        "serious_ae": {"type": "binary", "measure": "RR", "event_is": "harm"},
    }
    res = extract_effects(review, outcomes, {"target_weeks": 12})
    dep = res.effects[res.effects.outcome == "depression_severity"].iloc[0]
    assert (
        dep.timepoint_weeks == 12 and dep.yi < 0
    )  # 16.6 vs 14.0 on a higher = worse scale: favours placebo
    assert res.effects[res.effects.outcome == "response"].iloc[0].yi == pytest.approx(0.0)
    assert "serious_ae" not in set(
        res.effects.outcome
    )  # 0/30 vs 0/30: no information on RR, logged
    assert (res.derivation_log.step == "exclude").sum() == 1
    with pytest.raises(InputError, match="unknown outcome"):
        read_ctgov_review(folder, instruments_path=instruments, outcomes=["depression_severity"])


def test_ctgov_folder_with_studies_sheet(tmp_path):
    from inflamed.ingest.ctgov_review import read_ctgov_review

    folder = tmp_path / "sim-ctgov"
    folder.mkdir()
    _write(folder, _simulated(), "NCT99999999.json")
    (folder / "NCT99999999.mapping.yaml").write_text(yaml.safe_dump(SIM_MAPPING), encoding="utf-8")
    header = (
        (ROOT / "tests" / "fixtures" / "sheets" / "valid" / "studies.csv")
        .read_text(encoding="utf-8")
        .splitlines()[0]
    )
    studies = folder / "studies.csv"
    studies.write_text(
        header
        + "\nSimX2024,Xi,2024,NCT99999999,,drug x,anti_il6,10 mg,add_on,8,MDD,stratified,0.3,>=,mg/dL,,49,50,simulated,simulated,simulated\n",
        encoding="utf-8",
    )
    instruments = ROOT / "tests" / "fixtures" / "sheets" / "instruments.csv"
    text = (
        instruments.read_text(encoding="utf-8")
        + "HAMD17,HAM-D 17,depression_severity,true,0,52,https://doi.org/10.1136/jnnp.23.1.56,Hamilton 1960,fixture\n"
    )
    (tmp_path / "instruments.csv").write_text(text, encoding="utf-8")
    review = read_ctgov_review(folder, instruments_path=tmp_path / "instruments.csv")
    assert review.studies.loc[0, "crp_cutoff_mg_l"] == pytest.approx(3.0)
    assert review.conversions["row_ref"].tolist() == ["sim-ctgov/studies.csv:2"]
    studies.write_text(
        header + "\nOther2024,Xi,2024,,,drug x,anti_il6,,,,,,,,,,,,simulated,simulated,\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"not found in studies\.csv"):
        read_ctgov_review(folder, instruments_path=tmp_path / "instruments.csv")
