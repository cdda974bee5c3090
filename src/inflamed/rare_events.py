"""Rare events in binary outcomes: the tables extract set aside, and analyses that keep them.

A trial with no events in either arm (Raison 2013: 0/30 vs 0/30 serious adverse events) carries
no information on a risk or odds ratio, so the extract stage sets it aside (``derivation_log.csv``,
step ``exclude``). On the risk-difference scale it is information: "no events in 60 patients"
bounds the difference. The pool stage therefore runs, for every binary outcome and analysis set,
the methods named in config ``pooling.rare_events`` (one place) on every 2x2 table, set-aside
ones included:

``MH_RD``
    Mantel-Haenszel risk difference (Greenland & Robins 1985; Sato, Greenland & Robins 1989
    variance), as metafor's ``rma.mh(measure = "RD")`` and RevMan compute it; double-zero tables
    contribute to its weights. Without correction, as metafor's default: a continuity correction
    is not needed by MH sums and biases them (Ades et al. 2025, Res Synth Methods). When no table
    has an event the MH variance is 0 and the interval has no width; then, and only then, 0.5 is
    added to every cell of the tables with a zero cell (metafor ``add = c(1/2, 1/2), to =
    c("only0", "only0")``, RevMan's correction) and the block says so.
``PETO``
    Peto's one-step odds ratio (metafor ``rma.peto``); not estimable without any event, and said.

Which tables are double-zero comes from the extract stage's derivation log; their counts come
from the ingested ``contrasts.csv`` (by ``row_ref``), so no count is typed twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from inflamed.stats.binary import rma_mh, rma_peto

__all__ = [
    "COUNTS",
    "RARE_EVENT_METHODS",
    "SET_ASIDE_COLUMNS",
    "rare_event_analyses",
    "set_aside_tables",
    "tables_with_set_aside",
]

#: Methods config ``pooling.rare_events`` may name, and how the report names them.
RARE_EVENT_METHODS = {
    "MH_RD": "Mantel-Haenszel risk difference",
    "PETO": "Peto odds ratio",
}

#: The 2x2 counts of one table (treatment first, as in the engine).
COUNTS = ("events_treat", "n_treat", "events_ctrl", "n_ctrl")

#: Columns of :func:`set_aside_tables`.
SET_ASIDE_COLUMNS = ("study_id", "outcome", "subgroup", "contrast", "row_ref", *COUNTS)

#: The 0.5 correction used only when the uncorrected MH RD has a zero variance.
_CORRECTED = {"add": (0.5, 0.5), "to": ("only0", "only0")}


def set_aside_tables(derivation_log: pd.DataFrame, contrasts: pd.DataFrame) -> pd.DataFrame:
    """The 2x2 tables extract set aside for no events (or only events) in both arms.

    Parameters
    ----------
    derivation_log
        The extract stage's ``derivation_log.csv`` (rows with step ``exclude`` and an assumption
        that says "no events" are the set-aside tables).
    contrasts
        The ingest stage's ``contrasts.csv`` (counts, looked up by ``row_ref``).

    Returns
    -------
    pandas.DataFrame
        One row per set-aside table with :data:`SET_ASIDE_COLUMNS`; empty (with the columns)
        when nothing was set aside.
    """
    empty = pd.DataFrame(columns=list(SET_ASIDE_COLUMNS))
    needed = {"step", "assumption", "row_ref"}
    if derivation_log is None or contrasts is None or derivation_log.empty:
        return empty
    if not needed <= set(derivation_log) or "row_ref" not in contrasts:
        return empty
    dropped = derivation_log[
        (derivation_log["step"] == "exclude")
        & derivation_log["assumption"].fillna("").str.contains("no events")
    ]
    # A sheet row (row_ref) is one table; its study, outcome, subgroup and counts are the
    # ingested row's.
    wanted = dropped[["row_ref"]].drop_duplicates()
    if wanted.empty:
        return empty
    tables = wanted.merge(
        contrasts.reindex(columns=list(SET_ASIDE_COLUMNS)), on="row_ref", how="inner"
    ).dropna(subset=list(COUNTS))
    return tables[list(SET_ASIDE_COLUMNS)].reset_index(drop=True)


def tables_with_set_aside(rows: pd.DataFrame, aside: pd.DataFrame) -> pd.DataFrame:
    """One analysis set's 2x2 tables (``study_id`` and :data:`COUNTS`) plus its set-aside ones.

    ``aside`` holds the double-zero tables extract set aside that belong to the same set.
    """
    parts = [frame[["study_id", *COUNTS]] for frame in (rows, aside) if len(frame)]
    if not parts:
        return pd.DataFrame(columns=["study_id", *COUNTS])
    return pd.concat([p.astype({c: float for c in COUNTS}) for p in parts], ignore_index=True)


def _block(result: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"estimable": result.get("reason") is None, **result, **extra}


def _mh_rd(counts: list[Any], level: float) -> dict[str, Any]:
    result = rma_mh(*counts, measure="RD", level=level).to_dict()
    if result.get("reason") is None and result["se"] == 0:
        corrected = rma_mh(*counts, measure="RD", level=level, **_CORRECTED).to_dict()
        return _block(
            corrected,
            zero_cell_correction=(
                "no table has an event, so the Mantel-Haenszel variance is 0; 0.5 added to "
                "every cell of the tables with a zero cell (as RevMan; metafor add = c(1/2, "
                '1/2), to = c("only0", "only0"))'
            ),
        )
    return _block(result, zero_cell_correction="none (metafor rma.mh default)")


def rare_event_analyses(
    tables: pd.DataFrame, methods: Sequence[str], *, level: float = 95.0
) -> dict[str, Any]:
    """Run the configured rare-event methods on every 2x2 table of one analysis set.

    Parameters
    ----------
    tables
        One row per table with :data:`COUNTS` and ``study_id`` (rows without the four counts are
        left out); set-aside double-zero tables included.
    methods
        Keys of :data:`RARE_EVENT_METHODS`, in the order the report shows them.
    level
        Confidence level in percent.

    Returns
    -------
    dict
        ``reported``, ``k``, ``n_participants``, ``double_zero`` (study ids of tables with no
        events, or only events, in both arms) and one block per method (estimate on the RD
        scale for ``MH_RD``, log OR for ``PETO``; ``estimable`` and ``reason`` when not).
    """
    if not methods:
        return {"reported": False, "reason": "no rare-event method named in pooling.rare_events"}
    usable = tables.dropna(subset=list(COUNTS)) if len(tables) else tables
    if usable is None or usable.empty:
        return {"reported": False, "reason": "no study reports the 2x2 counts"}
    counts = [usable[c].to_numpy(dtype=float) for c in COUNTS]
    a, n1, c, n2 = counts
    zero = ((a == 0) & (c == 0)) | ((a == n1) & (c == n2))
    out: dict[str, Any] = {
        "reported": True,
        "k": len(usable),
        "n_participants": int(n1.sum() + n2.sum()),
        "double_zero": [str(s) for s in usable["study_id"][zero]],
        "methods": list(methods),
    }
    for method in methods:
        if method == "MH_RD":
            out[method] = _mh_rd(counts, level)
        elif method == "PETO":
            out[method] = _block(rma_peto(*counts, level=level).to_dict())
        else:
            raise ValueError(f"unknown rare-event method {method!r}; expected {RARE_EVENT_METHODS}")
    return out
