"""A digest of the code a rule runs, so a rule reruns exactly when its behaviour can change.

Snakemake's own ``code`` trigger hashes a rule script's text, so a comment reruns a job, while a
change to the library the script imports triggers nothing. :func:`code_digest` instead hashes the
*compiled code* (comments, docstrings, blank lines and line numbers left out) of the rule script and of every
``inflamed`` module it imports, transitively (function-local imports included). The rules pass it
as a ``params`` entry; with ``code`` removed from the profile's ``rerun-triggers``, a job reruns
when (and only when) the code that produces its outputs changes.
"""

from __future__ import annotations

import hashlib
import json
import re
from dis import opmap
from functools import cache
from importlib import import_module
from pathlib import Path
from types import CodeType

__all__ = ["code_digest", "module_closure"]

_PACKAGE = "inflamed"
_SRC = Path(__file__).resolve().parents[2]  # .../src


#: Packages whose public names are loaded on first use, so no import statement names the module
#: that defines them; each has ``defining_module(name)``.
_LAZY_FACES = ("inflamed.stats", "inflamed.figures")

_NOP = opmap["NOP"]
_FROM_IMPORT = re.compile(
    r"^[ \t]*from[ \t]+(inflamed[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)", re.M
)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+(inflamed[\w.]*)", re.M)
# Triple-quoted text (docstring examples) and imports for type checkers load nothing at run time.
_TRIPLE_QUOTED = re.compile(r'""".*?"""|\'\'\'.*?\'\'\'', re.S)
_TYPE_CHECKING_BLOCK = re.compile(r"^if TYPE_CHECKING:[^\n]*\n(?:[ \t]+[^\n]*\n|[ \t]*\n)*", re.M)


def _constant(value: object) -> bytes:
    """A constant's bytes, the same in every process.

    ``x in {"a", "b"}`` compiles to a frozenset constant whose repr follows string hashing, which
    differs between processes (PYTHONHASHSEED): set members are sorted, tuples walked.
    """
    if isinstance(value, CodeType):
        return _code_fingerprint(value)
    if isinstance(value, frozenset | set):
        return b"{" + b",".join(sorted(_constant(v) for v in value)) + b"}"
    if isinstance(value, tuple):
        return b"(" + b",".join(_constant(v) for v in value) + b")"
    return repr(value).encode()


def _code_fingerprint(code: CodeType) -> bytes:
    """What a code object does, without its line numbers (so comments and blank lines don't count)."""
    raw = code.co_code  # 2-byte units; a stripped docstring leaves a NOP where it stood
    ops = b"".join(raw[i : i + 2] for i in range(0, len(raw), 2) if raw[i] != _NOP)
    parts = [ops, repr(code.co_names).encode(), repr(code.co_varnames).encode()]
    parts += [_constant(const) for const in code.co_consts]
    return b"\x00".join(parts)


def _parsed(path: Path) -> tuple[bytes, frozenset[str]]:
    return _analysed(path.name, path.suffix, path.read_text(encoding="utf-8"))


@cache  # keyed by the text itself, so an edited file is never served from the cache
def _analysed(name: str, suffix: str, source: str) -> tuple[bytes, frozenset[str]]:
    """(fingerprint of the compiled code, ``inflamed`` modules imported) of one source file.

    Compiled with ``optimize=2``, which drops docstrings; the fingerprint leaves out line numbers,
    so comments, docstrings and blank lines never change it.
    """
    if suffix == ".ipynb":
        cells = json.loads(source).get("cells", [])
        source = "\n".join(
            "".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code"
        )
        source = "\n".join(line for line in source.splitlines() if not line.startswith(("%", "!")))
    fingerprint = _code_fingerprint(compile(source, name, "exec", optimize=2))
    runtime = _TYPE_CHECKING_BLOCK.sub("", _TRIPLE_QUOTED.sub("", source))
    imported = {m.group(1) for m in _IMPORT.finditer(runtime)}
    for match in _FROM_IMPORT.finditer(runtime):
        module = match.group(1)
        names = re.findall(r"[A-Za-z_]\w*", match.group(2).split("#")[0])
        imported |= {module, *(f"{module}.{n}" for n in names if n != "as")}
        if module in _LAZY_FACES:  # names loaded on first use: name -> defining module
            defining_module = import_module(module).defining_module
            imported |= {m for n in names if (m := defining_module(n)) is not None}
    return fingerprint, frozenset(imported)


def _module_file(name: str) -> Path | None:
    base = _SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_closure(entry: str | Path) -> list[Path]:
    """Every ``inflamed`` source file that ``entry`` (a script or notebook) imports, transitively.

    Importing ``inflamed.a.b`` also runs ``inflamed/__init__.py`` and ``inflamed/a/__init__.py``,
    so those count too.
    """
    seen: dict[str, Path] = {}
    todo = list(_parsed(Path(entry))[1])
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            prefix = ".".join(parts[:depth])
            if prefix in seen:
                continue
            path = _module_file(prefix)
            if path is None:
                continue  # an attribute (``from inflamed.x import name``), not a module
            seen[prefix] = path
            todo.extend(_parsed(path)[1])
    return [seen[name] for name in sorted(seen)]


def code_digest(entry: str | Path) -> str:
    """sha256 (first 16 hex digits) of ``entry`` and the library code it runs, comments excluded."""
    digest = hashlib.sha256()
    for path in [Path(entry), *module_closure(entry)]:
        digest.update(path.name.encode())
        digest.update(_parsed(path)[0])
    return digest.hexdigest()[:16]
