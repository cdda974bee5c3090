"""What every rule script shares: logging to the rule's log, clear errors, a provenance record.

A rule script is a thin adapter::

    from inflamed.pipeline.rules import run_rule

    def step(smk):
        ...  # read smk.input, call the library, write smk.output

    run_rule(snakemake, step)

:func:`run_rule` sends log records to the rule's ``log:`` file, turns an
:class:`~inflamed.errors.InflamedError` into one readable line on stderr (the file, row, column
and what was expected) and a non-zero exit instead of a traceback, and finally writes the job's
provenance record to ``output.provenance`` when the rule declares one.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from inflamed.errors import InflamedError
from inflamed.pipeline.provenance import make_record, write_record

log = logging.getLogger("inflamed")


def _named(items: Any) -> dict[str, Any]:
    """Named entries of a Snakemake Namedlist (input, output, params, wildcards)."""
    return {name: value for name, value in items.items()}


def run_rule(smk: Any, step: Callable[[Any], None]) -> None:
    """Run ``step(smk)`` as the body of a Snakemake rule script (see module docstring)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if len(smk.log):
        handlers.append(logging.FileHandler(smk.log[0], mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", handlers=handlers
    )
    logging.captureWarnings(True)
    try:
        step(smk)
    except InflamedError as error:
        log.error("%s", error)
        print(f"\ninflamed: {error}\n", file=sys.stderr)
        sys.exit(1)
    outputs = _named(smk.output)
    provenance = outputs.pop("provenance", None)
    if provenance is not None:
        declared = [path for path in smk.output if path != provenance]
        record = make_record(
            rule=smk.rule,
            wildcards=_named(smk.wildcards),
            params=_named(smk.params),
            inputs=list(smk.input),
            outputs=declared,
        )
        write_record(provenance, record)
