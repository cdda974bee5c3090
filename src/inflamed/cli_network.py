"""``inflamed network``: a network meta-analysis of an arm-level CSV (one row per arm).

::

    inflamed network CSV --study C --treatment C (--events C --n C | --mean C --sd C --n C)
        --measure OR|RR|RD|MD|SMD --reference T --method FE|REML|bayes
        [--small-values good|bad] [--seed N] [--level 95] --json

With ``--json`` it prints one JSON object with the keys ``reference``, ``treatments``, ``effects``
(``{treatment, estimate, se, ci_lb, ci_ub}`` against the reference, log scale for ratios),
``tau2``, ``q``, ``q_df``, ``q_pval``, ``q_het``, ``q_het_df``, ``q_inc``, ``q_inc_df`` and
``pscores`` (plus ``tau`` and SUCRA as ``pscores`` for ``--method bayes``, whose Q keys are
null). Bad input is one line naming the file, row and column, with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from inflamed.errors import InputError

if TYPE_CHECKING:  # pandas is imported when the command runs, not when the parser is built
    import pandas as pd

__all__ = ["add_network_parser", "cmd_network"]

#: The header is row 1, so the first data row is row 2.
ROW_OFFSET = 2
BINARY = ("OR", "RR", "RD")
CONTINUOUS = ("MD", "SMD")
Q_KEYS = ("q", "q_df", "q_pval", "q_het", "q_het_df", "q_inc", "q_inc_df")


def add_network_parser(
    sub: Any, *, read_csv: Callable[[str], pd.DataFrame]
) -> argparse.ArgumentParser:
    """Register ``inflamed network`` on the command line's sub-parsers.

    ``read_csv`` is the command line's CSV reader (one reading convention for every command).
    """
    net = sub.add_parser(
        "network", help="network meta-analysis of arm-level rows (one row per arm)"
    )
    net.add_argument("csv", help="input CSV, one row per arm")
    net.add_argument("--study", required=True, metavar="COLUMN")
    net.add_argument("--treatment", required=True, metavar="COLUMN")
    for name in ("events", "n", "mean", "sd"):
        net.add_argument(f"--{name}", metavar="COLUMN")
    net.add_argument("--measure", required=True, choices=[*BINARY, *CONTINUOUS])
    net.add_argument("--reference", required=True, metavar="TREATMENT")
    net.add_argument("--method", default="REML", choices=["FE", "REML", "DL", "bayes"])
    net.add_argument(
        "--small-values",
        default="good",
        choices=["good", "bad"],
        help="'good' if a low estimate favours a treatment (e.g. an adverse outcome)",
    )
    net.add_argument("--seed", type=int, default=20261201, help="random seed (bayes)")
    net.add_argument("--level", type=float, default=95.0, help="confidence level in percent")
    net.add_argument("--json", action="store_true", help="print one JSON object")
    net.set_defaults(func=partial(cmd_network, read_csv=read_csv))
    return net


def _column(frame: pd.DataFrame, path: str, option: str, column: str | None) -> pd.Series:
    if column is None:
        raise InputError(f"--{option} is required for this measure", file=path, expected=option)
    if column not in frame.columns:
        raise InputError(
            f"no column named {column!r} (given as --{option})",
            file=path,
            column=column,
            expected="one of the file's columns: " + ", ".join(map(str, frame.columns)),
        )
    return frame[column]


def _fit(args: argparse.Namespace, frame: pd.DataFrame, names: dict[str, str]) -> dict[str, Any]:
    path = args.csv
    study = _column(frame, path, "study", args.study)
    treatment = _column(frame, path, "treatment", args.treatment)
    binary = args.measure in BINARY
    wanted = ("events", "n") if binary else ("mean", "sd", "n")
    arrays = {k: _column(frame, path, k, names.get(k)) for k in wanted}
    known = set(treatment.dropna().astype(str).str.strip())
    if args.reference not in known:
        raise InputError(
            f"unknown reference treatment {args.reference!r} (given as --reference)",
            file=path,
            column=args.treatment,
            value=args.reference,
            expected="one of the treatments in the file: " + ", ".join(sorted(known)),
        )
    if args.method == "bayes":
        # imported here: the Bayesian engine is optional and heavy (JAX)
        try:
            from inflamed.stats.network.bayes import nma_bayes
        except ModuleNotFoundError as error:
            if error.name is None or not error.name.startswith("inflamed"):
                raise InputError(
                    f"--method bayes needs {error.name}, which is not installed",
                    expected="FE or REML, or install the Bayesian dependencies",
                ) from None
            raise InputError(
                "--method bayes: the Bayesian engine is not part of this installation",
                expected="FE or REML",
            ) from None

        result = nma_bayes(
            study.astype(str).to_numpy(),
            treatment.astype(str).to_numpy(),
            measure=args.measure,
            reference=args.reference,
            small_values=args.small_values,
            seed=args.seed,
            row_offset=ROW_OFFSET,
            **{k: v.to_numpy() for k, v in arrays.items()},
        )
        out = result.to_dict()
        if "pscores" not in out and "sucra" in out:
            out["pscores"] = out["sucra"]
        for key in Q_KEYS:
            out.setdefault(key, None)
        return out

    from inflamed.stats.network import nma, pairwise

    data = pairwise(
        study.tolist(),
        treatment.tolist(),
        measure=args.measure,
        row_offset=ROW_OFFSET,
        **{k: v.to_numpy() for k, v in arrays.items()},
    )
    fit = nma(
        data,
        reference=args.reference,
        method=args.method,
        level=args.level,
        small_values=args.small_values,
    )
    out = fit.to_dict()
    out["log"] = list(fit.log)
    return out


def cmd_network(args: argparse.Namespace, *, read_csv: Callable[[str], pd.DataFrame]) -> int:
    """Run the network meta-analysis the arguments describe and print it."""
    frame = read_csv(args.csv)
    names = {
        "study": args.study,
        "treatment": args.treatment,
        "events": args.events,
        "n": args.n,
        "mean": args.mean,
        "sd": args.sd,
    }
    try:
        out = _fit(args, frame, names)
    except InputError as error:
        # the engine names its arguments; the user knows the columns
        if error.file is None:
            error.file = args.csv
        if names.get(error.column):
            error.column = names[error.column]
        raise
    if args.json:
        from inflamed.io import dumps_json

        sys.stdout.write(dumps_json(out))
        return 0
    print(
        f"network meta-analysis ({out.get('method', args.method)}), {args.measure} "
        f"vs {out['reference']}"
    )
    import pandas as pd

    effects = pd.DataFrame(out["effects"])
    print(effects.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if out.get("tau2") is not None:
        print(f"tau^2 = {out['tau2']:.4g}")
    if out.get("q") is not None:
        print(
            f"Q = {out['q']:.4f} (df {out['q_df']}), within designs {out['q_het']:.4f} "
            f"(df {out['q_het_df']}), between designs {out['q_inc']:.4f} (df {out['q_inc_df']})"
        )
    ranked = sorted(out["pscores"].items(), key=lambda kv: -kv[1])
    print("ranking (P-score / SUCRA): " + ", ".join(f"{t} {p:.2f}" for t, p in ranked))
    return 0
