"""Is a new JSON Schema of a public event still able to read every message of the old one?

Kafka keeps every event forever and projections rebuild from offset 0, so a changed contract
must accept everything the committed one accepted ("backward compatible"): a field may be added
only with a default, an enum may only grow, a bound may only loosen. Anything else is a new
version with an upcaster (docs/adr/0006). The check works on the schemas pydantic generates:
objects, `$ref` into `$defs`, `anyOf` for optional fields, enums, patterns, formats and bounds.
A change this module cannot prove safe (a different regular expression, say) counts as unsafe.
"""

from typing import Any

Schema = dict[str, Any]

_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


def incompatibilities(old: Schema, new: Schema, name: str = "") -> list[str]:
    """Every way in which `new` refuses a document that `old` accepted; empty when compatible."""
    return _Comparison(old, new).compare(old, new, name or old.get("title", "schema"))


class _Comparison:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.old_root = old_root
        self.new_root = new_root

    @staticmethod
    def _resolve(schema: Schema, root: Schema) -> Schema:
        seen = 0
        while "$ref" in schema and seen < 32:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                return schema
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part]
            # Keywords beside a $ref (a description, a default) apply too.
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            seen += 1
        return schema

    def compare(self, old: Schema, new: Schema, path: str) -> list[str]:
        old = self._resolve(old, self.old_root)
        new = self._resolve(new, self.new_root)
        if not _constrains(new):
            return []
        old_branches = old.get("anyOf") or old.get("oneOf") or [old]
        new_branches = new.get("anyOf") or new.get("oneOf") or [new]
        if len(old_branches) > 1 or len(new_branches) > 1:
            problems = []
            for branch in old_branches:
                tries = [self.compare(branch, candidate, path) for candidate in new_branches]
                if all(tries):
                    problems += min(tries, key=len)
            return problems
        return self._compare_one(old, new, path)

    def _compare_one(self, old: Schema, new: Schema, path: str) -> list[str]:
        problems = []
        old_types, new_types = _types(old), _types(new)
        if new_types is not None:
            lost = (old_types or {"any"}) - new_types
            if "integer" in lost and "number" in new_types:
                lost.discard("integer")
            if lost:
                problems.append(f"{path}: type changed from {_show(old_types)} to {_show(new_types)}")
                return problems
        problems += _values(old, new, path)
        for key in _LOWER_BOUNDS:
            if key in new and (key not in old or new[key] > old[key]):
                problems.append(f"{path}: {key} tightened from {old.get(key)} to {new[key]}")
        for key in _UPPER_BOUNDS:
            if key in new and (key not in old or new[key] < old[key]):
                problems.append(f"{path}: {key} tightened from {old.get(key)} to {new[key]}")
        if "items" in new:
            problems += self.compare(old.get("items", {}), new["items"], f"{path}[]")
        if "properties" in new or "properties" in old or new.get("additionalProperties") is False:
            problems += self._objects(old, new, path)
        return problems

    def _objects(self, old: Schema, new: Schema, path: str) -> list[str]:
        problems = []
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        closed = new.get("additionalProperties") is False
        if closed and old.get("additionalProperties") is not False:
            problems.append(f"{path}: additional properties no longer allowed")
        for field, spec in old_props.items():
            where = f"{path}.{field}"
            if field in new_props:
                problems += self.compare(spec, new_props[field], where)
                if field in new_required and field not in old_required:
                    problems.append(f"{where}: now required")
            elif closed:
                problems.append(f"{where}: removed or renamed")
        for field in sorted(new_required - set(old_props)):
            problems.append(f"{path}.{field}: new required field without a default")
        return problems


def _constrains(schema: Schema) -> bool:
    ignored = {"title", "description", "default", "examples", "$id", "x-topic", "$defs", "$schema"}
    return bool(set(schema) - ignored)


def _types(schema: Schema) -> set[str] | None:
    if "type" in schema:
        given = schema["type"]
        return set(given) if isinstance(given, list) else {given}
    if "const" in schema or "enum" in schema:
        return None  # the values say it all
    return None


def _show(types: set[str] | None) -> str:
    return "any" if types is None else "|".join(sorted(types))


def _values(old: Schema, new: Schema, path: str) -> list[str]:
    problems = []
    new_allowed = [new["const"]] if "const" in new else new.get("enum")
    if new_allowed is not None:
        old_allowed = [old["const"]] if "const" in old else old.get("enum")
        if old_allowed is None:
            problems.append(f"{path}: restricted to listed values")
        elif lost := [v for v in old_allowed if v not in new_allowed]:
            problems.append(f"{path}: values removed: {', '.join(map(str, lost))}")
    for key in ("pattern", "format"):
        if key in new and new[key] != old.get(key):
            problems.append(f"{path}: {key} changed from {old.get(key)!r} to {new[key]!r}")
    return problems
