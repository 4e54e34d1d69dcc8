"""The agent loop: an LLM reads the overview, calls tools within its budgets, and ends with one
hypothesis. Native tool calling, or a plain-text protocol (`CALL name {json}` lines, `FINAL:`)
for servers without it: chosen with `protocol`, or automatically when the server rejects
`tools` on the first call.

Every message, LLM call (with token usage) and tool call goes into the transcript, in order.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from adlens.agent.config import AgentConfig
from adlens.agent.overview import build_overview
from adlens.agent.prompts import (
    FINAL_REQUEST,
    NUDGE_TEXT,
    NUDGE_TOOLS,
    TOOLS_ENDING,
    echoes,
    final_request,
    parse_final,
    parse_text_calls,
    system_prompt,
    text_protocol,
)
from adlens.agent.rundata import RunData
from adlens.agent.tool_calls import Outcome, ToolError, parse_arguments
from adlens.agent.tools import ToolBox
from adlens.errors import AdlensError
from adlens.judges.chat import ChatRequest, Completion
from adlens.judges.client import JudgeClient
from adlens.judges.schemas import FINAL, read_answer
from adlens.judges.structured import count

log = logging.getLogger(__name__)

MAX_TEXT_CALLS = 5  # tool calls run per reply in the text protocol
PLAIN_REPLIES_TO_SWITCH = 2  # auto protocol: tool-less replies before trying the text protocol
KEEP_WHEN_SHORTENED = 5  # messages kept (system, overview, last ones) when the final call fails


@dataclass
class AgentResult:
    """The outcome of one run; `stop` says how it ended: final_answer (the agent chose to),
    llm_calls or tokens (a cap was reached and the final answer was asked for), or
    llm_failed (the LLM stopped answering; the last listed hypothesis, if any, stands)."""

    agent: str
    budget: int
    repeat: int
    hypothesis: str | None
    stop: str
    protocol: str
    interactions_used: int
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    tool_calls: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    errors: int = 0
    hypotheses: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def truncate_words(text: str, limit: int) -> str:
    words = text.split()
    return text.strip() if len(words) <= limit else " ".join(words[:limit])


class AgentRun:
    """One run of one agent (kind "adl" or "blackbox") with budget `cfg.interactions`."""

    def __init__(
        self,
        client: JudgeClient,
        data: RunData,
        kind: str,
        cfg: AgentConfig,
        *,
        repeat: int = 0,
        pair_loader: Any = None,
    ):
        if kind not in ("adl", "blackbox"):
            raise AdlensError(f"Unknown agent {kind!r}: use adl or blackbox.")
        self.client, self.data, self.kind, self.cfg, self.repeat = client, data, kind, cfg, repeat
        self.tools = ToolBox(data, kind, cfg, repeat=repeat, pair_loader=pair_loader)
        self.overview = build_overview(data, kind, cfg)
        self.protocol = "text" if cfg.protocol == "text" else "tools"
        self.rows: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.calls = 0
        self.ok_calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.last_error: str | None = None
        self.plain_replies = 0  # replies in tool mode with neither a tool call nor FINAL

    # ------------------------------------------------------------------ messages

    def specs(self) -> list[dict[str, Any]]:
        return [t.spec() for t in self.tools.offered()]

    def system(self) -> str:
        base = system_prompt(
            self.kind, self.cfg.interactions, self.cfg.llm_calls(), self.cfg.max_hypothesis_words
        )
        if self.protocol == "tools":
            return f"{base}\n\n{TOOLS_ENDING}"
        return f"{base}\n\n{text_protocol(self.specs(), MAX_TEXT_CALLS)}"

    def _add(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self.rows.append({"type": "message", "index": len(self.messages) - 1, "message": message})

    def _start(self) -> None:
        self.messages = []
        self.tools.instructions = f"{self.system()}\n{FINAL_REQUEST}"
        self._add({"role": "system", "content": self.system()})
        self._add({"role": "user", "content": f"{self.overview}\n\nBegin your investigation."})

    # ------------------------------------------------------------------ LLM calls

    def _call(self, final: bool = False, tool_choice: str | None = None) -> Completion:
        params: dict[str, Any] = {}
        if self.protocol == "tools":
            # the tools stay listed when the final answer is forced: the history holds calls
            choice = tool_choice or ("none" if final else "auto")
            params = {"tools": self.specs(), "tool_choice": choice}
        request = ChatRequest(
            messages=list(self.messages),
            temperature=self.cfg.temperature,
            max_tokens=self.cfg.max_reply_tokens,
            sample_index=self.repeat,
            params=params,
            tag=f"agent:{self.kind}:i{self.cfg.interactions}:r{self.repeat}",
            # the forced final answer of the text protocol: {"hypothesis": ...} where the
            # endpoint takes schemas (with tools, final_answer's arguments are structured)
            schema=FINAL if final and self.protocol == "text" else None,
        )
        reply = self.client.complete(request)
        self.calls += 1
        self.ok_calls += reply.ok
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
        self.last_error = reply.error
        self.rows.append(
            {
                "type": "llm_call",
                "call": self.calls,
                "protocol": self.protocol,
                "final_request": final,
                "status": reply.status,
                "http_status": reply.http_status,
                "error": reply.error,
                "finish_reason": reply.finish_reason,
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "latency_s": round(reply.latency_s, 3),
            }
        )
        return reply

    def limit_reached(self) -> str | None:
        if self.calls >= self.cfg.llm_calls():
            return "llm_calls"
        if self.prompt_tokens + self.completion_tokens >= self.cfg.max_total_tokens:
            return "tokens"
        return None

    # ------------------------------------------------------------------ the loop

    def run(self) -> AgentResult:
        t0 = time.perf_counter()
        self.rows.append(
            {
                "type": "start",
                "agent": self.kind,
                "budget": self.cfg.interactions,
                "repeat": self.repeat,
                "protocol": self.protocol,
                "llm": {"model": self.client.model, "base_url": self.client.base_url},
                "config": self.cfg.hashed(),
                "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            }
        )
        self._start()
        hypothesis, stop = None, "final_answer"
        while True:
            reason = self.limit_reached()
            if reason is not None:
                hypothesis, stop = self._force_final(reason), reason
                break
            reply = self._call()
            if not reply.ok:
                if self._switch_protocol(reply):
                    continue
                hypothesis, stop = self._fallback(), "llm_failed"
                break
            hypothesis = self._handle(reply)
            if hypothesis is not None:
                break
        if self.ok_calls == 0:
            raise AdlensError(
                f"The agent LLM at {self.client.base_url} gave no answer: {self.last_error}"
            )
        result = AgentResult(
            agent=self.kind,
            budget=self.cfg.interactions,
            repeat=self.repeat,
            hypothesis=hypothesis,
            stop=stop,
            protocol=self.protocol,
            interactions_used=self.tools.used,
            llm_calls=self.calls,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            tool_calls=self._tool_counts(),
            refused=sum(1 for r in self.rows if r["type"] == "tool" and r["refused"]),
            errors=sum(1 for r in self.rows if r["type"] == "tool" and r["error"]),
            hypotheses=list(self.tools.hypotheses),
            seconds=round(time.perf_counter() - t0, 2),
        )
        self.rows.append({"type": "end", **result.to_json()})
        return result

    def _tool_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            if r["type"] == "tool":
                out[r["name"]] = out.get(r["name"], 0) + 1
        return out

    def _switch_protocol(self, reply: Completion) -> bool:
        """On auto protocol, a first call that the server rejects (tools unsupported) is
        retried with the plain-text protocol, from the start."""
        if not (self.cfg.protocol == "auto" and self.protocol == "tools" and self.ok_calls == 0):
            return False
        if reply.http_status is None:  # timeouts, connection errors: tools are not the issue
            return False
        self._to_text(f"the server rejected the tool-calling request ({reply.error})")
        return True

    def _tools_ignored(self) -> bool:
        """On auto protocol: two replies and not one tool call yet. Some servers accept `tools`
        but never produce calls (no tool parser, or a template without tools)."""
        return (
            self.cfg.protocol == "auto"
            and self.plain_replies >= PLAIN_REPLIES_TO_SWITCH
            and not any(r["type"] == "tool" for r in self.rows)
        )

    def _to_text(self, reason: str) -> None:
        """Start over with the plain-text call protocol (the calls made so far still count)."""
        log.warning("agent: %s; using the plain-text call protocol", reason)
        self.protocol = "text"
        self.rows.append({"type": "protocol_switch", "to": "text", "reason": reason})
        self._start()

    def _fallback(self) -> str | None:
        log.warning(
            "agent: the LLM failed (%s); keeping the last listed hypothesis", self.last_error
        )
        if not self.tools.hypotheses:
            return None
        return truncate_words(self.tools.hypotheses[-1], self.cfg.max_hypothesis_words)

    def _record(self, outcome: Outcome) -> None:
        self.rows.append(outcome.row())

    def _handle(self, reply: Completion) -> str | None:
        """Act on one reply; the final hypothesis when the run ends, else None."""
        text = reply.text or ""
        if self.protocol == "tools":
            tool_calls = reply.tool_calls or []
            message: dict[str, Any] = {"role": "assistant", "content": text or None}
            if tool_calls:
                message["tool_calls"] = tool_calls
            self._add(message)
            for call in tool_calls:
                fn = call.get("function", {})
                outcome = self.tools.execute(fn.get("name", ""), fn.get("arguments"))
                self._record(outcome)
                self._add(
                    {"role": "tool", "tool_call_id": call.get("id"), "content": outcome.result}
                )
                if outcome.final is not None:
                    return outcome.final
            if tool_calls:
                return None
            final = parse_final(text)
            if final is not None:
                return self._accept_text_final(final)
            self.plain_replies += 1
            if self._tools_ignored():
                self._to_text("the model answered twice without calling a tool")
            else:
                self._add({"role": "user", "content": NUDGE_TOOLS})
            return None
        self._add({"role": "assistant", "content": text})
        final = parse_final(text)
        if final is not None:
            return self._accept_text_final(final)
        calls = parse_text_calls(text)
        if not calls:
            self._add({"role": "user", "content": NUDGE_TEXT})
            return None
        parts = []
        for name, raw in calls[:MAX_TEXT_CALLS]:
            outcome = self.tools.execute(name, raw)
            self._record(outcome)
            parts.append(f"RESULT of {name}:\n{outcome.result}")
            if outcome.final is not None:
                return outcome.final
        if len(calls) > MAX_TEXT_CALLS:
            parts.append(f"(Only the first {MAX_TEXT_CALLS} calls were run.)")
        self._add({"role": "user", "content": "\n\n".join(parts)})
        return None

    def _accept_text_final(self, text: str) -> str | None:
        """A FINAL: line goes through final_answer (word limit: asked once to shorten)."""
        outcome = self.tools.execute("final_answer", {"hypothesis": text})
        self._record(outcome)
        if outcome.final is not None:
            return outcome.final
        self._add({"role": "user", "content": outcome.result})
        return None

    def _force_final(self, reason: str) -> str | None:
        """A cap was reached: ask once for the final answer, without tools."""
        what = {
            "llm_calls": f"You have used all {self.cfg.llm_calls()} replies.",
            "tokens": f"You have used the token budget ({self.cfg.max_total_tokens} tokens).",
        }[reason]
        self._add({"role": "user", "content": final_request(what, self.cfg.max_hypothesis_words)})
        reply = self._call(final=True)
        if not reply.ok and reply.http_status is not None and self.protocol == "tools":
            reply = self._call(final=True, tool_choice="auto")  # a server without "none"
        if not reply.ok and reply.http_status == 400 and len(self.messages) > KEEP_WHEN_SHORTENED:
            # most often the history outgrew the model's context: ask again with the start
            # (task and overview) and the last exchanges only
            log.warning(
                "agent: the final request failed (%s); asking with a shorter history", reply.error
            )
            # plain text turns only: a tool result without its call is an invalid request
            plain = [
                m
                for m in self.messages[2:-1]
                if m["role"] in ("user", "assistant") and m.get("content") and "tool_calls" not in m
            ]
            tail = plain[-(KEEP_WHEN_SHORTENED - 3) :]
            self.messages = self.messages[:2] + tail + self.messages[-1:]
            self.rows.append({"type": "history_shortened", "kept": len(self.messages)})
            reply = self._call(final=True)
        if not reply.ok:
            return self._fallback()
        text = reply.text or ""
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        if reply.tool_calls:
            message["tool_calls"] = reply.tool_calls
        self._add(message)
        answer = None
        for call in reply.tool_calls or []:  # some models call final_answer regardless
            fn = call.get("function", {})
            if fn.get("name") == "final_answer":
                try:
                    answer = str(parse_arguments(fn.get("arguments")).get("hypothesis") or "")
                except ToolError:
                    continue
                self._record(
                    Outcome(
                        "final_answer", fn.get("arguments"), "Final answer recorded.", final=answer
                    )
                )
        answer = answer or None
        if answer is None:
            answer = _final_text(reply)
            count(self.client, "agent", answers=1, structured=bool(reply.structured))
            count(self.client, "agent", unreadable=answer is None)
        if answer is None or echoes(answer, self.tools.instructions):
            return self._fallback()
        return truncate_words(answer, self.cfg.max_hypothesis_words)


def _final_text(reply: Completion) -> str | None:
    """The hypothesis of a forced final reply: its JSON answer when structured (invalid JSON:
    None), else the text after FINAL:, else the whole reply."""
    text = reply.text or ""
    if reply.structured:
        return read_answer(text, FINAL, lambda t: parse_final(t) or (t or "").strip() or None)
    return parse_final(text) or text.strip() or None
