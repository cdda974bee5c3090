"""Load and validate the workflow configuration (and any mapping) against JSON schemas.

``jsonschema`` reports *what* rule failed in schema terms ("Failed validating 'enum' in
schema['properties']..."). Users need *where* and *what to write instead*: the file, the key path
or row and column, the bad value and the accepted values. :func:`validate_mapping` translates the
first (deepest, most specific) error into an :class:`~inflamed.errors.InputError`, and fills in
the schema's defaults so the rest of the workflow never has to guess one.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from inflamed.errors import InputError


def load_schema(path: str | Path) -> dict[str, Any]:
    """Read a JSON or YAML schema file."""
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _key_path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _expected(error: ValidationError) -> str:
    """Say in words what the failing schema rule accepts."""
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    validator = error.validator
    if validator == "enum":
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    if validator == "type":
        return f"a value of type {schema['type']}"
    if validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        return "one of the known keys: " + ", ".join(allowed) if allowed else "no extra keys"
    if validator == "required":
        return "the required keys " + ", ".join(schema["required"])
    if validator in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        words = {
            "minimum": ">=",
            "maximum": "<=",
            "exclusiveMinimum": ">",
            "exclusiveMaximum": "<",
        }
        return f"a number {words[validator]} {schema[validator]}"
    if validator == "pattern":
        return f"text matching the pattern {schema['pattern']}"
    if validator == "propertyNames":
        return f"names matching {schema['propertyNames'].get('pattern', schema['propertyNames'])}"
    if validator in {"minItems", "minProperties"}:
        return f"at least {schema[validator]} entries"
    if validator == "uniqueItems":
        return "no repeated entries"
    return f"a value satisfying the schema rule '{validator}'"


def _offending(error: ValidationError) -> tuple[str, Any]:
    """The key path and value the user must fix (for unknown keys, the unknown key itself)."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in known)
        if extra:
            return _key_path([*path, extra[0]]), extra[0]
    if error.validator == "propertyNames":
        return _key_path(path), error.instance
    return _key_path(path), error.instance


def _fill_defaults(instance: Any, schema: Mapping[str, Any], root: Mapping[str, Any]) -> None:
    """Fill ``default`` values of object properties into ``instance`` in place (recursively)."""
    if "$ref" in schema:
        ref = schema["$ref"]
        target: Any = root
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        schema = target
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub, root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                _fill_defaults(value, extra, root)


#: Most values a configuration may expand to. The shipped config has a few hundred; a YAML file
#: whose aliases expand beyond this is a "billion laughs" file, not a configuration.
MAX_CONFIG_VALUES = 100_000


def _refuse_shared_nodes(data: Any, source: str | Path) -> None:
    """Refuse a configuration whose YAML aliases (``*name``) expand to too many values.

    A YAML loader turns ``*name`` into a second reference to the same object, so nine nested
    aliases of nine items each (the "billion laughs" file, a few hundred bytes) look like 10^9
    values to a validator walking the tree: validation never ends. Sizes are counted once per
    object (memoised by identity), so this check is linear in the file's size.
    """
    sizes: dict[int, int] = {}

    def size(node: Any) -> int:
        if not isinstance(node, (dict, list)):
            return 1
        if id(node) not in sizes:
            sizes[id(node)] = 0  # a cycle (a recursive alias) counts as nothing more
            values = node.values() if isinstance(node, dict) else node
            sizes[id(node)] = 1 + sum(size(v) for v in values)
        return sizes[id(node)]

    total = size(data)
    if total > MAX_CONFIG_VALUES:
        raise InputError(
            f"the configuration expands to {total:,} values (YAML aliases, *name, repeat "
            "other values)",
            file=str(source),
            expected=f"at most {MAX_CONFIG_VALUES:,} values, each written out without YAML "
            "anchors and aliases",
        )


def validate_mapping(
    data: Any, schema: Mapping[str, Any], *, source: str | Path, fill_defaults: bool = True
) -> Any:
    """Validate ``data`` against ``schema`` and return a copy with defaults filled in.

    Parameters
    ----------
    data
        The parsed configuration (or one sheet row as a mapping).
    schema
        A draft 2020-12 JSON schema.
    source
        The file the data came from, named in the error.
    fill_defaults
        Whether to fill in schema defaults (done after validation succeeds).

    Raises
    ------
    InputError
        For the most specific validation error, naming the file, key path, value and what the
        schema accepts.
    """
    _refuse_shared_nodes(data, source)
    validator = Draft202012Validator(schema)
    error = best_match(validator.iter_errors(data))
    if error is not None:
        key, value = _offending(error)
        message = "unknown key" if error.validator == "additionalProperties" else "invalid value"
        if error.validator == "required":
            message = "missing required key"
            value = None
        raise InputError(message, file=str(source), key=key, value=value, expected=_expected(error))
    result = copy.deepcopy(data)
    if fill_defaults:
        _fill_defaults(result, schema, schema)
    return result


def load_config(
    config: Mapping[str, Any], schema_path: str | Path, *, source: str | Path = "config.yaml"
) -> dict[str, Any]:
    """Validate the workflow configuration and return it with every default filled in.

    Also checks what a schema cannot express: each binary outcome says whether its event is a
    benefit or a harm, and each outcome's measure fits its type.
    """
    schema = load_schema(schema_path)
    checked = validate_mapping(dict(config), schema, source=source)
    for review_name, review in checked["reviews"].items():
        for outcome, spec in review["outcomes"].items():
            key = f"reviews.{review_name}.outcomes.{outcome}"
            if spec["type"] == "binary":
                spec.setdefault("measure", "RR")
                if "event_is" not in spec:
                    raise InputError(
                        "binary outcome does not say whether its event is good or bad",
                        file=str(source),
                        key=f"{key}.event_is",
                        expected="'benefit' or 'harm'",
                    )
                allowed = {"RR", "OR", "RD"}
            else:
                spec.setdefault("measure", "SMD")
                allowed = {"SMD", "MD"}
            if spec["measure"] not in allowed:
                raise InputError(
                    f"measure does not fit a {spec['type']} outcome",
                    file=str(source),
                    key=f"{key}.measure",
                    value=spec["measure"],
                    expected="one of " + ", ".join(sorted(allowed)),
                )
    return checked
