"""The machine-readable codebook of the extraction sheets.

Every sheet of a review folder (``studies.csv``, ``outcomes.csv``, ``risk_of_bias.csv``,
``published_estimates.csv``, ``prisma.csv``) and the shared ``data/instruments.csv`` is described
here once, column by column: type, unit, allowed values, whether a value is required. From these
definitions :func:`inflamed.ingest.codebook_docs.build_schemas` writes JSON schemas (draft 2020-12;
one object per CSV row, an empty cell is ``null``) into the package
(``inflamed/schemas/<sheet>.schema.json``) and :func:`~inflamed.ingest.codebook_docs.codebook_markdown`
writes ``docs/codebook.md``. Run ``python -m inflamed.ingest.codebook_docs`` after changing a
column; a test checks the committed files are up to date.

The ingest stage (:mod:`inflamed.ingest.sheets`) validates each row against these schemas, so the
schema is the contract between a review team and the pipeline.

Length (over 500 lines): it is the column tables of every sheet (data, not logic); the code that
turns them into schemas and documentation is in :mod:`inflamed.ingest.codebook_docs`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

__all__ = [
    "ARM_FIELDS",
    "CONTRAST_FIELDS",
    "DEFAULT_OUTCOMES",
    "MEASURE_KINDS",
    "SHEETS",
    "SUBGROUPS",
    "Column",
    "load_schema",
]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: Outcomes the default configuration declares (a review may declare others in config).
DEFAULT_OUTCOMES = (
    "depression_severity",
    "anhedonia",
    "response",
    "remission",
    "serious_ae",
)
SUBGROUPS = ("whole", "crp_high", "crp_low", "crp_high_other")
MEASURE_KINDS = ("endpoint", "change", "events")
CHANGE_DIRECTIONS = ("post_minus_pre", "pre_minus_post")
CRP_UNITS = ("mg/L", "mg/dL")
ROB2_DOMAINS = (
    "D1_randomisation",
    "D2_deviations",
    "D3_missing_data",
    "D4_measurement",
    "D5_selection_of_reported_result",
    "overall",
)
ROB2_JUDGEMENTS = ("low", "some_concerns", "high", "not_assessed")
POOLED_MEASURES = ("SMD", "MD", "RR", "OR", "RD", "HR")

SNAKE = r"^[a-z][a-z0-9_]*$"


@dataclass(frozen=True)
class Column:
    """One column of a sheet.

    Parameters
    ----------
    name
        Column header, exactly as it must appear in the CSV.
    type
        ``"string"``, ``"number"`` or ``"integer"``.
    description
        What the cell holds, in plain words.
    unit
        Unit of a number (``""`` for unitless or text).
    required
        Whether every row must fill it (a non-empty cell).
    enum, pattern, minimum, maximum
        Allowed values, as in JSON schema.
    optional_column
        The column may be left out of the file (all its cells are then empty), so sheets made
        before it existed still read; every other column must be in the header.
    """

    name: str
    type: str
    description: str
    unit: str = ""
    required: bool = False
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    examples: tuple[Any, ...] = field(default_factory=tuple)
    optional_column: bool = False

    def schema(self) -> dict[str, Any]:
        """The JSON-schema property for this column (``null`` allowed unless required)."""
        prop: dict[str, Any] = {"description": self.description}
        prop["type"] = self.type if self.required else [self.type, "null"]
        if self.unit:
            prop["unit"] = self.unit
        if self.enum is not None:
            prop["enum"] = list(self.enum) + ([] if self.required else [None])
        if self.pattern is not None:
            prop["pattern"] = self.pattern
        if self.minimum is not None:
            prop["minimum"] = self.minimum
        if self.maximum is not None:
            prop["maximum"] = self.maximum
        if self.examples:
            prop["examples"] = list(self.examples)
        return prop


def _provenance() -> list[Column]:
    return [
        Column(
            "source", "string", "Public source of the row's numbers: URL or DOI.", required=True
        ),
        Column(
            "source_location",
            "string",
            "Where in the source: table, figure, page or quoted sentence.",
            required=True,
        ),
    ]


#: Arm-level number fields of outcomes.csv, each present as ``<field>_treat`` and ``<field>_ctrl``.
ARM_FIELDS: dict[str, tuple[str, str, str]] = {
    # field: (type, unit, description)
    "n": ("integer", "participants", "participants analysed in the arm for this outcome"),
    "mean": ("number", "instrument points", "arm mean (endpoint score or change score)"),
    "sd": ("number", "instrument points", "standard deviation of the arm mean's raw scores"),
    "se": ("number", "instrument points", "standard error of the arm mean"),
    "ci_lb": ("number", "instrument points", "lower bound of the 95 % CI of the arm mean"),
    "ci_ub": ("number", "instrument points", "upper bound of the 95 % CI of the arm mean"),
    "median": ("number", "instrument points", "arm median"),
    "q1": ("number", "instrument points", "first quartile"),
    "q3": ("number", "instrument points", "third quartile"),
    "min": ("number", "instrument points", "minimum"),
    "max": ("number", "instrument points", "maximum"),
    "events": (
        "integer",
        "participants",
        "participants with the event (a count, never a percentage)",
    ),
}

_NONNEGATIVE = {"n", "sd", "se", "events"}


def _arm_columns() -> list[Column]:
    cols = []
    for arm, label in (("treat", "treatment arm"), ("ctrl", "control arm")):
        for name, (typ, unit, desc) in ARM_FIELDS.items():
            cols.append(
                Column(
                    f"{name}_{arm}",
                    typ,
                    f"{label}: {desc}",
                    unit=unit,
                    # n = 0 cannot give an effect size: refused when the sheet is read.
                    minimum=1 if name == "n" else 0 if name in _NONNEGATIVE else None,
                )
            )
    return cols


#: Contrast-level columns of outcomes.csv (generic inverse-variance input): a row fills either
#: these or the arm-level columns, never both.
CONTRAST_FIELDS = (
    "diff",
    "diff_se",
    "diff_ci_lb",
    "diff_ci_ub",
    "diff_ci_level",
    "diff_measure",
    "diff_direction",
    "diff_n",
    "sd_pooled",
    "sd_pooled_source",
)
DIFF_MEASURES = ("MD",)
DIFF_DIRECTIONS = ("negative_favours_treatment", "positive_favours_treatment")


def _contrast_columns() -> list[Column]:
    what = "Contrast-level row (a between-arm difference instead of arm numbers): "
    columns = [
        Column(
            "diff",
            "number",
            what + "the difference as reported, e.g. a least-squares mean difference, "
            "infliximab minus placebo. Leave every arm-level column empty on such a row.",
            unit="instrument points",
            examples=(-3.1,),
        ),
        Column(
            "diff_se",
            "number",
            what + "standard error of diff. diff_se or both CI bounds are required.",
            unit="instrument points",
            minimum=0,
            examples=(3.3,),
        ),
        Column(
            "diff_ci_lb",
            "number",
            what + "lower confidence limit of diff (used when diff_se is empty).",
            unit="instrument points",
        ),
        Column(
            "diff_ci_ub",
            "number",
            what + "upper confidence limit of diff; the interval must contain diff.",
            unit="instrument points",
        ),
        Column(
            "diff_ci_level",
            "number",
            what + "confidence level of diff_ci_lb/diff_ci_ub; empty = 95.",
            unit="percent",
            minimum=50,
            maximum=99.99,
            examples=(95,),
        ),
        Column(
            "diff_measure",
            "string",
            what + "the scale of diff: MD = mean difference in the instrument's points "
            "(required on a contrast-level row).",
            enum=DIFF_MEASURES,
        ),
        Column(
            "diff_direction",
            "string",
            what + "what the sign of diff means, as the source states it (required on a "
            "contrast-level row), e.g. negative_favours_treatment for 'a negative change score "
            "favors infliximab'.",
            enum=DIFF_DIRECTIONS,
        ),
        Column(
            "diff_n",
            "integer",
            what + "participants analysed in the comparison, both arms together, as reported "
            "(per-arm n often is not).",
            unit="participants",
            minimum=2,
            examples=(22,),
        ),
        Column(
            "sd_pooled",
            "number",
            what + "pooled within-group SD of the instrument for this comparison, only if a "
            "source gives it; needed (with diff_n) for an SMD, otherwise the row enters MD "
            "analyses only.",
            unit="instrument points",
            minimum=0,
        ),
        Column(
            "sd_pooled_source",
            "string",
            what + "URL or DOI and location of sd_pooled (required with sd_pooled).",
        ),
    ]
    # Contrast-level input came after the sheet format: older sheets without these columns read.
    return [replace(c, optional_column=True) for c in columns]


_CONTRAST_NOTES = """### Contrast-level rows (generic inverse variance)

A row gives either arm-level numbers (`n_`, `mean_`, `sd_`, ... `_treat`/`_ctrl`) or a between-arm
difference (`diff` and its `diff_se` or `diff_ci_lb`/`diff_ci_ub`), never both. The `diff_*`,
`sd_pooled` and `sd_pooled_source` columns may be left out of the header of a sheet that has no
such row. Rules checked when the sheet is read: `diff`, `diff_measure` (`MD`), `diff_direction`
and `instrument` are filled; `diff_se` or both confidence limits are given and the interval
contains `diff`; no `shared_ctrl`; not an `events` row; `sd_pooled` only with its source.

The extract stage takes `yi` = `diff` (negated when `diff_direction` is
`negative_favours_treatment`, so that positive favours treatment), `vi` = `diff_se`^2, or the SE
from the interval with the normal quantile ((ub - lb) / (2 x 1.96) for a 95 % CI). An SMD is
computed only with a sourced `sd_pooled` and `diff_n`; otherwise the row enters the mean-difference
analysis in the instrument's points only, and the missing-data table says why.

Example (the ClinicalTrials.gov record of NCT00463580, least-squares mean difference in HDRS-17
change, infliximab minus placebo, baseline hs-CRP > 5 mg/L):

| column | value |
|---|---|
| `subgroup` | `crp_high` |
| `subgroup_definition` | `baseline hs-CRP > 5 mg/L (exploratory, post hoc)` |
| `instrument`, `timepoint_weeks`, `measure_kind` | `HAMD17`, `12`, `change` |
| `diff`, `diff_se`, `diff_n` | `-3.1`, `3.3`, `22` |
| `diff_measure`, `diff_direction` | `MD`, `negative_favours_treatment` |
| `source_location` | `Results, Secondary outcome 'Change in HDRS-17 Scores Subgrouped by Baseline Hs-CRP', group 'Baseline Hs-CRP of >5 mg/L', Least Squares Mean (Standard Error)` |
"""

SHEETS: dict[str, dict[str, Any]] = {
    "studies": {
        "title": "studies.csv: one row per study",
        "key": ["study_id"],
        "columns": [
            Column(
                "study_id",
                "string",
                "Short unique id of the study, e.g. Raison2013.",
                required=True,
                pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$",
                examples=("Raison2013",),
            ),
            Column("first_author", "string", "Surname of the first author.", required=True),
            Column(
                "year",
                "integer",
                "Year of the main publication or results posting.",
                unit="year",
                required=True,
                minimum=1900,
                maximum=2100,
            ),
            Column(
                "registry_id", "string", "Trial registration id (NCT..., ISRCTN..., EudraCT ...)."
            ),
            Column(
                "doi",
                "string",
                "DOI of the main publication, without the https://doi.org/ prefix.",
                pattern=r"^10\.\d{4,9}/\S+$",
            ),
            Column(
                "drug", "string", "Anti-inflammatory drug studied (generic name).", required=True
            ),
            Column(
                "mechanism_class",
                "string",
                "Mechanism class, snake_case, e.g. anti_tnf, anti_il6, nsaid_cox2, tetracycline, omega3.",
                required=True,
                pattern=SNAKE,
            ),
            Column("dose", "string", "Dose and schedule as reported."),
            Column(
                "add_on",
                "string",
                "add_on: added to ongoing antidepressant treatment; monotherapy: given alone; mixed: both within the trial.",
                enum=("add_on", "monotherapy", "mixed"),
            ),
            Column(
                "duration_weeks", "number", "Planned treatment duration.", unit="weeks", minimum=0
            ),
            Column("population", "string", "Population, e.g. 'treatment-resistant MDD, adults'."),
            Column(
                "inflammation_selection",
                "string",
                "How inflammation entered the design: patients selected by CRP, randomisation stratified by CRP, CRP subgroup analysed post hoc, or no CRP selection.",
                enum=("selected", "stratified", "post_hoc", "unselected"),
            ),
            Column(
                "crp_cutoff",
                "number",
                "CRP cut-off used to select or stratify patients, in the unit given in crp_unit.",
                unit="crp_unit",
                minimum=0,
            ),
            Column(
                "crp_cutoff_rule",
                "string",
                "Comparison of the cut-off as reported, optionally with the number, e.g. '>=' or '>=3' (the number itself goes in crp_cutoff).",
                pattern=r"^(>=|>|<=|<) ?(\d+(\.\d+)?)?$",
            ),
            Column(
                "crp_unit",
                "string",
                "Unit of crp_cutoff and baseline_crp; mg/dL values are converted to mg/L (x 10) at ingest and logged.",
                enum=CRP_UNITS,
            ),
            Column(
                "baseline_crp",
                "number",
                "Mean or median baseline CRP of the randomised sample, in crp_unit.",
                unit="crp_unit",
                minimum=0,
            ),
            Column(
                "n_randomised_treat",
                "integer",
                "Participants randomised to the treatment arm(s).",
                unit="participants",
                minimum=0,
            ),
            Column(
                "n_randomised_ctrl",
                "integer",
                "Participants randomised to the control arm.",
                unit="participants",
                minimum=0,
            ),
            *_provenance(),
            Column("notes", "string", "Free-text notes."),
        ],
    },
    "outcomes": {
        "title": "outcomes.csv: one row per study x arm contrast x subgroup x outcome x time point",
        "notes": _CONTRAST_NOTES,
        "key": ["study_id", "contrast", "subgroup", "outcome", "instrument", "timepoint_weeks"],
        "columns": [
            Column("study_id", "string", "Study id; must appear in studies.csv.", required=True),
            Column(
                "contrast",
                "string",
                "Arm contrast, snake_case, e.g. minocycline_vs_placebo.",
                required=True,
                pattern=SNAKE,
            ),
            Column(
                "treat_arm",
                "string",
                "Label of the treatment arm as the source names it.",
                required=True,
            ),
            Column(
                "ctrl_arm",
                "string",
                "Label of the control arm as the source names it.",
                required=True,
            ),
            Column(
                "shared_ctrl",
                "string",
                "Same non-empty label on rows of one study whose contrasts share a control arm (multi-arm trials).",
            ),
            Column(
                "subgroup",
                "string",
                "Which participants: the whole sample; a CRP stratum at the trial's cut-off "
                "(studies.csv crp_cutoff): crp_high or crp_low; or crp_high_other, a CRP-high "
                "stratum at another cut-off the source also reports (listed beside the analyses, "
                "never pooled, so that no trial counts twice and the choice of cut-off stays "
                "visible for RoB 2 'selection of the reported result').",
                required=True,
                enum=SUBGROUPS,
            ),
            Column(
                "subgroup_definition",
                "string",
                "Definition of the subgroup as reported, e.g. 'CRP >= 3 mg/L'.",
            ),
            Column(
                "outcome",
                "string",
                "Outcome, snake_case, declared in config.",
                required=True,
                pattern=SNAKE,
            ),
            Column(
                "instrument",
                "string",
                "Rating scale; a key of data/instruments.csv (empty for serious adverse events).",
            ),
            Column(
                "timepoint_weeks",
                "number",
                "Weeks since randomisation at which the outcome was measured.",
                unit="weeks",
                minimum=0,
            ),
            Column(
                "measure_kind",
                "string",
                "What the arm numbers are.",
                required=True,
                enum=MEASURE_KINDS,
            ),
            Column(
                "change_direction",
                "string",
                "For change scores: post_minus_pre or pre_minus_post (improvement positive).",
                enum=CHANGE_DIRECTIONS,
            ),
            *_arm_columns(),
            *_contrast_columns(),
            *_provenance(),
            Column("extractor", "string", "Who extracted the row (initials or name)."),
            Column("notes", "string", "Free-text notes."),
        ],
    },
    "risk_of_bias": {
        "title": "risk_of_bias.csv: one row per study x RoB 2 domain",
        "key": ["study_id", "domain"],
        "columns": [
            Column("study_id", "string", "Study id; must appear in studies.csv.", required=True),
            Column(
                "domain",
                "string",
                "RoB 2 domain (Sterne et al. 2019, doi 10.1136/bmj.l4898).",
                required=True,
                enum=ROB2_DOMAINS,
            ),
            Column("judgement", "string", "RoB 2 judgement.", required=True, enum=ROB2_JUDGEMENTS),
            Column(
                "support",
                "string",
                "What the judgement rests on (quote or summary).",
                required=True,
            ),
            Column(
                "judged_by",
                "string",
                "Who judged (initials, or the publication whose judgement is copied).",
                required=True,
            ),
            *_provenance(),
        ],
    },
    "published_estimates": {
        "title": "published_estimates.csv: one row per published pooled estimate",
        "key": ["publication", "outcome", "subgroup", "measure"],
        "columns": [
            Column(
                "publication",
                "string",
                "Short label of the publication, e.g. MacGiollabhui2026.",
                required=True,
            ),
            Column("doi", "string", "DOI of the publication.", pattern=r"^10\.\d{4,9}/\S+$"),
            Column("outcome", "string", "Outcome, snake_case.", required=True, pattern=SNAKE),
            Column(
                "subgroup",
                "string",
                "Population the estimate refers to, e.g. crp_selected, whole.",
                required=True,
            ),
            Column(
                "measure",
                "string",
                "Effect measure (SMD includes Hedges' g).",
                required=True,
                enum=POOLED_MEASURES,
            ),
            Column(
                "estimate",
                "number",
                "Point estimate as published (ratio measures on the ratio scale).",
                required=True,
            ),
            Column("ci_lb", "number", "Lower 95 % confidence limit."),
            Column("ci_ub", "number", "Upper 95 % confidence limit."),
            Column(
                "benefit_direction",
                "string",
                "Which side of the published estimate favours the treatment, as the publication "
                "reports it: 'positive' (SMD/MD > 0 or ratio > 1 favours treatment) or 'negative' "
                "(SMD/MD < 0 or ratio < 1 favours treatment). Papers differ (a symptom-score SMD "
                "is often negative for benefit); the comparison figure aligns every estimate to "
                "inflamed's convention with it.",
                required=True,
                enum=("positive", "negative"),
            ),
            Column("k", "integer", "Number of studies pooled.", unit="studies", minimum=1),
            Column(
                "n_participants", "integer", "Participants pooled.", unit="participants", minimum=1
            ),
            *_provenance(),
            Column("notes", "string", "Free-text notes."),
        ],
    },
    "prisma": {
        "title": "prisma.csv: one row per PRISMA 2020 flow box",
        "key": ["stage"],
        "columns": [
            Column(
                "stage",
                "string",
                "PRISMA 2020 box, snake_case, e.g. records_identified, studies_included.",
                required=True,
                pattern=SNAKE,
            ),
            Column(
                "count",
                "integer",
                "Count in the box.",
                unit="records or studies",
                required=True,
                minimum=0,
            ),
            Column(
                "status",
                "string",
                "How the count arose: counted; not_searched (the route was not searched, count "
                "0); not_counted (the box was not tallied). Empty means counted.",
                enum=("counted", "not_searched", "not_counted"),
            ),
            *_provenance(),
            Column("notes", "string", "Free-text notes."),
        ],
    },
    "instruments": {
        "title": "data/instruments.csv: one row per rating scale",
        "key": ["instrument"],
        "columns": [
            Column(
                "instrument",
                "string",
                "Key used in outcomes.csv, e.g. HAMD17, MADRS, SHAPS.",
                required=True,
                pattern=r"^[A-Za-z][A-Za-z0-9_-]*$",
            ),
            Column("name", "string", "Full name of the scale.", required=True),
            Column(
                "construct",
                "string",
                "What it measures, e.g. depression_severity, anhedonia.",
                required=True,
            ),
            Column(
                "higher_is_worse",
                "string",
                "Whether higher scores mean more severe symptoms (decides the sign flip).",
                required=True,
                enum=("true", "false"),
            ),
            Column("range_min", "number", "Lowest possible score.", unit="instrument points"),
            Column("range_max", "number", "Highest possible score.", unit="instrument points"),
            *_provenance(),
            Column("notes", "string", "Free-text notes."),
        ],
        "additional_columns": True,
    },
    "network": {
        "title": "network sheet (arms.csv of a network review): one row per study arm",
        "key": ["study", "treatment"],
        "columns": [
            Column(
                "study",
                "string",
                "Study label; its rows are its arms (two or more).",
                required=True,
            ),
            Column(
                "treatment",
                "string",
                "Treatment (network node), spelt alike in every study.",
                required=True,
            ),
            Column(
                "n",
                "integer",
                "Participants randomised to the arm (every outcome's denominator unless '<outcome>_n' gives one).",
                unit="participants",
                minimum=0,
            ),
            *_provenance(),
            Column("notes", "string", "Free-text notes."),
        ],
        # One set of columns per outcome, '<outcome>_<field>'; config names the outcomes.
        "pattern_columns": [
            Column(
                "^[a-z][a-z0-9_]*_events$",
                "integer",
                "'<outcome>_events': participants of the arm with the event (a count).",
                unit="participants",
                minimum=0,
            ),
            Column(
                "^[a-z][a-z0-9_]*_n$",
                "integer",
                "'<outcome>_n': participants analysed for this outcome, when not 'n'.",
                unit="participants",
                minimum=0,
            ),
            Column(
                "^[a-z][a-z0-9_]*_mean$",
                "number",
                "'<outcome>_mean': arm mean of a continuous outcome.",
                unit="outcome units",
            ),
            Column(
                "^[a-z][a-z0-9_]*_sd$",
                "number",
                "'<outcome>_sd': SD of the arm's scores.",
                unit="outcome units",
                minimum=0,
            ),
        ],
    },
}


def load_schema(sheet: str) -> dict[str, Any]:
    """Load the committed schema of ``sheet`` from the package data."""
    text = resources.files("inflamed.schemas").joinpath(f"{sheet}.schema.json").read_text("utf-8")
    return json.loads(text)
