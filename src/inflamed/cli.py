"""The ``inflamed`` command line: single analyses outside the workflow, with metafor's names.

::

    inflamed effects CSV --measure SMD --m1i C --sd1i C --n1i C --m2i C --sd2i C --n2i C [-o OUT]
    inflamed effects CSV --measure RR --ai C --n1i C --ci C --n2i C [-o OUT]
    inflamed effects --from metapsy CSV [-o OUT]
    inflamed pool CSV --yi C --vi C [--method REML] [--test knha] [--mods C ...] [--json]
    inflamed pool CSV --measure RR --method MH --ai C --n1i C --ci C --n2i C [--json]
    inflamed network CSV --study C --treatment C --events C --n C --measure OR --reference T
        --method FE|REML|bayes [--small-values good|bad] [--json]   (see inflamed.cli_network)
    inflamed --version

Errors in the input name the file, the CSV row (header = row 1), the column and what was
expected, and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import pandas as pd

from inflamed import __version__
from inflamed.cli_network import add_network_parser
from inflamed.errors import InflamedError, InputError
from inflamed.io import dumps_json, write_csv

#: CSV rows as a spreadsheet numbers them: the header is row 1, the first data row is row 2.
CSV_ROW_OFFSET = 2

CONTINUOUS_ARGS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
BINARY_ARGS = ("ai", "bi", "ci", "di", "n1i", "n2i")


def _read_csv(path: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, keep_default_na=True)
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except UnicodeDecodeError as error:
        raise InputError(
            f"not UTF-8 text ({error.reason} at byte {error.start})",
            file=path,
            expected="a UTF-8 encoded CSV",
        ) from None


def _columns(frame: pd.DataFrame, path: str, mapping: dict[str, str | None]) -> dict[str, Any]:
    """Look up the columns the user named; a missing one is an error naming the alternatives."""
    arrays: dict[str, Any] = {}
    for argument, column in mapping.items():
        if column is None:
            continue
        if column not in frame.columns:
            raise InputError(
                f"no column named {column!r} (given as --{argument})",
                file=path,
                column=column,
                expected="one of the file's columns: " + ", ".join(map(str, frame.columns)),
            )
        numeric = pd.to_numeric(frame[column], errors="coerce")
        bad = numeric.isna() & frame[column].notna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(
                "text where a number is expected",
                file=path,
                row=row + CSV_ROW_OFFSET,
                column=column,
                value=frame[column].iloc[row],
                expected="a number",
            )
        arrays[argument] = numeric.to_numpy(dtype=float)
    return arrays


def _with_file(error: InputError, path: str) -> InputError:
    """Attach the file name to an error raised by the array-level library."""
    if error.file is None:
        error.file = path
    return error


def cmd_effects(args: argparse.Namespace) -> int:
    if args.source_format == "metapsy":
        from inflamed.ingest.metapsy import metapsy_effects, read_metapsy

        result = metapsy_effects(read_metapsy(args.csv))
    else:
        from inflamed.stats.effect_sizes import escalc

        if args.measure is None:
            raise InputError("--measure is required", expected="SMD, MD, RR, OR or RD")
        frame = _read_csv(args.csv)
        names = CONTINUOUS_ARGS if args.measure in {"SMD", "MD"} else BINARY_ARGS
        mapping = {name: getattr(args, name) for name in names}
        arrays = _columns(frame, args.csv, mapping)
        try:
            es = escalc(args.measure, **arrays, row_offset=CSV_ROW_OFFSET)
        except InputError as error:
            raise _with_file(error, args.csv) from None
        result = frame.copy()
        result["yi"] = es.yi
        result["vi"] = es.vi
    if args.output:
        write_csv(args.output, result)
    else:
        result.to_csv(sys.stdout, index=False, float_format="%.12g", lineterminator="\n")
    return 0


def cmd_pool(args: argparse.Namespace) -> int:
    frame = _read_csv(args.csv)
    level = float(args.level)
    if args.method in {"MH", "PETO"}:
        from inflamed.stats.binary import rma_mh, rma_peto

        arrays = _columns(
            frame, args.csv, {"ai": args.ai, "n1i": args.n1i, "ci": args.ci, "n2i": args.n2i}
        )
        try:
            if args.method == "MH":
                result = rma_mh(
                    arrays["ai"],
                    arrays["n1i"],
                    arrays["ci"],
                    arrays["n2i"],
                    measure=args.measure or "OR",
                    level=level,
                    row_offset=CSV_ROW_OFFSET,
                )
            else:
                result = rma_peto(
                    arrays["ai"],
                    arrays["n1i"],
                    arrays["ci"],
                    arrays["n2i"],
                    level=level,
                    row_offset=CSV_ROW_OFFSET,
                )
        except InputError as error:
            raise _with_file(error, args.csv) from None
        out = result.to_dict()
    else:
        from inflamed.stats.pooling import rma

        if not (args.yi and args.vi):
            raise InputError(
                "--yi and --vi are required for inverse-variance pooling",
                expected="--yi COLUMN --vi COLUMN (or --method MH|PETO with --ai/--n1i/--ci/--n2i)",
            )
        arrays = _columns(frame, args.csv, {"yi": args.yi, "vi": args.vi})
        mods = None
        if args.mods:
            missing = [m for m in args.mods if m not in frame.columns]
            if missing:
                raise InputError(
                    f"no moderator column named {missing[0]!r}",
                    file=args.csv,
                    column=missing[0],
                    expected="one of the file's columns: " + ", ".join(map(str, frame.columns)),
                )
            mods = frame[list(args.mods)]
        try:
            fit = rma(
                arrays["yi"],
                arrays["vi"],
                mods=mods,
                method=args.method,
                test=args.test,
                level=level,
                row_offset=CSV_ROW_OFFSET,
            )
        except InputError as error:
            raise _with_file(error, args.csv) from None
        out = fit.to_dict(qprofile=fit.k > 1 and fit.method != "FE")
    if args.json:
        sys.stdout.write(dumps_json(out))
    else:
        width = max(len(k) for k in out)
        for key, value in out.items():
            if not isinstance(value, (list, dict)):
                print(f"{key:<{width}}  {value}")
        for coef in out.get("coefficients", []):
            print(json.dumps(coef))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inflamed",
        description="Effect sizes and meta-analyses that agree with metafor (see README).",
    )
    parser.add_argument("--version", action="version", version=f"inflamed {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    eff = sub.add_parser(
        "effects", help="append yi and vi to every row of a CSV (metafor's escalc)"
    )
    eff.add_argument("csv", help="input CSV (one row per study or comparison)")
    eff.add_argument(
        "--from",
        dest="source_format",
        choices=["csv", "metapsy"],
        default="csv",
        help="'metapsy': a Metapsy-standard file; writes .id, yi, vi for every row",
    )
    eff.add_argument("--measure", choices=["SMD", "MD", "RR", "OR", "RD"])
    for name in sorted(set(CONTINUOUS_ARGS) | set(BINARY_ARGS)):
        eff.add_argument(f"--{name}", metavar="COLUMN")
    eff.add_argument("-o", "--output", help="output CSV (default: standard output)")
    eff.set_defaults(func=cmd_effects)

    pool = sub.add_parser("pool", help="pool effect sizes (metafor's rma, rma.mh, rma.peto)")
    pool.add_argument("csv")
    pool.add_argument("--yi", metavar="COLUMN")
    pool.add_argument("--vi", metavar="COLUMN")
    pool.add_argument(
        "--method",
        default="REML",
        choices=["REML", "ML", "DL", "PM", "SJ", "HE", "EB", "FE", "MH", "PETO"],
    )
    pool.add_argument("--test", default="knha", choices=["z", "t", "knha", "adhoc"])
    pool.add_argument("--level", default=95.0, type=float, help="confidence level in percent")
    pool.add_argument("--mods", nargs="+", metavar="COLUMN", help="moderator columns")
    pool.add_argument("--measure", choices=["RR", "OR", "RD"], help="for --method MH/PETO")
    for name in ("ai", "n1i", "ci", "n2i"):
        pool.add_argument(f"--{name}", metavar="COLUMN")
    pool.add_argument("--json", action="store_true", help="print one JSON object")
    pool.set_defaults(func=cmd_pool)

    add_network_parser(sub, read_csv=_read_csv)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except InflamedError as error:
        print(f"inflamed: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
