"""JSON answers: extraction from chatty output, schema validation, and the bounded re-ask.

Models wrap JSON in prose or code fences, drop keys, or answer 7 on a 1–5 scale. The extractor
takes the first JSON object in the text (tolerating prose and fences); a validator then checks it
and raises :class:`BadLLMResponse` with a reason. On a bad answer the client sends the reason
back (the answer and the reason appended to the conversation) at most ``max_reasks`` times; after
that the item is recorded as invalid with the last reason, never an exception.

The schema checker covers the JSON Schema subset that rating and labelling prompts need
(``type``, ``properties``, ``required``, ``additionalProperties``, ``enum``, ``minimum``,
``maximum``, ``items``, ``minItems``, ``maxItems``, ``minLength``, ``maxLength``); an unknown
keyword is an error, not ignored.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from chatlens import datafiles
from chatlens._json import recording_repeats
from chatlens.errors import BadLLMResponse, InvalidParameterError, LLMError
from chatlens.llm.types import Message

T = TypeVar("T")

#: Longest answer the extractor scans (a runaway generation is not worth parsing).
MAX_ANSWER_CHARS = 200_000
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


def extract_json(text: str) -> dict[str, Any]:
    """The first JSON object in ``text``: the whole text, a fenced block, or ``{...}`` in prose.

    A key repeated inside one object (at any depth) makes the answer invalid: ``json.loads``
    would keep the last value without a word, so ``{"verdict": "A", "verdict": "B"}`` read as a
    valid "B". The re-ask tells the model which key it repeated.

    Examples
    --------
    >>> extract_json('Sure! Here it is: {"a": 1} Hope that helps.')
    {'a': 1}
    >>> extract_json("no json here")
    Traceback (most recent call last):
    ...
    chatlens.errors.BadLLMResponse: no JSON object found in the answer (got 'no json here')
    """
    if not isinstance(text, str) or not text.strip():
        msg = "the answer is empty"
        raise BadLLMResponse(msg)
    text = text[:MAX_ANSWER_CHARS]
    repeated: list[str] = []
    decoder = json.JSONDecoder(object_pairs_hook=recording_repeats(repeated))
    candidates = [text.strip()] + [m.group(1).strip() for m in _FENCE.finditer(text)]
    for cand in candidates:
        repeated.clear()
        try:
            value = decoder.decode(cand)
        except ValueError:
            continue
        except RecursionError:
            raise _too_deep() from None
        if isinstance(value, dict):
            return _unambiguous(value, repeated)
    for tries, match in enumerate(re.finditer(r"\{", text)):
        if tries >= 50:
            break
        repeated.clear()
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        except RecursionError:
            raise _too_deep() from None
        if isinstance(value, dict):
            return _unambiguous(value, repeated)
    msg = f"no JSON object found in the answer (got {_preview(text)})"
    raise BadLLMResponse(msg)


def _too_deep() -> BadLLMResponse:
    """The answer's brackets nest deeper than Python's parser recurses (a runaway generation or a
    hostile answer): a bad answer like any other, not a RecursionError that stops the batch and,
    the answer being cached, every rerun of it."""
    return BadLLMResponse("the JSON in the answer is nested too deeply to read")


def _unambiguous(value: dict[str, Any], repeated: list[str]) -> dict[str, Any]:
    if repeated:
        keys = list(dict.fromkeys(repeated))
        shown = ", ".join(_preview(k, 40) for k in keys[:3]) + (" …" if len(keys) > 3 else "")
        msg = f"duplicate key(s) {shown} in the JSON object (give each key once)"
        raise BadLLMResponse(msg)
    return value


def _preview(text: str, n: int = 60) -> str:
    return repr(text[:n] + ("…" if len(text) > n else ""))


def _shown(value: Any) -> str:
    """A value of the answer as a reason shows it: cut, because the reason is sent back in the
    re-ask and stored with the item (a 150,000-character verdict made a reason as long)."""
    if isinstance(value, str):
        return _preview(value, 40)
    return _preview(json.dumps(value, default=str, ensure_ascii=False), 40)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
    # Python's json reads NaN/Infinity, which JSON does not have; NaN passed any minimum/maximum
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_KEYWORDS = {
    "type", "properties", "required", "additionalProperties", "enum", "minimum", "maximum",
    "items", "minItems", "maxItems", "minLength", "maxLength", "description", "title",
}


class JsonSchema:
    """A small JSON Schema checker; ``validate(value)`` raises BadLLMResponse naming the path.

    Examples
    --------
    >>> s = JsonSchema({"type": "object", "required": ["x"],
    ...                 "properties": {"x": {"type": "integer", "minimum": 1, "maximum": 5}}})
    >>> s.validate({"x": 3})
    {'x': 3}
    >>> s.validate({"x": 7})
    Traceback (most recent call last):
    ...
    chatlens.errors.BadLLMResponse: $.x: expected a value <= 5, got 7
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        self._check_schema(schema, "$")
        self.schema = schema

    def _check_schema(self, schema: Any, path: str) -> None:
        if not isinstance(schema, dict):
            msg = f"JSON schema at {path}: expected a mapping, got {type(schema).__name__}."
            raise InvalidParameterError(msg)
        unknown = set(schema) - _KEYWORDS
        if unknown:
            msg = f"JSON schema at {path}: unsupported keyword(s) {sorted(unknown)}; supported: {sorted(_KEYWORDS)}."
            raise InvalidParameterError(msg)
        types = schema.get("type")
        for t in [types] if isinstance(types, str) else types or []:
            if t not in _TYPES:
                msg = f"JSON schema at {path}: unknown type {t!r}; expected one of {sorted(_TYPES)}."
                raise InvalidParameterError(msg)
        for key, sub in (schema.get("properties") or {}).items():
            self._check_schema(sub, f"{path}.{key}")
        if isinstance(schema.get("additionalProperties"), dict):
            self._check_schema(schema["additionalProperties"], f"{path}.*")
        if "items" in schema:
            self._check_schema(schema["items"], f"{path}[]")

    def validate(self, value: Any) -> Any:
        self._validate(value, self.schema, "$")
        return value

    def _validate(self, value: Any, schema: dict[str, Any], path: str) -> None:
        types = schema.get("type")
        if types is not None:
            names = [types] if isinstance(types, str) else list(types)
            if not any(_TYPES[t](value) for t in names):
                msg = f"{path}: expected {' or '.join(names)}, got {_shown(value)}"
                raise BadLLMResponse(msg)
        if "enum" in schema and value not in schema["enum"]:
            msg = f"{path}: expected one of {schema['enum']}, got {_shown(value)}"
            raise BadLLMResponse(msg)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                msg = f"{path}: expected a value >= {schema['minimum']}, got {value!r}"
                raise BadLLMResponse(msg)
            if "maximum" in schema and value > schema["maximum"]:
                msg = f"{path}: expected a value <= {schema['maximum']}, got {value!r}"
                raise BadLLMResponse(msg)
        if isinstance(value, str):
            _check_size(len(value), schema, path, ("minLength", "maxLength"), "characters")
        if isinstance(value, dict):
            props = schema.get("properties") or {}
            missing = [k for k in schema.get("required", []) if k not in value]
            if missing:
                msg = f"{path}: missing key(s) {missing}"
                raise BadLLMResponse(msg)
            extra = schema.get("additionalProperties", True)
            for key, sub in value.items():
                if key in props:
                    self._validate(sub, props[key], f"{path}.{key}")
                elif extra is False:
                    msg = f"{path}: unexpected key {_preview(key, 40)}"
                    raise BadLLMResponse(msg)
                elif isinstance(extra, dict):
                    self._validate(sub, extra, f"{path}.{_preview(key, 40)}")
        if isinstance(value, list):
            _check_size(len(value), schema, path, ("minItems", "maxItems"), "items")
            if "items" in schema:
                for i, item in enumerate(value):
                    self._validate(item, schema["items"], f"{path}[{i}]")


def _check_size(size: int, schema: dict[str, Any], path: str, keys: tuple[str, str],
                unit: str) -> None:
    """A string's length or an array's size against the schema's (min, max) ``keys``."""
    low, high = keys
    if low in schema and size < schema[low]:
        msg = f"{path}: expected at least {schema[low]} {unit}, got {size}"
        raise BadLLMResponse(msg)
    if high in schema and size > schema[high]:
        msg = f"{path}: expected at most {schema[high]} {unit}, got {size}"
        raise BadLLMResponse(msg)


def json_validator(schema: dict[str, Any]) -> Callable[[str], dict[str, Any]]:
    """A validator for :func:`complete_json`: extract the JSON object, then check ``schema``."""
    checker = JsonSchema(schema)

    def validate(text: str) -> dict[str, Any]:
        return checker.validate(extract_json(text))

    return validate


@dataclass(frozen=True)
class JsonResult(Generic[T]):
    """The outcome of one JSON request: ``value`` when valid, else ``error`` says why.

    ``n_reasks`` counts the re-asks used; ``raw`` is the last answer text (for auditing).
    ``failed_request`` is true when the server never answered (not cached; a rerun retries).
    """

    value: T | None
    error: str | None
    n_reasks: int
    raw: str | None
    failed_request: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def reask_message(reason: str) -> str:
    """The re-ask text (a data file) with ``reason`` filled in."""
    return datafiles.load("llm/reask.yaml").template.replace("{{reason}}", reason)


async def complete_json(
    client: Any,
    messages: Sequence[Message],
    validate: Callable[[str], T],
    *,
    max_reasks: int | None = None,
    sample_index: int = 0,
) -> JsonResult[T]:
    """Ask, validate with ``validate`` (raises BadLLMResponse), re-ask at most ``max_reasks`` times.

    Never raises for a bad answer or a failed request: both come back as a :class:`JsonResult`
    with ``error`` set, so a batch job records them and goes on.
    """
    limit = client.config.max_reasks if max_reasks is None else max_reasks
    history = tuple({"role": m["role"], "content": m["content"]} for m in messages)
    request = client.request(history, sample_index=sample_index)
    raw: str | None = None
    reason = ""
    for attempt in range(limit + 1):
        if attempt:
            client.usage.reasks += 1
        try:
            response = await client.complete(request)
        except LLMError as exc:
            return JsonResult(None, f"request failed: {exc}", attempt, raw, failed_request=True)
        raw = response.text
        try:
            return JsonResult(validate(raw), None, attempt, raw)
        except BadLLMResponse as exc:
            reason = str(exc)
        history = history + (
            {"role": "assistant", "content": raw[:MAX_ANSWER_CHARS]},
            {"role": "user", "content": reask_message(reason)},
        )
        request = request.with_messages(history)
    return JsonResult(None, f"invalid answer after {limit} re-ask(s): {reason}", limit, raw)
