"""JSON schema of a ClinicalTrials.gov mapping file (read by :mod:`inflamed.ingest.ctgov`).

One definition: the reader validates against :data:`MAPPING_SCHEMA`, and
:mod:`inflamed.ingest.codebook_docs` writes it to ``inflamed/schemas/ctgov_mapping.schema.json``
and documents it in ``docs/codebook.md``.
"""

from __future__ import annotations

from typing import Any

from inflamed.ingest.codebook import DIFF_DIRECTIONS, MEASURE_KINDS, SUBGROUPS

__all__ = ["BETWEEN_ARM_SCHEMA", "MAPPING_SCHEMA"]

_SNAKE = "^[a-z][a-z0-9_]*$"

#: ``between_arm``: outcome measures whose groups are strata reporting between-arm differences
#: (read by :mod:`inflamed.ingest.between_arm`, in a ClinicalTrials.gov mapping and in a review's
#: ``registry_mapping.yaml``).
BETWEEN_ARM_SCHEMA: dict[str, Any] = {
        "description": "Outcome measures whose groups are strata (e.g. CRP) and whose values are between-arm differences.",
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["title", "outcome", "contrast", "difference", "measure_kind", "groups"],
            "properties": {
                "title": {"description": "Outcome-measure title as in the record.", "type": "string"},
                "outcome": {"description": "Review outcome.", "type": "string", "pattern": _SNAKE},
                "instrument": {"description": "Instrument key of data/instruments.csv.", "type": "string"},
                "contrast": {"description": "Which comparison the differences are (a contrast name of the review).", "type": "string", "pattern": _SNAKE},
                "difference": {"description": "Direction of the reported difference, as the record's description states it.", "enum": ["treat_minus_ctrl", "ctrl_minus_treat"]},
                "measure_kind": {"description": "What was differenced: change scores or endpoint values.", "enum": ["change", "endpoint"]},
                "diff_direction": {"description": "What a negative value of the record means, as its description states it (e.g. 'A negative change score favors infliximab' = negative_favours_treatment). Default: read from difference and the instrument's scoring direction.", "enum": list(DIFF_DIRECTIONS)},
                "timepoint_weeks": {"description": "Weeks since randomisation.", "type": "number", "minimum": 0},
                "groups": {
                    "description": "Strata to read, by group title.",
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["title", "subgroup"],
                        "properties": {
                            "title": {"description": "Group title as in the record.", "type": "string"},
                            "subgroup": {"description": "Review subgroup the stratum is (crp_high_other: a CRP-high stratum at another cut-off than the trial's own; listed, never pooled).", "enum": list(SUBGROUPS)},
                            "subgroup_definition": {"description": "Definition as reported.", "type": "string"},
                        },
                    },
                },
            },
        },
    }  # fmt: skip

MAPPING_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://inflamed.invalid/schemas/ctgov_mapping.schema.json",
    "title": "Mapping of one ClinicalTrials.gov API v2 record into inflamed's contrasts table",
    "type": "object",
    "additionalProperties": False,
    "required": ["nct_id", "study_id", "contrasts", "outcomes"],
    "properties": {
        "nct_id": {"description": "NCT number; must equal protocolSection.identificationModule.nctId.", "type": "string", "pattern": r"^NCT\d{8}$"},
        "study_id": {"description": "The review's study id for this trial.", "type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_.-]*$"},
        "review": {"description": "Value of the review column.", "type": "string", "default": "ctgov"},
        "contrasts": {
            "description": "Treatment-vs-control comparisons, arms named by group title.",
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["contrast", "treat", "ctrl"],
                "properties": {
                    "contrast": {"description": "Contrast name, snake_case.", "type": "string", "pattern": _SNAKE},
                    "treat": {"description": "Title of the treatment group (as in the record's groups and eventGroups).", "type": "string"},
                    "ctrl": {"description": "Title of the control group.", "type": "string"},
                },
            },
        },
        "outcomes": {
            "description": "Outcome measures to read, by title.",
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["title", "outcome", "measure_kind"],
                "properties": {
                    "title": {"description": "Outcome-measure title, exactly as in the record (case and surrounding spaces ignored).", "type": "string"},
                    "outcome": {"description": "Review outcome, snake_case.", "type": "string", "pattern": _SNAKE},
                    "instrument": {"description": "Instrument key of data/instruments.csv.", "type": "string"},
                    "measure_kind": {"description": "endpoint, change or events.", "enum": list(MEASURE_KINDS)},
                    "change_direction": {"description": "For change scores.", "enum": ["post_minus_pre", "pre_minus_post"]},
                    "timepoint_weeks": {"description": "Weeks since randomisation (default for the classes).", "type": "number", "minimum": 0},
                    "category": {"description": "Events only: title of the category that counts as the event.", "type": "string"},
                    "classes": {
                        "description": "Classes to read, by title (default: the record's only class).",
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["title"],
                            "properties": {
                                "title": {"description": "Class title as in the record.", "type": "string"},
                                "subgroup": {"description": "Subgroup this class holds.", "enum": list(SUBGROUPS), "default": "whole"},
                                "subgroup_definition": {"description": "Definition as reported, e.g. 'CRP >= 3 mg/L'.", "type": "string"},
                                "timepoint_weeks": {"description": "Weeks since randomisation for this class.", "type": "number", "minimum": 0},
                            },
                        },
                    },
                },
            },
        },
        "serious_adverse_events": {
            "description": "Read serious adverse events from adverseEventsModule.eventGroups.",
            "type": "object",
            "additionalProperties": False,
            "required": ["outcome"],
            "properties": {
                "outcome": {"description": "Review outcome name for serious adverse events.", "type": "string", "pattern": _SNAKE},
                "timepoint_weeks": {"description": "Weeks since randomisation the adverse-event time frame covers.", "type": "number", "minimum": 0},
            },
        },
        "between_arm": BETWEEN_ARM_SCHEMA,
    },
}  # fmt: skip
