"""Turn an executed report notebook into stable artefacts.

papermill and nbclient stamp start/end times and durations into an executed notebook; nbconvert
would copy them on. :func:`normalise` removes every timestamp, duration and kernel-session id so
the executed notebook (kept for audit) and the HTML built from it are byte-identical across
reruns. :func:`to_html` writes a self-contained page without code cells.

Run as ``python -m inflamed.pipeline.notebooks execute NOTEBOOK OUTPUT -p NAME VALUE ...`` (papermill
with a check that every parameter exists), ``... normalise NOTEBOOK`` or ``... html NOTEBOOK HTML``
(the report rule does all three).
"""

from __future__ import annotations

import argparse
import html
import json
import re
from pathlib import Path
from typing import Any

from inflamed.errors import InputError
from inflamed.io import write_text

#: Metadata written by papermill/nbclient that changes on every run.
_VOLATILE_NOTEBOOK_KEYS = ("start_time", "end_time", "duration", "exception")
_VOLATILE_CELL_KEYS = ("execution", "papermill", "ExecuteTime")


def _clean(notebook: dict[str, Any]) -> dict[str, Any]:
    papermill = notebook.get("metadata", {}).get("papermill", {})
    for key in _VOLATILE_NOTEBOOK_KEYS:
        papermill.pop(key, None)
    papermill.pop("input_path", None)
    papermill.pop("output_path", None)
    for index, cell in enumerate(notebook.get("cells", [])):
        # papermill gives the injected-parameters cell a random id; number every cell instead.
        if "id" in cell:
            cell["id"] = f"cell-{index}"
        metadata = cell.get("metadata", {})
        for key in _VOLATILE_CELL_KEYS:
            metadata.pop(key, None)
        if cell.get("cell_type") == "code":
            # Execution counts are deterministic for a linear run, but keep them explicit.
            for output in cell.get("outputs", []):
                output.get("metadata", {}).pop("execution", None)
    return notebook


def normalise(path: str | Path) -> None:
    """Strip run-specific metadata from an executed notebook in place (atomically)."""
    path = Path(path)
    notebook = json.loads(path.read_text(encoding="utf-8"))
    write_text(
        path, json.dumps(_clean(notebook), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    )


def to_html(notebook_path: str | Path, html_path: str | Path) -> None:
    """Write ``notebook_path`` as self-contained HTML without code cells or prompts."""
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(str(notebook_path), as_version=4)
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(
        notebook, resources={"metadata": {"name": _title(notebook)}}
    )
    write_text(html_path, _offline(body))


_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)


def _title(notebook: Any) -> str:
    """The page title: the notebook's metadata title, else the first ``<h1>`` it displays.

    nbconvert titles the page with the notebook's name ("report") unless told otherwise; a
    reader's browser tab and bookmarks should carry the report's own title.
    """
    if notebook.metadata.get("title"):
        return str(notebook.metadata["title"])
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            match = _H1.search(str(output.get("data", {}).get("text/html", "")))
            if match:
                return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()
    return "report"


#: Scripts the nbconvert template adds that fetch code from a CDN (require.js, MathJax, mermaid).
#: The report has no widgets, equations or diagrams, and it must open offline.
_REMOTE_SCRIPT = re.compile(r"<script[^>]*\ssrc=[\"']https?://[^>]*>\s*</script>\s*", re.IGNORECASE)
_SCRIPT_BLOCK = re.compile(
    r"<script\b[^>]*>(?:(?!</script>).)*?https?://(?:(?!</script>).)*</script>\s*",
    re.IGNORECASE | re.DOTALL,
)


def _offline(html: str) -> str:
    """Drop every script that would reach the network, so the page is self-contained."""
    return _SCRIPT_BLOCK.sub("", _REMOTE_SCRIPT.sub("", html))


def declared_parameters(notebook: str | Path) -> set[str]:
    """Names defined in the notebook's cell tagged ``parameters``."""
    import papermill

    return set(papermill.inspect_notebook(str(notebook)))


def execute(notebook: str | Path, output: str | Path, parameters: dict[str, str]) -> None:
    """Execute ``notebook`` with papermill into ``output``, refusing unknown parameters.

    papermill only warns about a parameter the notebook does not declare and runs on with the
    default, which would silently report the wrong thing; here that is an error.
    """
    import papermill

    known = declared_parameters(notebook)
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise InputError(
            "unknown notebook parameter",
            file=str(notebook),
            value=", ".join(unknown),
            expected="one of " + ", ".join(sorted(known)),
        )
    papermill.execute_notebook(
        str(notebook),
        str(output),
        parameters=parameters,
        kernel_name="python3",
        progress_bar=False,
        log_output=True,
        cwd=".",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m inflamed.pipeline.notebooks", description=__doc__
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_exec = sub.add_parser("execute", help="run a notebook with papermill (parameters checked)")
    p_exec.add_argument("notebook")
    p_exec.add_argument("output")
    p_exec.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE")
    )
    p_norm = sub.add_parser("normalise", help="strip timestamps from an executed notebook")
    p_norm.add_argument("notebook")
    p_html = sub.add_parser("html", help="write a notebook as HTML without code cells")
    p_html.add_argument("notebook")
    p_html.add_argument("html")
    args = parser.parse_args(argv)
    if args.command == "execute":
        try:
            execute(args.notebook, args.output, dict(args.parameter))
        except InputError as error:
            raise SystemExit(f"inflamed: {error}") from None
    elif args.command == "normalise":
        normalise(args.notebook)
    else:
        to_html(args.notebook, args.html)


if __name__ == "__main__":
    main()
