"""Read ClinicalTrials.gov API v2 study records (JSON) into the internal contrasts table.

A record's results section (``resultsSection.outcomeMeasuresModule.outcomeMeasures[]`` and
``resultsSection.adverseEventsModule``) holds arm-level numbers, but it does not say which arm is
the treatment, which outcome measure is which of the review's outcomes, or which class is which
time point or CRP stratum. A small YAML **mapping** per record says so; arms, outcome measures,
classes and categories are always matched by **title**, never by position (a live record may
order or number its groups differently from another copy).

Mapping format (YAML; JSON schema :data:`MAPPING_SCHEMA`, also in
``inflamed/schemas/ctgov_mapping.schema.json``)::

    nct_id: NCT00463580          # must equal protocolSection.identificationModule.nctId
    study_id: RAISON2013         # the review's study id
    review: anti-inflammatory-crp   # optional, default "ctgov"
    contrasts:                   # one per treatment-vs-control comparison
      - contrast: infliximab_vs_placebo
        treat: Infliximab        # group title (outcome groups and adverse-event groups)
        ctrl: Placebo
    outcomes:
      - title: Hamilton Depression Rating Scale 17 (HDRS-17) Scores   # outcome-measure title
        outcome: depression_severity
        instrument: HAMD17
        measure_kind: endpoint   # endpoint | change | events
        change_direction: post_minus_pre   # change scores only
        timepoint_weeks: 12      # default for its classes
        classes:                 # which classes to read (default: the only class)
          - {title: Week 12, timepoint_weeks: 12}
          - {title: "CRP >= 3 mg/L", subgroup: crp_high, subgroup_definition: "CRP >= 3 mg/L"}
        category: Responders     # events only: which category counts as the event
    serious_adverse_events:      # optional: from adverseEventsModule.eventGroups
      outcome: serious_ae
      timepoint_weeks: 12

What becomes what: MEAN or LEAST_SQUARES_MEAN with STANDARD_DEVIATION -> ``mean``/``sd``; with
STANDARD_ERROR -> ``se`` and ``sd = SE x sqrt(n analysed)`` (the denominator of that group and
class; recorded in ``notes``); with CONFIDENCE_INTERVAL_95 -> ``ci_lb``/``ci_ub``; MEDIAN with
INTER_QUARTILE_RANGE -> ``median``/``q1``/``q3``, with FULL_RANGE -> ``median``/``min``/``max``;
COUNT_OF_PARTICIPANTS (or NUMBER in participants) -> ``events`` over the denominator. A number in
percent where a count is needed stops with an error. Serious adverse events come only from
``adverseEventsModule.eventGroups[].seriousNumAffected / seriousNumAtRisk``, never from
participant-flow withdrawals.

Status: tested on the real record tests/fixtures/ctgov/NCT00463580.json (re-expressed from the
registry XML) and on simulated v2 records for LS means, CRP classes and percentages. Outcome
measures whose groups are strata reporting between-arm differences (as NCT00463580's CRP
subgroup outcome) cannot become arm-level rows and stop with an error naming the group titles;
the mapping's ``between_arm`` entry reads them as contrast-level rows instead
(:mod:`inflamed.ingest.between_arm`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd

from inflamed.errors import InputError
from inflamed.ingest.arm_checks import arm_problem
from inflamed.ingest.mapping_schema import MAPPING_SCHEMA
from inflamed.ingest.sheets import CONTRAST_COLUMNS, NUMBER_COLUMNS
from inflamed.io import load_json, load_yaml, parse_number

__all__ = ["MAPPING_SCHEMA", "read_ctgov_record", "read_mapping"]


CONTINUOUS_PARAMS = {"MEAN", "LEAST_SQUARES_MEAN", "MEDIAN"}
COUNT_PARAMS = {"COUNT_OF_PARTICIPANTS", "NUMBER"}


def read_mapping(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Load (YAML file) and validate a mapping against :data:`MAPPING_SCHEMA`."""
    if isinstance(source, Mapping):
        mapping, name = dict(source), "mapping"
    else:
        name = str(source)
        mapping = load_yaml(source, what="a ClinicalTrials.gov mapping (YAML)")
    validator = jsonschema.Draft202012Validator(MAPPING_SCHEMA)
    for err in sorted(validator.iter_errors(mapping), key=lambda e: list(e.path)):
        where = "/".join(str(p) for p in err.path) or "(top level)"
        raise InputError(
            f"invalid ClinicalTrials.gov mapping: {err.message}",
            file=name,
            column=where,
            expected=err.schema.get("description") if isinstance(err.schema, dict) else None,
        )
    return mapping


def _norm(text: Any) -> str:
    return " ".join(str(text or "").split()).casefold()


def _num(value: Any, file: str, where: str, *, integer: bool = False) -> float:
    """A number of the record, as API v2 writes them: '.' decimal mark, no thousands separator.

    Anything else (``"16,6"``, ``"1,040"``, text, a non-finite or implausibly large value) is an
    error naming the record and the JSON path; it is never read as another number.
    """
    if value is None or str(value).strip() in ("", "NA"):
        return math.nan
    if isinstance(value, bool):
        raise InputError(
            "not a number in the record", file=file, column=where, value=value, expected="a number"
        )
    return parse_number(str(value).strip(), file=file, column=where, integer=integer)


def _find(
    items: list[dict[str, Any]], title: str, what: str, file: str, where: str
) -> tuple[int, dict[str, Any]]:
    hits = [(i, x) for i, x in enumerate(items) if _norm(x.get("title")) == _norm(title)]
    if len(hits) != 1:
        titles = [x.get("title") for x in items]
        raise InputError(
            f"{what} title {'not found' if not hits else 'is ambiguous'}",
            file=file,
            column=where,
            value=title,
            expected=f"one of the record's {what} titles: {titles}",
        )
    return hits[0]


def _row(
    mapping: dict[str, Any], contrast: dict[str, Any], shared: str, file: str
) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(CONTRAST_COLUMNS, "")
    for c in NUMBER_COLUMNS:
        row[c] = math.nan
    row.update(
        study_id=mapping["study_id"], contrast=contrast["contrast"], treat_arm=contrast["treat"], ctrl_arm=contrast["ctrl"],
        shared_ctrl=shared, subgroup="whole", review=mapping.get("review", "ctgov"), extractor="ClinicalTrials.gov v2 reader",
        source=f"https://clinicaltrials.gov/study/{mapping['nct_id']}?tab=results",
    )  # fmt: skip
    return row


def read_ctgov_record(path: str | Path, mapping: str | Path | Mapping[str, Any]) -> pd.DataFrame:
    """Read one ClinicalTrials.gov API v2 study record into contrasts rows.

    Parameters
    ----------
    path
        The record (``https://clinicaltrials.gov/api/v2/studies/<NCT>`` JSON), UTF-8.
    mapping
        A mapping (dict) or the path of a YAML mapping file (format in the module docstring).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`inflamed.ingest.sheets.CONTRAST_COLUMNS`, one row per contrast x mapped
        class (x outcome), plus one per contrast for serious adverse events if mapped. ``row_ref``
        is ``<file>:<JSON path>``; ``source_location`` names the outcome measure, class, parameter
        and dispersion types and time frame; ``notes`` records every derivation (SD from SE).

    Raises
    ------
    InputError
        Wrong NCT id, a title (outcome measure, group, class, category) not in the record, no
        results section, a percentage where a count is needed, unsupported parameter/dispersion
        types, no denominator for a group.
    """
    path = Path(path)
    file = str(path)
    m = read_mapping(mapping)
    record = load_json(path, what="a ClinicalTrials.gov API v2 study record (JSON)")
    if not isinstance(record, dict):
        raise InputError(
            "not a study record", file=file, value=type(record).__name__, expected="a JSON object"
        )
    nct = record.get("protocolSection", {}).get("identificationModule", {}).get("nctId")
    if nct != m["nct_id"]:
        raise InputError(
            "the record is not the trial the mapping describes",
            file=file,
            column="protocolSection.identificationModule.nctId",
            value=nct,
            expected=m["nct_id"],
        )
    results = record.get("resultsSection")
    if not results:
        raise InputError(
            "the record has no posted results",
            file=file,
            column="resultsSection",
            expected="a record with results",
        )
    ctrl_count: dict[str, int] = {}
    for c in m["contrasts"]:
        ctrl_count[_norm(c["ctrl"])] = ctrl_count.get(_norm(c["ctrl"]), 0) + 1
    shared = {
        c["contrast"]: (c["ctrl"] if ctrl_count[_norm(c["ctrl"])] > 1 else "")
        for c in m["contrasts"]
    }
    measures = results.get("outcomeMeasuresModule", {}).get("outcomeMeasures", [])
    rows: list[dict[str, Any]] = []
    for spec in m["outcomes"]:
        i, om = _find(
            measures,
            spec["title"],
            "outcome-measure",
            file,
            "resultsSection.outcomeMeasuresModule.outcomeMeasures[].title",
        )
        base = f"outcomeMeasures[{i}]"
        param, disp = om.get("paramType", ""), om.get("dispersionType", "")
        unit = str(om.get("unitOfMeasure", ""))
        kind = spec["measure_kind"]
        if kind == "events":
            if param not in COUNT_PARAMS:
                raise InputError(
                    "an outcome mapped to events is not a count",
                    file=file,
                    column=f"{base}.paramType",
                    value=param,
                    expected="COUNT_OF_PARTICIPANTS or NUMBER of participants",
                )
            if "percent" in unit.lower() or "%" in unit:
                raise InputError(
                    "a percentage where a count is expected",
                    file=file,
                    column=f"{base}.unitOfMeasure",
                    value=unit,
                    expected="participants (counts); compute counts from the denominators and record it in a sheet instead",
                )
            if param == "NUMBER" and "participant" not in unit.lower():
                raise InputError(
                    "a NUMBER outcome whose unit is not participants",
                    file=file,
                    column=f"{base}.unitOfMeasure",
                    value=unit,
                    expected="participants",
                )
        elif param not in CONTINUOUS_PARAMS:
            raise InputError(
                "unsupported parameter type for a continuous outcome",
                file=file,
                column=f"{base}.paramType",
                value=param,
                expected=", ".join(sorted(CONTINUOUS_PARAMS)),
            )
        groups = om.get("groups", [])
        classes = om.get("classes", [])
        wanted = spec.get("classes") or (
            [{"title": classes[0].get("title", "")}] if len(classes) == 1 else None
        )
        if wanted is None:
            raise InputError(
                "the outcome measure has several classes; the mapping must say which",
                file=file,
                column=f"{base}.classes",
                value=[c.get("title") for c in classes],
                expected="a 'classes' list in the mapping",
            )
        for cspec in wanted:
            j, cls = (
                (0, classes[0])
                if len(classes) == 1 and not cspec.get("title")
                else _find(classes, cspec["title"], "class", file, f"{base}.classes[].title")
            )
            cats = cls.get("categories", [])
            if kind == "events" and spec.get("category"):
                k, cat = _find(
                    cats,
                    spec["category"],
                    "category",
                    file,
                    f"{base}.classes[{j}].categories[].title",
                )
            elif len(cats) == 1:
                k, cat = 0, cats[0]
            else:
                raise InputError(
                    "the class has several categories; the mapping must name the event category",
                    file=file,
                    column=f"{base}.classes[{j}].categories",
                    value=[c.get("title") for c in cats],
                    expected="'category' in the mapping",
                )
            denoms = (cls.get("denoms") or om.get("denoms") or [{}])[0].get("counts", [])
            meas = {x["groupId"]: x for x in cat.get("measurements", [])}
            for contrast in m["contrasts"]:
                row = _row(m, contrast, shared[contrast["contrast"]], file)
                tp = cspec.get("timepoint_weeks", spec.get("timepoint_weeks", math.nan))
                row.update(
                    subgroup=cspec.get("subgroup", "whole"), subgroup_definition=cspec.get("subgroup_definition", ""),
                    outcome=spec["outcome"], instrument=spec.get("instrument", ""), timepoint_weeks=float(tp),
                    measure_kind=kind, change_direction=spec.get("change_direction", "") if kind == "change" else "",
                    row_ref=f"{path.name}:{base}.classes[{j}].categories[{k}]",
                    source_location=f"resultsSection.outcomeMeasuresModule: '{om.get('title')}', class '{cls.get('title', '')}'"
                    + (f", category '{cat.get('title')}'" if cat.get("title") else "")
                    + f"; {param}" + (f" ({disp})" if disp else "") + f", {unit}; time frame '{om.get('timeFrame', '')}'",
                )  # fmt: skip
                notes = []
                for arm in ("treat", "ctrl"):
                    _, g = _find(groups, contrast[arm], "group", file, f"{base}.groups[].title")
                    gid = g["id"]
                    n = next(
                        (
                            _num(x.get("value"), file, f"{base}.denoms", integer=True)
                            for x in denoms
                            if x.get("groupId") == gid
                        ),
                        math.nan,
                    )
                    if math.isnan(n):
                        raise InputError(
                            "no denominator for the group",
                            file=file,
                            column=f"{base}.denoms",
                            value=g["title"],
                            expected="a count per group",
                        )
                    row[f"n_{arm}"] = n
                    x = meas.get(gid)
                    if x is None:
                        raise InputError(
                            "no measurement for the group",
                            file=file,
                            column=f"{base}.classes[{j}].categories[{k}].measurements",
                            value=g["title"],
                            expected="a measurement per group",
                        )
                    value = _num(x.get("value"), file, f"{base}.value")
                    if kind == "events":
                        if value != int(value):
                            raise InputError(
                                "a fraction where a count is expected",
                                file=file,
                                column=f"{base}.value",
                                value=x.get("value"),
                                expected="a whole number of participants",
                            )
                        row[f"events_{arm}"] = value
                        continue
                    if param == "MEDIAN":
                        row[f"median_{arm}"] = value
                        if disp == "INTER_QUARTILE_RANGE":
                            row[f"q1_{arm}"], row[f"q3_{arm}"] = (
                                _num(x.get("lowerLimit"), file, base),
                                _num(x.get("upperLimit"), file, base),
                            )
                        elif disp == "FULL_RANGE":
                            row[f"min_{arm}"], row[f"max_{arm}"] = (
                                _num(x.get("lowerLimit"), file, base),
                                _num(x.get("upperLimit"), file, base),
                            )
                        continue
                    row[f"mean_{arm}"] = value
                    if disp == "STANDARD_DEVIATION":
                        row[f"sd_{arm}"] = _num(x.get("spread"), file, base)
                    elif disp == "STANDARD_ERROR":
                        se = _num(x.get("spread"), file, base)
                        row[f"se_{arm}"] = se
                        row[f"sd_{arm}"] = se * math.sqrt(n)
                        notes.append(
                            f"sd_{arm} = SE x sqrt(n) = {se:g} x sqrt({n:g}) (SE of the {param.lower().replace('_', ' ')}, n analysed in group '{g['title']}'; Cochrane Handbook 6.5.2.2)"
                        )
                    elif disp == "CONFIDENCE_INTERVAL_95":
                        row[f"ci_lb_{arm}"], row[f"ci_ub_{arm}"] = (
                            _num(x.get("lowerLimit"), file, base),
                            _num(x.get("upperLimit"), file, base),
                        )
                    elif disp not in ("", "NA"):
                        raise InputError(
                            "unsupported dispersion type",
                            file=file,
                            column=f"{base}.dispersionType",
                            value=disp,
                            expected="STANDARD_DEVIATION, STANDARD_ERROR or CONFIDENCE_INTERVAL_95",
                        )
                row["notes"] = "; ".join(notes)
                rows.append(row)
    sae = m.get("serious_adverse_events")
    if sae:
        module = results.get("adverseEventsModule")
        if not module:
            raise InputError(
                "the record has no adverse-events module",
                file=file,
                column="resultsSection.adverseEventsModule",
                expected="adverseEventsModule.eventGroups with seriousNumAffected/seriousNumAtRisk",
            )
        groups = module.get("eventGroups", [])
        for contrast in m["contrasts"]:
            row = _row(m, contrast, shared[contrast["contrast"]], file)
            row.update(
                outcome=sae["outcome"],
                measure_kind="events",
                timepoint_weeks=float(sae.get("timepoint_weeks", math.nan)),
                row_ref=f"{path.name}:adverseEventsModule.eventGroups",
                source_location=f"resultsSection.adverseEventsModule.eventGroups: seriousNumAffected / seriousNumAtRisk; time frame '{module.get('timeFrame', '')}'",
            )
            for arm in ("treat", "ctrl"):
                _, g = _find(
                    groups,
                    contrast[arm],
                    "adverse-event group",
                    file,
                    "adverseEventsModule.eventGroups[].title",
                )
                for key, col in (("seriousNumAffected", "events"), ("seriousNumAtRisk", "n")):
                    if g.get(key) is None:
                        raise InputError(
                            "serious adverse events not given for the group",
                            file=file,
                            column=f"adverseEventsModule.eventGroups.{key}",
                            value=g.get("title"),
                            expected="seriousNumAffected and seriousNumAtRisk",
                        )
                    row[f"{col}_{arm}"] = _num(
                        g[key],
                        file,
                        f"adverseEventsModule.eventGroups.{key}",
                        integer=True,
                    )
            rows.append(row)
    for row in rows:
        problem = arm_problem(row, {})
        if problem is not None:
            raise InputError(
                problem.message,
                file=file,
                column=f"{row['row_ref'].split(':', 1)[1]} ({problem.column})",
                value=problem.value,
                expected=problem.expected,
            )
    frame = pd.DataFrame(rows, columns=CONTRAST_COLUMNS)
    for c in NUMBER_COLUMNS:
        frame[c] = frame[c].astype(float)
    return frame
