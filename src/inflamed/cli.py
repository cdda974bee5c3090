"""The ``inflamed`` command line: single analyses outside the workflow, with metafor's names.

::

    inflamed effects CSV --measure SMD --m1i C --sd1i C --n1i C --m2i C --sd2i C --n2i C [-o OUT]
    inflamed effects CSV --measure RR --ai C --n1i C --ci C --n2i C [-o OUT]
    inflamed effects --from metapsy CSV [-o OUT]
    inflamed pool CSV --yi C --vi C [--method REML] [--test knha] [--mods C ...] [--json]
    inflamed pool CSV --measure RR --method MH --ai C --n1i C --ci C --n2i C [--json]
    inflamed network CSV --study C --treatment C --events C --n C --measure OR --reference T
        --method FE|REML|bayes [--small-values good|bad] [--json]   (see inflamed.cli_network)
    inflamed fetch ctgov --review NAME [NCT ...] [--base-url URL]
    inflamed --version

Input files are read strictly (:func:`inflamed.io.read_table`): a ragged row, a trailing comma, a
repeated header, an unbalanced quote or a number that could be read two ways (``1,040``) stop
with the row to fix; ``--decimal ,`` and ``--thousands ,`` declare a file's number convention.
A missing value (empty cell or ``NA``) is not an error: as metafor's ``escalc``, ``effects``
leaves ``yi``/``vi`` empty for that row, and as ``rma``, ``pool`` leaves the row out; both name
the rows in a warning, and ``pool --json`` reports ``k`` (used), ``k_omitted`` and
``omitted_rows``. Values that are present but impossible (negative SD, n <= 0, events > n) stay
errors.

Every failure is one line on standard error (``inflamed: file ..., row ..., column ...: ...;
expected ...``) and exit status 2, never a traceback; the output never replaces an input. Errors
name the file's column as the user gave it, with metafor's argument in parentheses
(``column 'sd_t (sd1i)'``).

Only the chosen subcommand imports NumPy, pandas or SciPy, so ``inflamed --version`` is instant.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from inflamed.cli_fetch import add_fetch_parser
from inflamed.cli_network import add_network_parser
from inflamed.errors import InflamedError, InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from inflamed.io import CsvTable

CONTINUOUS_ARGS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
BINARY_ARGS = ("ai", "bi", "ci", "di", "n1i", "n2i")
TABLE_ARGS = ("ai", "n1i", "ci", "n2i")


def warn(message: str) -> None:
    """One warning line on standard error (metafor's warnings, in inflamed's format)."""
    print(f"inflamed: warning: {message}", file=sys.stderr)


def refuse_overwrite(output: str | None, *inputs: str) -> None:
    """Stop before writing when ``output`` is (or resolves to) one of the inputs, or is a folder."""
    if not output:
        return
    out = Path(output)
    if out.is_dir():
        raise InputError("the output is a folder", file=output, expected="a file path")
    for given in inputs:
        src = Path(given)
        same = out.resolve() == src.resolve()
        if not same and out.exists() and src.exists():
            same = out.samefile(src)
        if same:
            raise InputError(
                "the output would overwrite the input",
                file=output,
                value=given,
                expected="an output path other than the input file",
            )


def _read(args: argparse.Namespace) -> CsvTable:
    from inflamed.io import read_table

    return read_table(args.csv, what="a comma-separated file with a header row")


def _read_csv(path: str) -> pd.DataFrame:
    """The strict reader as a typed frame, for subcommands that take one (``network``)."""
    from inflamed.io import read_frame

    return read_frame(path, what="a comma-separated file with a header row")


def _numbers(
    table: CsvTable, args: argparse.Namespace, roles: dict[str, str]
) -> dict[str, np.ndarray]:
    from inflamed.io import table_columns

    return table_columns(
        table,
        roles,
        decimal=args.decimal,
        thousands=args.thousands,
        hint=", or declare the file's convention with --decimal , or --thousands ,",
    )


def _label(roles: dict[str, str], role: str) -> str:
    column = roles.get(role, role)
    return column if column == role else f"{column} ({role})"


def _relabel(
    error: InputError, file: str, roles: dict[str, str], rows: Sequence[int]
) -> InputError:
    """Name the file, the file's row and the user's column in an error the engine raised.

    The engine numbers rows by position (``row_offset=0``); ``rows`` maps a position among the
    rows it was given back to the spreadsheet row.
    """
    if error.file is None:
        error.file = file
    if error.row is not None and 0 <= error.row < len(rows):
        error.row = rows[error.row]
    if error.column in roles:
        error.column = _label(roles, error.column)
    error.args = (str(error),)
    return error


def _complete_rows(
    arrays: dict[str, np.ndarray], roles: dict[str, str], table: CsvTable, what: str
) -> np.ndarray:
    """Rows with every value present; the others are named in one warning."""
    import numpy as np

    present = np.ones(len(table.rows), dtype=bool)
    for values in arrays.values():
        present &= ~np.isnan(values)
    if not present.all():
        gaps = [
            f"row {row} ({', '.join(_label(roles, r) for r in arrays if np.isnan(arrays[r][i]))})"
            for i, row in enumerate(table.rows)
            if not present[i]
        ]
        shown = "; ".join(gaps[:20]) + (f"; and {len(gaps) - 20} more" if len(gaps) > 20 else "")
        warn(f"file {table.file}: a value is missing in {len(gaps)} row(s), {what}: {shown}")
    return present


def _write(result: Any, output: str | None) -> None:
    from inflamed.io import csv_text, write_csv

    if output:
        write_csv(output, result)
    else:
        sys.stdout.write(csv_text(result))


def cmd_effects(args: argparse.Namespace) -> int:
    """``inflamed effects``: append ``yi`` and ``vi`` to every row (metafor's ``escalc``)."""
    refuse_overwrite(args.output, args.csv)
    if args.source_format == "metapsy":
        from inflamed.ingest.metapsy import read_metapsy
        from inflamed.ingest.metapsy_effects import metapsy_effects

        frame = read_metapsy(args.csv, fractional_counts=args.fractional_counts)
        _write(metapsy_effects(frame), args.output)
        return 0
    if args.measure is None:
        raise InputError("--measure is required", expected="--measure SMD, MD, RR, OR or RD")
    names = CONTINUOUS_ARGS if args.measure in {"SMD", "MD"} else BINARY_ARGS
    roles = {name: getattr(args, name) for name in names if getattr(args, name)}
    _require_options(args.measure, roles)
    table = _read(args)
    arrays = _numbers(table, args, roles)
    present = _complete_rows(
        arrays, roles, table, "yi and vi are left empty there (as metafor's escalc gives NA)"
    )
    import numpy as np

    from inflamed.stats.effect_sizes import escalc

    yi = np.full(len(table.rows), np.nan)
    vi = np.full(len(table.rows), np.nan)
    idx = np.flatnonzero(present)
    if idx.size:
        try:
            es = escalc(args.measure, **{r: a[idx] for r, a in arrays.items()}, row_offset=0)
        except InputError as error:
            raise _relabel(error, table.file, roles, [table.rows[i] for i in idx]) from None
        yi[idx], vi[idx] = es.yi, es.vi
    result = table.frame()
    result["yi"], result["vi"] = yi, vi
    _write(result, args.output)
    return 0


def _require_options(measure: str, roles: dict[str, str]) -> None:
    """The columns a measure needs (metafor's escalc): all six for SMD/MD; ai and ci plus either
    n1i and n2i or bi and di for RR/OR/RD."""
    if measure in {"SMD", "MD"}:
        absent = [r for r in CONTINUOUS_ARGS if r not in roles]
        needs = "--m1i, --sd1i, --n1i, --m2i, --sd2i and --n2i"
    else:
        absent = [r for r in ("ai", "ci") if r not in roles]
        if not ({"n1i", "n2i"} <= roles.keys() or {"bi", "di"} <= roles.keys()):
            absent += [r for r in ("n1i", "n2i") if r not in roles]
        needs = "--ai and --ci, with --n1i and --n2i (or --bi and --di)"
    if absent:
        raise InputError(
            f"--measure {measure} needs {needs}; missing: " + ", ".join(f"--{r}" for r in absent),
            expected="a column of the file for each",
        )


def _moderators(table: CsvTable, args: argparse.Namespace) -> dict[str, Any]:
    """Moderator columns: numbers, or categories when a cell holds a letter (metafor's factors)."""
    import numpy as np

    out: dict[str, Any] = {}
    for column in args.mods:
        table.require(column, "a moderator, --mods")
        cells = table.column(column)
        if any(any(ch.isalpha() for ch in c) for c in cells if c != "NA"):
            out[column] = np.array([np.nan if c in ("", "NA") else c for c in cells], dtype=object)
        else:
            out[column] = _numbers(table, args, {column: column})[column]
    return out


def cmd_pool(args: argparse.Namespace) -> int:
    """``inflamed pool``: metafor's ``rma`` / ``rma.mh`` / ``rma.peto`` on one file."""
    level = float(args.level)
    if args.method in {"MH", "PETO"}:
        absent = [f"--{r}" for r in TABLE_ARGS if not getattr(args, r)]
        if absent:
            raise InputError(
                f"--method {args.method} needs --ai, --n1i, --ci and --n2i; missing: "
                + ", ".join(absent),
                expected="the columns of events and totals of both arms",
            )
        roles = {r: getattr(args, r) for r in TABLE_ARGS}
        if args.mods:
            raise InputError(
                f"--mods cannot be used with --method {args.method}",
                expected="moderators with an inverse-variance method (--yi/--vi, e.g. --method REML)",
            )
    elif not (args.yi and args.vi):
        raise InputError(
            "--yi and --vi are required for inverse-variance pooling",
            expected="--yi COLUMN --vi COLUMN (or --method MH|PETO with --ai/--n1i/--ci/--n2i)",
        )
    else:
        roles = {"yi": args.yi, "vi": args.vi}
    table = _read(args)
    arrays = _numbers(table, args, roles)
    mods = _moderators(table, args) if args.mods else {}
    import numpy as np
    import pandas as pd

    with_mods = {**arrays, **{m: np.where(pd.isna(v), np.nan, 0.0) for m, v in mods.items()}}
    present = _complete_rows(
        with_mods, {**roles, **{m: m for m in mods}}, table, "left out (as metafor's rma)"
    )
    idx = np.flatnonzero(present)
    rows = [table.rows[i] for i in idx]
    if not idx.size:
        raise InputError(
            "no row has every value the analysis needs",
            file=table.file,
            expected="at least one complete row in the columns " + ", ".join(roles.values()),
        )
    try:
        out = _fit(args, {r: a[idx] for r, a in arrays.items()}, mods, idx, level)
    except InputError as error:
        raise _relabel(error, table.file, roles, rows) from None
    out["k_omitted"] = int(len(table.rows) - idx.size)
    out["omitted_rows"] = [r for i, r in enumerate(table.rows) if not present[i]]
    _print_result(out, as_json=args.json)
    return 0


def _fit(
    args: argparse.Namespace,
    arrays: dict[str, np.ndarray],
    mods: dict[str, Any],
    idx: np.ndarray,
    level: float,
) -> dict[str, Any]:
    if args.method == "MH":
        from inflamed.stats.binary import rma_mh

        tables = (arrays["ai"], arrays["n1i"], arrays["ci"], arrays["n2i"])
        return rma_mh(*tables, measure=args.measure or "OR", level=level, row_offset=0).to_dict()
    if args.method == "PETO":
        from inflamed.stats.binary import rma_peto

        tables = (arrays["ai"], arrays["n1i"], arrays["ci"], arrays["n2i"])
        return rma_peto(*tables, level=level, row_offset=0).to_dict()
    import pandas as pd

    from inflamed.stats.pooling import rma

    frame = pd.DataFrame({m: v[idx] for m, v in mods.items()}) if mods else None
    if frame is not None:
        for m in frame.columns:
            if frame[m].dtype == object:
                frame[m] = frame[m].astype(str)
    fit = rma(
        arrays["yi"],
        arrays["vi"],
        mods=frame,
        method=args.method,
        test=args.test,
        level=level,
        row_offset=0,
    )
    return fit.to_dict(qprofile=fit.k > 1 and fit.method != "FE")


def _print_result(out: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        from inflamed.io import dumps_json

        sys.stdout.write(dumps_json(out))
        return
    width = max(len(k) for k in out)
    for key, value in out.items():
        if not isinstance(value, (list, dict)):
            print(f"{key:<{width}}  {value}")
    if out.get("omitted_rows"):
        print(f"{'omitted_rows':<{width}}  {', '.join(map(str, out['omitted_rows']))}")
    for coef in out.get("coefficients", []):
        print(json.dumps(coef))


def _number_convention(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--decimal",
        default=".",
        choices=[".", ","],
        help="decimal mark of the file's numbers (default '.'; ',' for decimal commas)",
    )
    parser.add_argument(
        "--thousands",
        default=None,
        choices=[",", ".", " ", "'"],
        help="thousands separator the file's numbers use (default: none; '1,040' is then an error)",
    )


class _Version(argparse.Action):
    """``--version``: the package metadata is read only when asked for (start-up stays fast)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        import inflamed

        sys.stdout.write(f"inflamed {inflamed.__version__}\n")
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """argparse with the command line's one-line error format (usage stays in ``--help``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"inflamed: {message} (see '{self.prog} --help')\n")


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < 100:
        raise argparse.ArgumentTypeError(f"a percentage between 0 and 100 is expected, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="inflamed",
        description="Effect sizes and meta-analyses that agree with metafor (see README).",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

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
    eff.add_argument(
        "--fractional-counts",
        action="store_true",
        help="--from metapsy: accept fractional n (a shared arm split between comparisons)",
    )
    eff.add_argument("--measure", choices=["SMD", "MD", "RR", "OR", "RD"])
    for name in sorted(set(CONTINUOUS_ARGS) | set(BINARY_ARGS)):
        eff.add_argument(f"--{name}", metavar="COLUMN")
    _number_convention(eff)
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
    pool.add_argument("--level", default=95.0, type=_percent, help="confidence level in percent")
    pool.add_argument("--mods", nargs="+", metavar="COLUMN", help="moderator columns")
    pool.add_argument("--measure", choices=["RR", "OR", "RD"], help="for --method MH/PETO")
    for name in TABLE_ARGS:
        pool.add_argument(f"--{name}", metavar="COLUMN")
    _number_convention(pool)
    pool.add_argument("--json", action="store_true", help="print one JSON object")
    pool.set_defaults(func=cmd_pool)

    add_network_parser(sub, read_csv=_read_csv)

    add_fetch_parser(sub)
    return parser


def one_line(error: BaseException) -> str | None:
    """The one-line message for an error caused by the input or the file system, else ``None``.

    Every subcommand's failures pass through here (:func:`run`), so a new subcommand gets the
    one-line format without code of its own.
    """
    if isinstance(error, InflamedError):
        return str(error)
    if isinstance(error, OSError):
        where = f"file {error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or error}"
    if isinstance(error, json.JSONDecodeError):
        return f"not valid JSON ({error.msg}, line {error.lineno}, character {error.colno})"
    if isinstance(error, (csv.Error, UnicodeDecodeError)):
        return f"unreadable input ({error})"
    yaml = sys.modules.get("yaml")
    if yaml is not None and isinstance(error, yaml.YAMLError):
        return f"not valid YAML ({str(error).splitlines()[0]})"
    return None


def run(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run one subcommand; a failure caused by the input is one line on stderr and exit 2."""
    try:
        return func(args)
    except Exception as error:  # input problems become one line; anything else stays a bug
        message = one_line(error)
        if message is None:
            raise
        print(f"inflamed: {' '.join(message.split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("inflamed: interrupted", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
