"""Ingestion: three input formats into one internal model.

* :mod:`inflamed.ingest.sheets`: inflamed extraction sheets (a review folder of CSVs);
* :mod:`inflamed.ingest.ctgov`: ClinicalTrials.gov API v2 study records (JSON);
* :mod:`inflamed.ingest.metapsy`: the Metapsy data standard (``;``-separated, decimal commas);
* :mod:`inflamed.ingest.double_extraction`: compare two extractors' outcomes sheets;
* :mod:`inflamed.ingest.codebook`: the column definitions behind the JSON schemas.

All formats produce the contrasts table of :data:`inflamed.ingest.sheets.CONTRAST_COLUMNS`.
"""

from inflamed.ingest.sheets import CONTRAST_COLUMNS, Review, read_instruments, read_review

__all__ = ["CONTRAST_COLUMNS", "Review", "read_instruments", "read_review"]
