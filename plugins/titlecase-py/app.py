"""The `titlecase-py` field transformer: the `field-transformer` world of
`sluice:plugin@0.1.0`, implemented in Python with componentize-py.

Text values are title-cased as person names (see `titlecase.py`); all
other values pass through unchanged. Options: `keep_lowercase`, a list of
particles ("van", "de"...) kept lowercase when they are not the first
word.
"""

import json
from typing import List, Optional

from componentize_py_types import Err, Ok, Result
from wit_world import exports
from wit_world.imports import types

from titlecase import Options, OptionsError, title_case


def _config_error(code: str, message: str) -> types.PluginError:
    return types.PluginError(
        category=types.ErrorCategory.CONFIG,
        code=code,
        message=message,
        field=None,
        retryable=False,
    )


_options: Optional[Options] = None


class Transform(exports.Transform):
    """The exported `transform` interface."""

    def configure(self, options: str) -> None:
        global _options
        _options = None
        try:
            decoded = json.loads(options) if options.strip() else None
        except ValueError as error:
            raise Err(_config_error("invalid-options", f"options are not valid JSON: {error}"))
        try:
            _options = Options.parse(decoded)
        except OptionsError as error:
            raise Err(_config_error("invalid-options", str(error)))

    def transform(
        self, values: List[types.Value]
    ) -> List[Result[types.Value, types.PluginError]]:
        options = _options
        if options is None:
            error = _config_error(
                "not-configured", "the plugin was called before `configure` succeeded"
            )
            return [Err(error) for _ in values]
        results: List[Result[types.Value, types.PluginError]] = []
        for value in values:
            if isinstance(value, types.Value_Text):
                results.append(Ok(types.Value_Text(title_case(value.value, options))))
            else:
                results.append(Ok(value))
        return results
