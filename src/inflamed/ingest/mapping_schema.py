"""JSON schema of a ClinicalTrials.gov mapping file (read by :mod:`inflamed.ingest.ctgov`).

One definition: the reader validates against :data:`MAPPING_SCHEMA`, and
:mod:`inflamed.ingest.codebook_docs` writes it to ``inflamed/schemas/ctgov_mapping.schema.json``
and documents it in ``docs/codebook.md``.
"""

from __future__ import annotations

from typing import Any

from inflamed.ingest.codebook import MEASURE_KINDS, SUBGROUPS

__all__ = ["MAPPING_SCHEMA"]

_SNAKE = "^[a-z][a-z0-9_]*$"
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
    },
}  # fmt: skip
