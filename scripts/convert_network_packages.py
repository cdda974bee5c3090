"""Convert the R-package network files shipped under data/reviews/ into inflamed network sheets.

The package files (``package/*.csv`` in each network folder) are the data exactly as their R
packages distribute them (``.rda`` written out with R's ``write.csv``). This script turns them into
the long arm-level network sheet (``arms.csv``; columns in ``docs/network_sheet.md``) without
changing any value: a row of the wide Linde 2015 file becomes one row per arm, R's ``NA`` becomes an
empty cell, and every row names the primary publication (``source``) and the package file and row
it came from (``source_location``). Rerun it after updating a package file::

    python scripts/convert_network_packages.py

It is deterministic: the same package files give byte-identical sheets.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LINDE = ROOT / "data/reviews/linde2015-primary-care"
LINDE_SOURCE = (
    "Linde K, Kriston L, Rücker G, et al. Ann Fam Med 2015;13(1):69-79. doi:10.1370/afm.1687"
)
# Package column stem -> network sheet column (one per outcome; '1', '2', '3' = arm number).
LINDE_FIELDS = {
    "n": "n",
    "resp": "response_events",
    "remi": "remission_events",
    "loss": "dropout_events",
    "loss.ae": "dropout_ae_events",
    "ae": "adverse_event_events",
}

CIPRIANI = ROOT / "data/reviews/cipriani2009-antidepressants"
CIPRIANI_SOURCE = (
    "Cipriani A, Furukawa TA, Salanti G, et al. Lancet 2009;373:746-758. "
    "doi:10.1016/S0140-6736(09)60046-5"
)

HEADER_TAIL = ["source", "source_location", "notes"]


def _cell(value: str) -> str:
    """R's missing-value code becomes the sheet's empty cell; every other value is kept as is."""
    return "" if value == "NA" else value


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def convert_linde() -> Path:
    package = LINDE / "package" / "dat.linde2015.csv"
    with package.open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    header = ["study", "treatment", *LINDE_FIELDS.values(), *HEADER_TAIL]
    rows = []
    for line, record in enumerate(records, start=2):
        study = f"{record['author']} {record['year']} (id {record['id']})"
        for arm in (1, 2, 3):
            treatment = record[f"treatment{arm}"]
            if not treatment:
                continue  # two-arm trials leave the third arm empty
            values = [_cell(record[f"{stem}{arm}"]) for stem in LINDE_FIELDS]
            where = (
                f"R package metadat 1.7-2, dat.linde2015 (package/dat.linde2015.csv), "
                f"row {line} (id {record['id']}), arm {arm} (columns treatment{arm}, "
                + ", ".join(f"{stem}{arm}" for stem in LINDE_FIELDS)
                + ")"
            )
            rows.append([study, treatment, *values, LINDE_SOURCE, where, ""])
    out = LINDE / "arms.csv"
    _write(out, header, rows)
    return out


def convert_cipriani() -> Path:
    package = CIPRIANI / "package" / "depression.data.ab.csv"
    with package.open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    header = ["study", "treatment", "n", "response_events", *HEADER_TAIL]
    rows = []
    for line, record in enumerate(records, start=2):
        where = (
            "R package gemtc 0.8-4, depression$data.ab (package/depression.data.ab.csv), "
            f"row {line} (columns study, treatment, responders, sampleSize)"
        )
        rows.append(
            [
                record["study"],
                record["treatment"],
                _cell(record["sampleSize"]),
                _cell(record["responders"]),
                CIPRIANI_SOURCE,
                where,
                "",
            ]
        )
    out = CIPRIANI / "arms.csv"
    _write(out, header, rows)
    return out


if __name__ == "__main__":
    for path in (convert_linde(), convert_cipriani()):
        print(path.relative_to(ROOT))
