"""Write Sluice plugins in Python (componentize-py 0.25.1, contract
`sluice:plugin@0.2.0`).

The contract's shapes stay behind the same concepts as the Rust SDK:

- a field transformer is a class deriving `FieldTransformer`: its
  constructor takes the options (a dict) and its `transform` takes and
  returns one plain Python value;
- a normalizer is a class deriving `Normalizer`: `normalize` takes a record
  (a dict) and returns a dict, or `Skip("reason")`;
- errors are data: raise `PluginError` (use `validation(...)`,
  `config(...)`, `mapping(...)`, `transient(...)`) and the record fails with
  that category and code, while the run goes on. Any other exception traps
  the component, which the host treats as a bug in the plugin;
- `log(level, message)` writes to the host's log (there is no stdout or
  stderr: transformers and normalizers are built with `--stub-wasi`, and a
  connector's standard streams are captured, not shown).

Values map to Python as: null -> None, boolean -> bool, integer -> int
(64-bit), float -> float, text -> str, json -> the parsed dict or list,
decimal -> decimal.Decimal, timestamp -> Timestamp (a str subclass holding
RFC 3339 text). Returning them maps back the same way.

- a source is a class deriving `Source`: `read(entity, cursor, max)`
  returns an `ExtractBatch` of up to `max` items (`Extracted(key, record)`,
  or `ExtractFailure(key, raw, error)` for an item that cannot be read, which
  the host dead-letters alone), the cursor to resume from and whether the
  stream is done. A `PluginError` raised by `read` fails the whole stream;
- a target is a class deriving `Target`: `begin(entity)`, then
  `write_record(entity, outgoing)` per record, returning `Created(id)`,
  `Updated(id)`, `Unchanged()` or `Skip(reason)`, or raising a `PluginError`
  that fails that record alone (override `write(entity, records)` instead to
  write a batch at once: it returns one outcome or `PluginError` per record,
  and what it raises fails the whole batch), then `commit(entity)`;
- file connectors see their granted directory at `/data`: `data_path(path)`
  resolves a `path` option there (rejecting paths that would leave it) and
  `io_error(path, action, error)` turns an `OSError` into a categorised
  `PluginError`; network connectors call `http_send(...)`, which goes
  through the host (and the pipeline's `connection`).

`export_transformer(Class)`, `export_normalizer(Class)`,
`export_source(Class)` and `export_target(Class)` return the class
componentize-py looks for in the app module (`Transform`, `Normalize`,
`Extract`, `Load`).
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
    """A normalizer's or a target's answer for a record that should not be
    synced (written); the reason is kept in the run log."""

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


def transient(code: str, message: str) -> PluginError:
    """A temporary failure (a timeout, a 503): marked retryable."""
    return PluginError(types.ErrorCategory.TRANSIENT, code, message, retryable=True)


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


# --- Connectors: sources and targets ---------------------------------------

#: Where the host mounts a file connector's granted directory (`dir`).
DATA_DIR = "/data"


def data_path(relative: str) -> str:
    """`relative` (a `path` option) under `/data`. An empty path, an absolute
    path or one with a `..` part is a `config` error: a connector only
    reaches files inside its granted directory."""
    if not isinstance(relative, str) or not relative.strip():
        raise config("`path` must not be empty")
    if relative.startswith("/"):
        raise config(
            f"`path` must be relative to the granted directory, but {relative!r} is absolute"
        )
    if ".." in relative.split("/"):
        raise config(
            f'`path` must stay inside the granted directory, but {relative!r} contains ".."'
        )
    return f"{DATA_DIR}/{relative}"


def io_error(path: str, action: str, error: OSError) -> PluginError:
    """An `OSError` on the file a connector was configured with (`path`, as
    the option gives it) as a `PluginError` in plain words: a missing file,
    a permission problem or a directory where a file was expected is a
    `config` error; anything else is `transient` (retryable), code
    `io-error`. `action` completes "... while {action}", e.g. "opening"."""
    if isinstance(error, FileNotFoundError):
        return config(f"{path!r} was not found in the granted directory", "file-not-found")
    if isinstance(error, PermissionError):
        return config(f"permission denied while {action} {path!r}", "permission-denied")
    if isinstance(error, IsADirectoryError):
        return config(f"{path}: is a directory, not a file; set `path` to a file inside it", "not-a-file")
    if isinstance(error, NotADirectoryError):
        return config(f"{path}: a part of the path that should be a directory is a file", "not-a-directory")
    return transient("io-error", f"{action} {path!r} failed: {error.strerror or error}")


class Response:
    """An HTTP response, whatever its status: `status`, `headers` (a list of
    (name, value) pairs), `body` (bytes); `text()` and `json()` decode it."""

    def __init__(self, status: int, headers: List[Any], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str) -> Optional[str]:
        """The first value of header `name` (any case), if any."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


def http_send(
    method: str,
    url: str,
    headers: Optional[List[Any]] = None,
    body: Optional[bytes] = None,
) -> Response:
    """Send one request through the host (connectors only): `method` is
    GET, POST, PUT, PATCH, DELETE or HEAD; `url` is absolute or relative to
    the pipeline connection's base URL, which also adds the credentials.
    A request that gets no response raises a `PluginError`: `config` when
    the host denies it (no `connection`, a host not allowed), `transient`
    (retryable) for a timeout or an unreachable host."""
    from wit_world.imports import http as _http

    request = _http.Request(
        method=getattr(_http.Method, method.upper()),
        url=url,
        headers=list(headers or []),
        body=body,
    )
    try:
        answer = _http.send(request)
    except Err as failure:
        reason = failure.value
        if isinstance(reason, _http.HttpError_Denied):
            raise config(f"the host denied the request: {reason.value}", "http-denied")
        if isinstance(reason, _http.HttpError_Timeout):
            raise transient("timeout", f"{method} {url} timed out")
        if isinstance(reason, _http.HttpError_Connect):
            raise transient("connect", f"{method} {url}: {reason.value}")
        if isinstance(reason, _http.HttpError_TooLarge):
            raise PluginError(types.ErrorCategory.DEPENDENCY_NOT_READY, "too-large", "the response was too large")
        raise transient("http-error", f"{method} {url}: {getattr(reason, 'value', reason)}")
    return Response(answer.status, answer.headers, bytes(answer.body))


class Extracted:
    """A record read from the source; `key` says where it came from
    (`contacts.jsonl:12`, an id)."""

    def __init__(self, key: str, record: Dict[str, Any]):
        self.key = key
        self.record = record


class ExtractFailure:
    """An item that could not be read as a record: the host dead-letters it
    with `raw` (the item as read) and the error, and the run goes on."""

    def __init__(self, key: str, raw: str, error: PluginError):
        self.key = key
        self.raw = raw
        self.error = error


class ExtractBatch:
    """One batch: `items` (`Extracted` or `ExtractFailure`, in source order,
    at most the `max` asked for), `cursor` (the position after the batch,
    passed to the next `read` and stored by incremental runs) and `done`
    (true when there is nothing more to read)."""

    def __init__(self, items: List[Any], cursor: Optional[str], done: bool):
        self.items = items
        self.cursor = cursor
        self.done = done


class Source(Plugin):
    """Subclass it: `__init__(self, options: dict)` and
    `read(self, entity, cursor, max) -> ExtractBatch`."""

    def __init__(self, options: Dict[str, Any]):
        if options:
            raise config(f"this plugin takes no options, got {sorted(options)}")

    def read(self, entity: str, cursor: Optional[str], max: int) -> ExtractBatch:
        raise NotImplementedError


class Created:
    """A target's outcome: a new record, with the target's id if it has one."""

    def __init__(self, id: Optional[str] = None):
        self.id = id


class Updated:
    """A target's outcome: an existing record changed, with its id if known."""

    def __init__(self, id: Optional[str] = None):
        self.id = id


class Unchanged:
    """A target's outcome: the target already held this exact record."""


class Outgoing:
    """A record to write: `key` (for messages) and `body` (JSON object text);
    `record()` parses the body."""

    def __init__(self, key: str, body: str):
        self.key = key
        self.body = body

    def record(self) -> Dict[str, Any]:
        """The body as a dict; anything but a JSON object is a `validation`
        error with code `not-an-object`."""
        try:
            decoded = json.loads(self.body)
        except ValueError as error:
            raise validation("not-an-object", f"the record is not valid JSON: {error}")
        if not isinstance(decoded, dict):
            raise validation("not-an-object", "a record must be a JSON object")
        return decoded


class Target(Plugin):
    """Subclass it: `__init__(self, options: dict)`, `begin(self, entity)`,
    `write_record(self, entity, outgoing)` (or `write(self, entity,
    records)` for a whole batch) and `commit(self, entity)`."""

    def __init__(self, options: Dict[str, Any]):
        if options:
            raise config(f"this plugin takes no options, got {sorted(options)}")

    def begin(self, entity: str) -> None:
        """Called once per run and entity before the first `write`."""

    def write_record(self, entity: str, record: Outgoing) -> Any:
        """Write one record: return `Created(id)`, `Updated(id)`,
        `Unchanged()` or `Skip(reason)`; raise `PluginError` to fail it."""
        raise NotImplementedError

    def write(self, entity: str, records: List[Outgoing]) -> List[Any]:
        """Write a batch: one outcome or `PluginError` per record, in order.
        A `PluginError` raised here fails the whole batch."""
        results: List[Any] = []
        for record in records:
            try:
                results.append(self.write_record(entity, record))
            except PluginError as error:
                results.append(error)
        return results

    def commit(self, entity: str) -> None:
        """Called once per run and entity after the last `write`."""


def _call(method: Any, *args: Any) -> Any:
    """Run a plugin method whose `PluginError` fails the whole call."""
    try:
        return method(*args)
    except PluginError as error:
        raise Err(error.to_wit())


def export_source(cls: type) -> type:
    """The `Extract` class componentize-py exports, running `cls`."""
    from wit_world.exports import extract as wit

    def to_item(item: Any) -> Any:
        if isinstance(item, Extracted):
            return Ok(wit.Extracted(key=item.key, body=json.dumps(item.record, ensure_ascii=False)))
        if isinstance(item, ExtractFailure):
            return Err(wit.ExtractFailure(key=item.key, raw=item.raw, error=item.error.to_wit()))
        raise TypeError(f"a batch item must be Extracted or ExtractFailure, not {type(item).__name__}")

    class Extract:
        instance: Optional[Source] = None

        def describe(self) -> "types.Descriptor":
            return _descriptor(cls, "source")

        def configure(self, options: str) -> None:
            Extract.instance = None
            Extract.instance = _configure(cls, options)

        def read(self, entity: str, cursor: Optional[str], max: int) -> "wit.ExtractBatch":
            plugin = Extract.instance
            if plugin is None:
                raise Err(_not_configured())
            batch = _call(plugin.read, entity, cursor, max)
            return wit.ExtractBatch(
                items=[to_item(i) for i in batch.items], cursor=batch.cursor, done=batch.done
            )

    return Extract


def export_target(cls: type) -> type:
    """The `Load` class componentize-py exports, running `cls`."""
    from wit_world.exports import load as wit

    def to_result(outcome: Any) -> Any:
        if isinstance(outcome, PluginError):
            return Err(outcome.to_wit())
        if isinstance(outcome, Created):
            return Ok(wit.WriteOutcome_Created(outcome.id))
        if isinstance(outcome, Updated):
            return Ok(wit.WriteOutcome_Updated(outcome.id))
        if isinstance(outcome, Unchanged):
            return Ok(wit.WriteOutcome_Unchanged())
        if isinstance(outcome, Skip):
            return Ok(wit.WriteOutcome_Skip(outcome.reason))
        raise TypeError(
            f"a write outcome must be Created, Updated, Unchanged, Skip or PluginError, not {type(outcome).__name__}"
        )

    class Load:
        instance: Optional[Target] = None

        def describe(self) -> "types.Descriptor":
            return _descriptor(cls, "target")

        def configure(self, options: str) -> None:
            Load.instance = None
            Load.instance = _configure(cls, options)

        def _plugin(self) -> Target:
            if Load.instance is None:
                raise Err(_not_configured())
            return Load.instance

        def begin(self, entity: str) -> None:
            _call(self._plugin().begin, entity)

        def write(self, entity: str, records: List["wit.Outgoing"]) -> List[Any]:
            batch = [Outgoing(r.key, r.body) for r in records]
            outcomes = _call(self._plugin().write, entity, batch)
            if len(outcomes) != len(batch):
                raise Err(
                    PluginError(
                        types.ErrorCategory.CONFIG,
                        "wrong-outcome-count",
                        f"`write` returned {len(outcomes)} outcomes for {len(batch)} records",
                    ).to_wit()
                )
            return [to_result(o) for o in outcomes]

        def commit(self, entity: str) -> None:
            _call(self._plugin().commit, entity)

    return Load
