"""Multi-arm trials: a control arm shared by several comparisons is divided, never counted twice.

Cochrane Handbook section 23.3.4: split the shared group's participants (and events) among the
comparisons so that each patient enters the meta-analysis once.
"""

from __future__ import annotations

from dataclasses import dataclass

from inflamed.stats.errors import InputError

__all__ = ["SharedControlSplit", "split_shared_control"]


@dataclass(frozen=True)
class SharedControlSplit:
    """A shared control arm divided across the comparisons of a multi-arm trial.

    Attributes
    ----------
    n
        Participants given to each comparison (sums to the control arm's n).
    events
        Events given to each comparison (sums to the arm's events), or ``None``.
    derivation
        The rule used, for the derivation log.
    """

    n: tuple[int, ...]
    events: tuple[int, ...] | None
    derivation: str


def _even_split(total: int, parts: int) -> tuple[int, ...]:
    q, r = divmod(total, parts)
    return tuple(q + 1 if j < r else q for j in range(parts))


def split_shared_control(
    n_ctrl: int, n_comparisons: int, events_ctrl: int | None = None
) -> SharedControlSplit:
    """Divide a multi-arm trial's shared control group so that no patient counts twice.

    Parameters
    ----------
    n_ctrl
        Participants in the shared control arm.
    n_comparisons
        Number of treatment-vs-control comparisons that use it (>= 2).
    events_ctrl
        Events in the control arm, for binary outcomes.

    Returns
    -------
    SharedControlSplit
        Integer group sizes (and events) per comparison, in the order of the comparisons.

    Notes
    -----
    Cochrane Handbook v6.4, section 23.3.4: to include two or more correlated comparisons from
    a multi-arm trial, split the shared group into two or more groups with smaller sample size;
    for dichotomous outcomes both the number of events and the number of participants are
    divided, for continuous outcomes only the number of participants (means and SDs stay).

    Rounding rule (the Handbook gives none): each comparison gets ``floor(n / K)``; the
    remainder ``n mod K`` goes one each to the first comparisons in the order given. Events are
    split the same way. Totals are preserved exactly, every share differs by at most one, and a
    share's events never exceed its participants (if floor(e/K) = floor(n/K) the events remainder
    is no larger than the participants remainder).
    """
    for name, v in (("n_ctrl", n_ctrl), ("n_comparisons", n_comparisons)):
        if int(v) != v:
            raise InputError("must be a whole number", column=name, value=v, expected="an integer")
    if n_comparisons < 2:
        raise InputError(
            "a shared control needs at least two comparisons",
            column="n_comparisons",
            value=n_comparisons,
            expected="an integer >= 2",
        )
    if n_ctrl < n_comparisons:
        raise InputError(
            "control arm too small to split",
            column="n_ctrl",
            value=n_ctrl,
            expected=f"at least {n_comparisons} participants",
        )
    n_parts = _even_split(int(n_ctrl), int(n_comparisons))
    ev_parts = None
    text = (
        f"shared control (n = {int(n_ctrl)}) split evenly over {int(n_comparisons)} comparisons "
        f"-> n = {'/'.join(map(str, n_parts))} (remainder to the first comparisons; Cochrane "
        "Handbook 23.3.4)"
    )
    if events_ctrl is not None:
        if int(events_ctrl) != events_ctrl or not 0 <= events_ctrl <= n_ctrl:
            raise InputError(
                "impossible event count",
                column="events_ctrl",
                value=events_ctrl,
                expected=f"an integer between 0 and n_ctrl = {n_ctrl}",
            )
        ev_parts = _even_split(int(events_ctrl), int(n_comparisons))
        text += f"; events {int(events_ctrl)} -> {'/'.join(map(str, ev_parts))}"
    return SharedControlSplit(n_parts, ev_parts, text)
