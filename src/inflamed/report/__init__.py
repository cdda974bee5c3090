"""The report stage's library: read the artefacts, propose GRADE ratings, write the sections.

``notebooks/report.ipynb`` (executed by papermill in the ``report`` rule) calls these functions
so that the notebook stays thin and everything it shows is tested here. Nothing in this package
computes a statistic: it reads what the stages wrote and says where each number came from.

Modules
-------
``artefacts``  :func:`load_review`, :func:`load_mechanism`, :func:`read_run_config`
``grade``      :func:`grade_outcome` (automated GRADE proposal, rules documented)
``grade_context`` indirectness, non-reporting bias and absolute effects from the sheets
``rob2``       RoB 2 overall judgement by its algorithm, per study and per result
``sof``        :func:`grade_summary_of_findings` and the summary-of-findings table
``front_matter`` abstract, "what this report can and cannot say", limitations, conclusions
``methods``    :func:`methods_text` (methods written from the run configuration)
``tables``     characteristics, missing data, comparison with published estimates, RoB 2
``html``       :func:`format_estimate`, :func:`num`, :func:`embed_png`, :func:`html_table`
``sections``   one HTML fragment per report section (:data:`SECTION_IDS`)
``large``      large reviews: sortable per-study tables, big figures linked (:func:`large.configure`)

Status: tested on a simulated finished run (every section, figure and source-tagged number
checked against the artefacts) and exercised on partial pipeline runs of the fixture and shipped
reviews. The GRADE table is a rules-based proposal (indirectness and non-reporting bias by stated
rules from the sheets); artefacts
whose layout this package does not know (e.g. a new small-study or subgroup key) are shown as
key/value tables rather than dropped.
"""

from inflamed.report.artefacts import (
    MechanismArtefacts,
    OutcomeArtefacts,
    ReviewArtefacts,
    load_mechanism,
    load_review,
    read_run_config,
)
from inflamed.report.grade import (
    DomainJudgement,
    GradeAssessment,
    GradeRules,
    grade_outcome,
    optimal_information_size,
)
from inflamed.report.html import embed_png, format_estimate, html_table, num, resolve_source
from inflamed.report.methods import methods_text
from inflamed.report.sections import SECTION_IDS
from inflamed.report.sof import grade_rules_text, grade_summary_of_findings
from inflamed.report.tables import (
    characteristics_table,
    comparison_table,
    missing_data_table,
    risk_of_bias_table,
)

__all__ = [
    "SECTION_IDS",
    "DomainJudgement",
    "GradeAssessment",
    "GradeRules",
    "MechanismArtefacts",
    "OutcomeArtefacts",
    "ReviewArtefacts",
    "characteristics_table",
    "comparison_table",
    "embed_png",
    "format_estimate",
    "grade_outcome",
    "grade_rules_text",
    "grade_summary_of_findings",
    "html_table",
    "load_mechanism",
    "load_review",
    "methods_text",
    "missing_data_table",
    "num",
    "optimal_information_size",
    "read_run_config",
    "resolve_source",
    "risk_of_bias_table",
]
