"""Shared layout of the report's sections: anchors, headings, slugs and the wrapper div."""

from __future__ import annotations

import re

from inflamed.report.html import heading

__all__ = ["SECTION_IDS", "section_heading", "slug", "wrap"]

#: Top-level sections in report order: anchor -> heading. The front matter (the can/cannot box,
#: the abstract) sits above the table of contents.
SECTION_IDS: dict[str, str] = {
    "can-cannot": "What this report can and cannot say",
    "abstract": "Abstract",
    "summary-of-findings": "Summary of findings",
    "prisma": "Study selection (PRISMA 2020)",
    "characteristics": "Characteristics of included studies",
    "results": "Main results per outcome",
    "comparison": "Comparison with published meta-analyses",
    "risk-of-bias": "Risk of bias",
    "network-meta-analysis": "Network meta-analysis",
    "history": "Living review: estimates over data versions, registry records",
    "who-benefits": "Who benefits and the mechanism model",
    "missing-data": "Missing data",
    "limitations": "Limitations",
    "conclusions": "Authors' conclusions",
    "methods": "Methods",
    "reproducibility": "Reproducibility appendix",
}


def section_heading(anchor: str) -> str:
    """The ``<h2>`` of a top-level section."""
    return heading(2, anchor, SECTION_IDS[anchor])


def slug(*parts: str) -> str:
    """A stable HTML id from words (lower case, non-alphanumerics to ``-``)."""
    return "-".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in parts)


def wrap(body: str) -> str:
    """A section's fragment inside the report's styled container."""
    return f'<div class="inflamed-report">{body}</div>'
