"""What a tool is and what one call of it gives back: the tool definition (JSON schema, cost),
argument parsing and checks, the outcome, the errors a tool raises and the scrubber that hides
names of the finetune."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class ToolError(Exception):
    """A bad call: its message goes back to the agent as the tool result."""


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of an object
    run: Callable[[dict[str, Any]], str]
    cost: int = 0  # model interactions

    def spec(self) -> dict[str, Any]:
        """The OpenAI function-tool definition."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass
class Outcome:
    """What one tool call did: `result` goes back to the agent; `final` is set when the call
    was an accepted final answer."""

    name: str
    arguments: Any
    result: str
    cost: int = 0
    refused: bool = False
    error: bool = False
    final: str | None = None

    def row(self) -> dict[str, Any]:
        return {
            "type": "tool",
            "name": self.name,
            "arguments": self.arguments,
            "result": self.result,
            "cost": self.cost,
            "refused": self.refused,
            "error": self.error,
            **({"final": self.final} if self.final is not None else {}),
        }


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


def parse_arguments(raw: Any) -> dict[str, Any]:
    """Tool arguments from a JSON string (or a dict); ToolError when malformed."""
    if isinstance(raw, dict):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError) as err:
        raise ToolError(f"the arguments are not valid JSON ({err}); send a JSON object") from None
    if not isinstance(value, dict):
        raise ToolError('the arguments must be a JSON object, e.g. {"position": 1}')
    return value


def check_arguments(tool: Tool, args: dict[str, Any]) -> dict[str, Any]:
    """Required arguments present, known names only, types coerced where harmless ("3" -> 3)."""
    props = tool.parameters.get("properties", {})
    unknown = sorted(set(args) - set(props))
    if unknown:
        raise ToolError(f"unknown argument(s) {unknown}; {tool.name} takes {sorted(props)}")
    missing = [k for k in tool.parameters.get("required", []) if args.get(k) in (None, "")]
    if missing:
        raise ToolError(f"missing argument(s) {missing}")
    out = {}
    for name, value in args.items():
        if value is None:
            continue
        kind = props[name].get("type")
        try:
            if kind == "integer":
                if isinstance(value, bool) or float(value) != int(float(value)):
                    raise ValueError
                value = int(float(value))
            elif kind == "number":
                if isinstance(value, bool):
                    raise ValueError
                value = float(value)
            elif kind == "string":
                if not isinstance(value, str):
                    raise ValueError
        except (TypeError, ValueError):
            raise ToolError(
                f"argument '{name}' must be {'an' if kind == 'integer' else 'a'} {kind}"
            ) from None
        if "enum" in props[name] and value not in props[name]["enum"]:
            raise ToolError(f"argument '{name}' must be one of {props[name]['enum']}")
        out[name] = value
    return out


@dataclass
class Scrubber:
    """Replaces strings that could name the finetune (model paths, dataset names)."""

    secrets: list[str] = field(default_factory=list)

    def __call__(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "[hidden]")
        return text


class _Final(Exception):
    """An accepted final answer (raised through the tool so it is handled in one place)."""

    def __init__(self, text: str, message: str):
        super().__init__(message)
        self.text, self.message = text, message
