"""Write Sluice plugins in Python (componentize-py 0.25.1, contract
`sluice:plugin@0.2.0`).

The contract's shapes stay behind the same concepts as the Rust SDK:

- a field transformer is a class deriving `FieldTransformer`: its
  constructor takes the options (a dict) and its `transform` takes and
  returns one plain Python value;
- a normalizer is a class deriving `Normalizer`: `normalize` takes a record
  (a dict) and returns a dict, or `Skip("reason")`;
- errors are data: raise `PluginError` (use `validation(...)`,
  `config(...)`, `mapping(...)`) and the record fails with that category and
  code, while the run goes on. Any other exception traps the component,
  which the host treats as a bug in the plugin;
- `log(level, message)` writes to the host's log (there is no stdout or
  stderr: the component is built with `--stub-wasi`).

Values map to Python as: null -> None, boolean -> bool, integer -> int
(64-bit), float -> float, text -> str, json -> the parsed dict or list,
decimal -> decimal.Decimal, timestamp -> Timestamp (a str subclass holding
RFC 3339 text). Returning them maps back the same way.

`export_transformer(Class)` and `export_normalizer(Class)` return the class
componentize-py looks for in the app module (`Transform`, `Normalize`).
"""

import decimal
import json
from typing import Any, Dict, List, Optional

from componentize_py_types import Err, Ok
from wit_world.imports import log as _log
from wit_world.imports import types

CONTRACT = "0.2.0"
INVALID_OPTIONS = "invalid-options"


class Timestamp(str):
    """An instant as RFC 3339 text with an explicit offset."""


class Skip:
    """A normalizer's answer for a record that should not be synced."""

    def __init__(self, reason: str):
        self.reason = reason


class PluginError(Exception):
    """An error reported as data: a category, a stable code, a message."""

    def __init__(
        self,
        category: "types.ErrorCategory",
        code: str,
        message: str,
        field: Optional[str] = None,
        retryable: bool = False,
    ):
        super().__init__(message)
        self.category = category
        self.code = code
        self.message = message
        self.field = field
        self.retryable = retryable

    def to_wit(self) -> "types.PluginError":
        return types.PluginError(
            category=self.category,
            code=self.code,
            message=self.message,
            field=self.field,
            retryable=self.retryable,
            retry_after_ms=None,
        )


def validation(code: str, message: str) -> PluginError:
    """A value is not acceptable (`validation("invalid-email", "...")`)."""
    return PluginError(types.ErrorCategory.VALIDATION, code, message)


def config(message: str, code: str = INVALID_OPTIONS) -> PluginError:
    """The options are wrong; the run stops before reading a record."""
    return PluginError(types.ErrorCategory.CONFIG, code, message)


def mapping(code: str, message: str) -> PluginError:
    """A transform failed on this record."""
    return PluginError(types.ErrorCategory.MAPPING, code, message)


def log(level: str, message: str) -> None:
    """Log through the host: level is trace, debug, info, warn or error."""
    _log.log(getattr(_log.Level, level.upper()), message)


def from_value(value: "types.Value") -> Any:
    """A contract value as a plain Python value."""
    if isinstance(value, types.Value_Null):
        return None
    if isinstance(value, types.Value_Json):
        return json.loads(value.value)
    if isinstance(value, types.Value_Decimal):
        return decimal.Decimal(value.value)
    if isinstance(value, types.Value_Timestamp):
        return Timestamp(value.value)
    return value.value


def to_value(value: Any) -> "types.Value":
    """A plain Python value as a contract value."""
    if value is None:
        return types.Value_Null()
    if isinstance(value, bool):
        return types.Value_Boolean(value)
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise mapping("integer-out-of-range", f"{value} does not fit in 64 bits")
        return types.Value_Integer(value)
    if isinstance(value, float):
        return types.Value_Float(value)
    if isinstance(value, Timestamp):
        return types.Value_Timestamp(str(value))
    if isinstance(value, str):
        return types.Value_Text(value)
    if isinstance(value, decimal.Decimal):
        return types.Value_Decimal(format(value, "f"))
    return types.Value_Json(json.dumps(value, ensure_ascii=False))


class Plugin:
    """What every plugin class says about itself (answers `describe`)."""

    NAME = "unnamed"
    VERSION = "0.1.0"
    DESCRIPTION = ""
    #: The options' JSON Schema; the host checks options against it before
    #: `configure`. Deny unknown keys with "additionalProperties": false.
    OPTIONS_SCHEMA: Dict[str, Any] = {"type": "object", "additionalProperties": False}


class FieldTransformer(Plugin):
    """Subclass it: `__init__(self, options: dict)` and `transform(self, value)`."""

    def __init__(self, options: Dict[str, Any]):
        if options:
            raise config(f"this plugin takes no options, got {sorted(options)}")

    def transform(self, value: Any) -> Any:
        raise NotImplementedError


class Normalizer(Plugin):
    """Subclass it: `__init__(self, options: dict)` and `normalize(self, record)`."""

    def __init__(self, options: Dict[str, Any]):
        if options:
            raise config(f"this plugin takes no options, got {sorted(options)}")

    def normalize(self, record: Dict[str, Any]) -> Any:
        raise NotImplementedError


def _descriptor(cls: type, world: str) -> "types.Descriptor":
    return types.Descriptor(
        name=cls.NAME,
        version=cls.VERSION,
        description=cls.DESCRIPTION,
        world=world,
        options_schema=json.dumps(cls.OPTIONS_SCHEMA),
    )


def _configure(cls: type, options: str) -> Any:
    try:
        decoded = json.loads(options) if options.strip() else {}
    except ValueError as error:
        raise Err(config(f"options are not valid JSON: {error}").to_wit())
    if not isinstance(decoded, dict):
        raise Err(config("options must be a JSON object").to_wit())
    try:
        return cls(decoded)
    except PluginError as error:
        raise Err(error.to_wit())


def _not_configured() -> "types.PluginError":
    return config("the plugin was called before `configure` succeeded", "not-configured").to_wit()


def export_transformer(cls: type) -> type:
    """The `Transform` class componentize-py exports, running `cls`."""
    from wit_world.exports import transform as wit

    class Transform:
        instance: Optional[FieldTransformer] = None

        def describe(self) -> "types.Descriptor":
            return _descriptor(cls, "field-transformer")

        def configure(self, options: str) -> None:
            Transform.instance = None
            Transform.instance = _configure(cls, options)

        def _one(self, value: "types.Value") -> Any:
            plugin = Transform.instance
            if plugin is None:
                return Err(_not_configured())
            try:
                return Ok(to_value(plugin.transform(from_value(value))))
            except PluginError as error:
                return Err(error.to_wit())

        def transform(self, values: List["types.Value"]) -> List[Any]:
            return [self._one(v) for v in values]

        def transform_text(self, batch: "wit.TextBatch") -> "wit.TextAnswer":
            data = batch.text.encode("utf-8")
            out = bytearray()
            ends: List[int] = []
            others = []
            start = 0
            for i, end in enumerate(batch.ends):
                text = data[start:end].decode("utf-8")
                start = end
                result = self._one(types.Value_Text(text))
                if isinstance(result, Ok) and isinstance(result.value, types.Value_Text):
                    out += result.value.value.encode("utf-8")
                else:
                    others.append((i, result))
                ends.append(len(out))
            return wit.TextAnswer(text=out.decode("utf-8"), ends=ends, others=others)

    return Transform


def export_normalizer(cls: type) -> type:
    """The `Normalize` class componentize-py exports, running `cls`."""
    from wit_world.exports import normalize as wit

    class Normalize:
        instance: Optional[Normalizer] = None

        def describe(self) -> "types.Descriptor":
            return _descriptor(cls, "normalizer")

        def configure(self, options: str) -> None:
            Normalize.instance = None
            Normalize.instance = _configure(cls, options)

        def normalize(self, records: List[str]) -> List[Any]:
            plugin = Normalize.instance
            results: List[Any] = []
            for text in records:
                if plugin is None:
                    results.append(Err(_not_configured()))
                    continue
                try:
                    answer = plugin.normalize(json.loads(text))
                except PluginError as error:
                    results.append(Err(error.to_wit()))
                    continue
                if isinstance(answer, Skip):
                    results.append(Ok(wit.Normalized_Skip(answer.reason)))
                else:
                    results.append(Ok(wit.Normalized_Keep(json.dumps(answer, ensure_ascii=False))))
            return results

    return Normalize
