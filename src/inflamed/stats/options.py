"""The options of :func:`inflamed.stats.pooling.rma` and their one check (shared with ``rma_batch``).

One definition of which estimators, tests, prediction-interval types and I^2 definitions exist and
of the default ``control`` settings, so that the single-analysis and the batch engine cannot drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inflamed.stats.errors import InputError

__all__ = ["DEFAULT_CONTROL", "I2_DEFS", "METHODS", "PI_TYPES", "TESTS", "check_options", "control"]

#: Estimators of tau^2 accepted by ``rma`` (``EE`` is an alias of ``FE``).
METHODS = ("FE", "EE", "DL", "HE", "SJ", "PM", "EB", "ML", "REML")
#: Inference for the coefficients.
TESTS = ("z", "t", "knha", "adhoc")
#: Prediction-interval variants: ``auto`` follows the test as metafor's ``predict()`` does.
PI_TYPES = ("auto", "z", "t", "higgins")
#: Which I^2/H^2 go into ``i2``/``h2``.
I2_DEFS = ("metafor", "ht")

DEFAULT_CONTROL: dict[str, Any] = {
    # Plain metafor Fisher scoring only (safeguard=False): absolute change in tau^2 that stops it.
    "threshold": 1e-10,
    "maxiter": 1000,
    "tau2_init": None,  # start of plain Fisher scoring (safeguard=False)
    # True: global search of the (restricted) likelihood over a bracketing grid; False: plain
    # metafor Fisher scoring (may return a local maximum; raises ConvergenceError where it fails).
    "safeguard": True,
    # Root finders stop when the bracket is below tol x (the data's variance scale) + 4 eps |x|:
    # relative, so rescaling the data rescales the answer exactly.
    "tol": 1e-12,
    # Knapp-Hartung with a zero scale factor (all residuals zero, e.g. identical studies):
    # "adhoc" floors s2w at 1 (metafor's test="adhoc") and warns; "metafor" keeps s2w = 0 (a
    # zero-width interval, as metafor 3.8-1 reports it) and warns.
    "s2w_zero": "adhoc",
}


def control(user: Mapping[str, Any] | None) -> dict[str, Any]:
    """The default control settings updated by the user's, with unknown keys refused."""
    user = dict(user or {})
    unknown = sorted(set(user) - set(DEFAULT_CONTROL))
    if unknown:
        raise InputError(
            "unknown control setting",
            column="control",
            value=unknown[0],
            expected=", ".join(DEFAULT_CONTROL),
        )
    con = {**DEFAULT_CONTROL, **user}
    if con["s2w_zero"] not in ("adhoc", "metafor"):
        raise InputError(
            "unknown s2w_zero setting",
            column="control",
            value=con["s2w_zero"],
            expected="adhoc or metafor",
        )
    return con


def check_options(method: str, test: str, pi: str, i2_def: str, level: float) -> tuple[str, float]:
    """Validate the options of ``rma``/``rma_batch``; return the method (``EE`` -> ``FE``) and level in %.

    Raises
    ------
    InputError
        An unknown method, test, prediction-interval type or I^2 definition, or a level outside
        (0, 100) per cent (a level <= 1 is read as a proportion, as metafor does).
    """
    method = str(method).upper()
    if method == "EE":
        method = "FE"
    if method not in METHODS:
        raise InputError(
            "unknown method", column="method", value=method, expected=", ".join(METHODS)
        )
    if test not in TESTS:
        raise InputError("unknown test", column="test", value=test, expected=", ".join(TESTS))
    if pi not in PI_TYPES:
        raise InputError(
            "unknown prediction-interval type", column="pi", value=pi, expected=", ".join(PI_TYPES)
        )
    if i2_def not in I2_DEFS:
        raise InputError(
            "unknown I^2 definition", column="i2_def", value=i2_def, expected="metafor or ht"
        )
    level = float(level)
    if level <= 1:  # metafor accepts 0.95 as 95 %
        level *= 100
    if not 0 < level < 100:
        raise InputError("level must lie between 0 and 100", column="level", value=level)
    return method, level
