"""Reading inputs and writing artefacts: the project's one definition of both conventions.

Writing (:mod:`inflamed.io.write`): atomic, deterministic CSV/JSON (:func:`write_csv`,
:func:`write_json`, :data:`FLOAT_FORMAT`); a crash never leaves half a file and reruns are
byte-identical.

Reading, so that no reader guesses: :func:`read_table` (:mod:`inflamed.io.tables`; a ragged row,
a trailing delimiter, a repeated or unnamed header cell, an unbalanced quote stop with file and
row), :func:`parse_number` (:mod:`inflamed.io.numbers`; one explicit decimal/thousands
convention, an ambiguous ``1,040`` is an error), :func:`load_json` / :func:`load_yaml`
(:mod:`inflamed.io.files`; malformed files and YAML aliases are errors naming the file) and
:func:`read_artefact_csv` (artefacts this workflow wrote).
"""

from inflamed.io.files import (
    decode_utf8,
    load_json,
    load_yaml,
    load_yaml_text,
    read_artefact_csv,
    read_text,
)
from inflamed.io.numbers import MAX_ABS_VALUE, parse_number
from inflamed.io.tables import (
    MAX_CELL_CHARS,
    MISSING_CELLS,
    CsvTable,
    read_frame,
    read_table,
    table_columns,
)
from inflamed.io.write import (
    FLOAT_DIGITS,
    FLOAT_FORMAT,
    atomic_open,
    csv_text,
    dumps_json,
    replace_directory,
    to_jsonable,
    write_bytes,
    write_csv,
    write_json,
    write_text,
)

__all__ = [
    "FLOAT_DIGITS",
    "FLOAT_FORMAT",
    "MAX_ABS_VALUE",
    "MAX_CELL_CHARS",
    "MISSING_CELLS",
    "CsvTable",
    "atomic_open",
    "csv_text",
    "decode_utf8",
    "dumps_json",
    "load_json",
    "load_yaml",
    "load_yaml_text",
    "parse_number",
    "read_artefact_csv",
    "read_frame",
    "read_table",
    "read_text",
    "replace_directory",
    "table_columns",
    "to_jsonable",
    "write_bytes",
    "write_csv",
    "write_json",
    "write_text",
]
