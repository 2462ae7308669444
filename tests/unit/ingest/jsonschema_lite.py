"""A JSON Schema (2020-12) validator for the keywords docs/schemas/ uses, as a vendor's validator reads them.

The project pins no JSON Schema library; this covers exactly the keywords the published schemas contain
(test_schema_agreement checks that no other keyword appears), with the standard's semantics: unanchored
``pattern``, lengths in code points, ``integer`` as a number without a fraction, ``format: date-time`` as
RFC 3339 (offset required).
"""

from __future__ import annotations

import re
from typing import Any

KEYWORDS = frozenset({
    "$defs", "$id", "$ref", "anyOf", "const", "default", "description", "enum", "examples", "exclusiveMaximum",
    "exclusiveMinimum", "format", "items", "maxItems", "maxLength", "maximum", "minLength", "minimum", "pattern",
    "properties", "required", "title", "type",
})
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII)
_TYPES = {
    "string": lambda v: isinstance(v, str), "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list), "boolean": lambda v: isinstance(v, bool), "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and float(v).is_integer(),
}


def is_valid(schema: dict[str, Any], instance: Any) -> bool:
    return not errors(schema, instance, schema)


def errors(schema: dict[str, Any], value: Any, root: dict[str, Any], at: str = "") -> list[str]:
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return errors(root["$defs"][name], value, root, at)
    found: list[str] = []
    if "anyOf" in schema and all(errors(s, value, root, at) for s in schema["anyOf"]):
        found.append(f"{at}: anyOf")
    if "const" in schema and value != schema["const"]:
        found.append(f"{at}: const")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{at}: enum")
    if "type" in schema and not _TYPES[schema["type"]](value):
        return [*found, f"{at}: type"]
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            found.append(f"{at}: length")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(f"{at}: pattern")
        if schema.get("format") == "date-time" and not _DATE_TIME.match(value):
            found.append(f"{at}: date-time")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if ("minimum" in schema and value < schema["minimum"]) or ("maximum" in schema and value > schema["maximum"]):
            found.append(f"{at}: range")
        if ("exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]) or (
                "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]):
            found.append(f"{at}: exclusive range")
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            found.append(f"{at}: maxItems")
        for i, item in enumerate(value):
            found += errors(schema.get("items", {}), item, root, f"{at}[{i}]")
    if isinstance(value, dict):
        found += [f"{at}.{name}: required" for name in schema.get("required", []) if name not in value]
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                found += errors(sub, value[name], root, f"{at}.{name}")
    return found
