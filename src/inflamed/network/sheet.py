"""Read and check a network sheet: one row per study arm, outcome columns named by config.

The sheet format (``arms.csv`` of a network review; codebook ``network``, schema
``inflamed/schemas/network.schema.json``, documented in ``docs/codebook.md``) is long: ``study``,
``treatment``, ``n``, then one set of columns per outcome named ``<outcome>_events`` (and, for a
denominator other than ``n``, ``<outcome>_n``; for a continuous outcome ``<outcome>_mean`` and
``<outcome>_sd``), then ``source``, ``source_location`` and ``notes``. Every cell is checked
against the schema when the sheet is read (:func:`inflamed.ingest.sheets.read_sheet`); this module
adds what a per-row schema cannot see: that the configured outcome columns and reference exist,
that ``events <= n``, and that each study has at least two arms.

Arms with a missing number for an outcome are left out of that outcome (and a study left with
fewer than two arms is left out), each decision written to the data log; nothing is imputed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from inflamed.errors import InputError
from inflamed.ingest.sheets import read_sheet

__all__ = ["NetworkArms", "outcome_arms", "read_network", "validate_network"]

#: Measures of an outcome counted in events per arm, and those given as mean and SD per arm.
BINARY_MEASURES = ("OR", "RR", "RD")
CONTINUOUS_MEASURES = ("MD", "SMD")


@dataclass(frozen=True)
class NetworkArms:
    """The arms analysed for one outcome of a network.

    Attributes
    ----------
    frame
        One row per arm: ``study``, ``treatment``, ``n`` and ``events`` (binary) or ``mean`` and
        ``sd`` (continuous), ``row`` (spreadsheet row of the arm in the sheet, header = row 1).
    log
        One plain sentence per data decision (arm or study left out, and why).
    measure
        The effect measure the outcome is analysed with.
    """

    frame: pd.DataFrame
    log: tuple[str, ...]
    measure: str


def sheet_path(spec: Mapping[str, Any]) -> Path:
    """The network sheet of a configured network (``path`` / ``sheet``)."""
    return Path(spec["path"]) / spec.get("sheet", "arms.csv")


def read_network(path: str | Path) -> tuple[pd.DataFrame, list[int]]:
    """Read a network sheet, validated cell by cell against its schema.

    Returns
    -------
    frame, rows
        Typed values (numbers as float, empty cells NaN) and the spreadsheet row of each record.

    Raises
    ------
    InputError
        Naming file, row and column: wrong encoding, unknown or missing column, text in a number,
        a negative count, a fraction where a count is expected.
    """
    sheet = read_sheet(path, "network")
    return sheet.frame, list(sheet.rows)


def _fields(measure: str) -> tuple[str, ...]:
    return ("events",) if measure in BINARY_MEASURES else ("mean", "sd")


def outcome_arms(
    frame: pd.DataFrame, rows: list[int], *, outcome: str, measure: str, file: str
) -> NetworkArms:
    """The arms of one outcome, with every left-out arm and study logged.

    Parameters
    ----------
    frame, rows
        As returned by :func:`read_network`.
    outcome
        Outcome name; its columns are ``<outcome>_events`` (or ``_mean``/``_sd``) and optionally
        ``<outcome>_n``.
    measure
        One of OR, RR, RD (events per arm) or MD, SMD (mean and SD per arm).
    file
        How the sheet is named in errors.

    Raises
    ------
    InputError
        An outcome column is missing, events exceed n, or a study has a single arm in the sheet.
    """
    if measure not in BINARY_MEASURES + CONTINUOUS_MEASURES:
        raise InputError(
            "unknown effect measure",
            file=file,
            value=measure,
            expected="one of " + ", ".join(BINARY_MEASURES + CONTINUOUS_MEASURES),
        )
    fields = _fields(measure)
    for field in fields:
        if f"{outcome}_{field}" not in frame.columns:
            raise InputError(
                f"the sheet has no column for outcome '{outcome}'",
                file=file,
                row=1,
                column=f"{outcome}_{field}",
                expected=f"a column '{outcome}_{field}' (outcome columns are '<outcome>_<field>')",
            )
    n_column = f"{outcome}_n" if f"{outcome}_n" in frame.columns else "n"
    counts = frame.groupby("study", sort=False)["study"].transform("size").to_numpy()
    for index in np.flatnonzero(counts < 2):
        raise InputError(
            "a study with a single arm (a network needs every study to compare two or more)",
            file=file,
            row=rows[index],
            column="study",
            value=frame["study"].iloc[index],
            expected="at least two rows (arms) per study",
        )
    table = pd.DataFrame(
        {
            "study": frame["study"],
            "treatment": frame["treatment"],
            "n": frame[n_column].where(frame[n_column].notna(), frame["n"]),
            "row": rows,
        }
    )
    for field in fields:
        table[field] = frame[f"{outcome}_{field}"].to_numpy(dtype=float)
    if "events" in fields:
        over = np.flatnonzero(table["events"].to_numpy() > table["n"].to_numpy())
        if len(over):
            i = int(over[0])
            raise InputError(
                "more events than participants in the arm",
                file=file,
                row=rows[i],
                column=f"{outcome}_events",
                value=table["events"].iloc[i],
                expected=f"at most {table['n'].iloc[i]:g} ('{n_column}' of the same row)",
            )
    log: list[str] = []
    complete = table[["n", *fields]].notna().all(axis=1).to_numpy()
    for i in np.flatnonzero(~complete):
        missing = [c for c in ("n", *fields) if pd.isna(table[c].iloc[i])]
        log.append(
            f"Arm '{table['treatment'].iloc[i]}' of study '{table['study'].iloc[i]}' (row "
            f"{table['row'].iloc[i]}) left out of '{outcome}': no value in "
            + ", ".join(f"'{n_column if c == 'n' else f'{outcome}_{c}'}'" for c in missing)
            + "."
        )
    kept = table[complete]
    arms_left = kept.groupby("study", sort=False)["study"].transform("size")
    for study in kept.loc[arms_left < 2, "study"].drop_duplicates():
        log.append(f"Study '{study}' left out of '{outcome}': fewer than two arms report it.")
    kept = kept[arms_left >= 2].reset_index(drop=True)
    return NetworkArms(frame=kept, log=tuple(log), measure=measure)


def validate_network(spec: Mapping[str, Any], *, name: str) -> None:
    """Check a configured network before any job runs (called at workflow parse time).

    Checks that the efficacy / acceptability outcomes are configured outcomes, reads the sheet
    (schema check of every cell), then for every configured outcome checks its columns,
    events <= n, at least two arms per study, and that the reference treatment is a node of the
    network.

    Raises
    ------
    InputError
        The first problem found, naming the file, row and column.
    """
    for role in ("efficacy", "acceptability"):
        if spec.get(role) and spec[role] not in spec["outcomes"]:
            raise InputError(
                f"the {role} outcome of network '{name}' is not one of its outcomes",
                file="config.yaml",
                key=f"networks.{name}.{role}",
                value=spec[role],
                expected="one of " + ", ".join(sorted(spec["outcomes"])),
            )
    path = sheet_path(spec)
    frame, rows = read_network(path)
    file = path.as_posix()
    reference = spec["reference"]
    for outcome, outcome_spec in spec["outcomes"].items():
        arms = outcome_arms(
            frame, rows, outcome=outcome, measure=outcome_spec["measure"], file=file
        )
        if reference not in set(arms.frame["treatment"]):
            raise InputError(
                f"the reference treatment of network '{name}' has no arm with data for "
                f"outcome '{outcome}'",
                file=file,
                column="treatment",
                value=reference,
                expected="one of " + ", ".join(sorted(set(arms.frame["treatment"]))),
            )
