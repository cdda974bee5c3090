"""RoB 2's overall judgement by its published algorithm, per study and per result.

RoB 2 (Sterne et al. 2019, BMJ 366:l4898, Table 2; the RoB 2 guidance, section 3.3):

* **low** risk of bias: every domain is at low risk;
* **some concerns**: at least one domain raises some concerns and none is at high risk;
* **high** risk of bias: at least one domain is at high risk, *or* some concerns in multiple
  domains in a way that substantially lowers confidence in the result. This module applies the
  second clause as a stated rule: some concerns in :data:`SOME_CONCERNS_FOR_HIGH` or more
  domains give high.

Domains that were not assessed do not make a judged domain disappear: a trial with some concerns
in one domain and the rest unassessed is "some concerns" at least, never "not assessed"; only a
trial with no judged domain at all (or only low and unassessed domains) stays unassessed.

RoB 2 judges *results*, not trials. One result-level rule is applied from the sheets: a result
from a subgroup formed after the fact (``inflammation_selection = post_hoc``), chosen among
several possible cut-offs, is at **high** risk in domain 5 (selection of the reported result).
"""

from __future__ import annotations

import pandas as pd

from inflamed.analysis_sets import review_results
from inflamed.ingest.rob2 import (
    SOME_CONCERNS_FOR_HIGH,
    domain_index,
    is_post_hoc_subgroup,
    judge_result,
    overall_judgement,
    result_judgements,
)
from inflamed.report.artefacts import ReviewArtefacts
from inflamed.report.tables import SET_LABELS, study_labels

__all__ = [
    "SOME_CONCERNS_FOR_HIGH",
    "overall_judgement",
    "per_result_table",
    "result_judgements",
    "study_judgements",
]


def study_judgements(risk_of_bias: pd.DataFrame | None) -> dict[str, tuple[str, str]]:
    """Study id -> (overall judgement, reason) by the algorithm, for the whole-sample result."""
    if risk_of_bias is None or risk_of_bias.empty:
        return {}
    index = domain_index(risk_of_bias)
    return {
        str(s): overall_judgement(dict(index.get(str(s), {})))
        for s in sorted(set(risk_of_bias["study_id"].astype(str)))
    }


def per_result_table(review: ReviewArtefacts) -> pd.DataFrame:
    """One row per result the analyses use: study, outcome, analysis set, RoB 2 overall, why.

    Empty when the review supplies no RoB 2 judgements: a row per result saying "not assessed"
    would say nothing, at the cost of one row per comparison in a large review.
    """
    columns = ["Study", "Result", "Overall (RoB 2 algorithm)", "Why"]
    if review.risk_of_bias is None or review.risk_of_bias.empty:
        return pd.DataFrame(columns=columns)
    labels = study_labels(review.studies)
    index = domain_index(review.risk_of_bias)
    # Double-zero tables and MD-only differences are results too (RoB 2 judges each result).
    results = review_results(
        {o.name: o.studies for o in review.outcomes.values()},
        review.studies,
        derivation_log=review.derivation_log,
        contrasts=review.contrasts,
        instrument_effects=review.instrument_effects,
    )
    rows = []
    for outcome in review.outcomes.values():
        studies = results[outcome.name]
        if studies is None or studies.empty or "analysis_set" not in studies:
            continue
        for _, r in studies.iterrows():
            post_hoc = is_post_hoc_subgroup(r.get("analysis_set"), r.get("inflammation_selection"))
            _, judgement, reason = judge_result(
                dict(index.get(str(r["study_id"]), {})), post_hoc_subgroup=post_hoc
            )
            rows.append(
                {
                    "Study": labels.get(str(r["study_id"]), str(r["study_id"])),
                    "Result": f"{outcome.label}, {SET_LABELS.get(r['analysis_set'], r['analysis_set'])}",
                    "Overall (RoB 2 algorithm)": judgement.replace("_", " "),
                    "Why": reason.replace("_", " "),
                }
            )
    return pd.DataFrame(rows, columns=columns)
