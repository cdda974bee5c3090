"""RoB 2's overall judgement by its published algorithm (Sterne et al. 2019, BMJ 366:l4898).

* **low**: every domain at low risk;
* **some concerns**: at least one domain with some concerns, none at high risk;
* **high**: at least one domain at high risk, or some concerns in multiple domains in a way that
  substantially lowers confidence in the result; applied here as a stated rule: some concerns in
  :data:`SOME_CONCERNS_FOR_HIGH` or more domains give high.

Unassessed domains never hide a judged concern ("some concerns" at least, never "not
assessed"). A sheet that records only the overall judgement keeps it. Used by the figures (the
traffic light's overall column) and the report (per result, :mod:`inflamed.report.rob2`).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = [
    "D5",
    "SOME_CONCERNS_FOR_HIGH",
    "domain_index",
    "is_post_hoc_subgroup",
    "judge_result",
    "overall_judgement",
    "result_judgements",
    "study_domains",
]

#: The domain a post hoc subgroup result is high in (selection of the reported result).
D5 = "D5_selection_of_reported_result"

#: Number of domains with some concerns that RoB 2's "multiple domains" clause turns into high.
SOME_CONCERNS_FOR_HIGH = 3


def overall_judgement(domains: Mapping[str, str]) -> tuple[str, str]:
    """The overall RoB 2 judgement of one result from its domain judgements.

    Parameters
    ----------
    domains
        Domain name -> ``low``, ``some_concerns``, ``high`` or ``not_assessed``. The ``overall``
        entry is what this function derives, so it is used only when no domain is given.

    Returns
    -------
    (judgement, reason)
        ``low``, ``some_concerns``, ``high`` or ``not_assessed``, and which rule gave it.
    """
    judged = {d: j for d, j in domains.items() if d != "overall"}
    if not judged and domains.get("overall") in ("low", "some_concerns", "high"):
        # A sheet that records only the overall judgement: the team's judgement stands.
        return str(domains["overall"]), "overall judgement as recorded (no domain rows)"
    high = sorted(d for d, j in judged.items() if j == "high")
    some = sorted(d for d, j in judged.items() if j == "some_concerns")
    low = sorted(d for d, j in judged.items() if j == "low")
    unassessed = sorted(d for d in judged if d not in (*high, *some, *low))
    if high:
        return "high", f"high risk in {', '.join(high)}"
    if len(some) >= SOME_CONCERNS_FOR_HIGH:
        return "high", (
            f"some concerns in {len(some)} domains ({', '.join(some)}): RoB 2's multiple-domains "
            f"rule (>= {SOME_CONCERNS_FOR_HIGH})"
        )
    if some:
        tail = f"; {len(unassessed)} domains not assessed" if unassessed else ""
        return "some_concerns", f"some concerns in {', '.join(some)}{tail}"
    if low and not unassessed:
        return "low", "every domain at low risk"
    return "not_assessed", (
        "no domain judged"
        if not low
        else f"{len(unassessed)} domains not assessed, none of concern"
    )


def study_domains(risk_of_bias: pd.DataFrame, study: str) -> dict[str, str]:
    """Domain -> judgement of one study in the ingested ``risk_of_bias.csv``."""
    return dict(domain_index(risk_of_bias).get(study, {}))


def domain_index(risk_of_bias: pd.DataFrame | None) -> dict[str, dict[str, str]]:
    """Study -> {domain: judgement}, in one pass (a filter per study is quadratic in studies)."""
    index: dict[str, dict[str, str]] = {}
    if risk_of_bias is None:
        return index
    for study, domain, judgement in zip(
        risk_of_bias["study_id"].astype(str),
        risk_of_bias["domain"].astype(str),
        risk_of_bias["judgement"].astype(str),
        strict=True,
    ):
        index.setdefault(study, {})[domain] = judgement
    return index


def is_post_hoc_subgroup(analysis_set: object, inflammation_selection: object) -> bool:
    """A result from a subgroup formed after the fact (not the whole sample, selection post hoc)."""
    return analysis_set != "whole" and inflammation_selection == "post_hoc"


def result_judgements(
    risk_of_bias: pd.DataFrame | None, study: str, *, post_hoc_subgroup: bool
) -> tuple[dict[str, str], str, str]:
    """Domains, overall judgement and reason for one result of one study.

    RoB 2 judges results, not trials: the trial's domain judgements apply to each of its results,
    and a result from a subgroup formed after the fact (``post_hoc_subgroup``), chosen among
    several possible cut-offs, is at high risk in domain 5 (selection of the reported result).
    Used by the report's per-result table and the per-result traffic-light figure.
    """
    domains = study_domains(risk_of_bias, study) if risk_of_bias is not None else {}
    return judge_result(domains, post_hoc_subgroup=post_hoc_subgroup)


def judge_result(
    domains: dict[str, str], *, post_hoc_subgroup: bool
) -> tuple[dict[str, str], str, str]:
    """:func:`result_judgements` from a study's domains already looked up (``domains`` is changed)."""
    if len(domains) > 1 or post_hoc_subgroup:
        domains.pop("overall", None)
    if post_hoc_subgroup:
        domains[D5] = "high"
    judgement, reason = overall_judgement(domains)
    if post_hoc_subgroup:
        reason += " (D5 high: subgroup formed after the fact, one of several possible cut-offs)"
    return domains, judgement, reason
