"""The agent's toolbox: running tool calls within the interaction budget, and what each tool does.

Every call returns text for the agent, never raises: bad arguments, an unknown tool, a spent
budget or a failure inside a tool all come back as a message the agent can act on. Model
interactions (ask_models, steer) cost 1 each and load the models on first use; the others are
free. Error texts are scrubbed of model paths and dataset names before the agent sees them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from adlens.agent.config import AgentConfig
from adlens.agent.overview import clip, format_tokens
from adlens.agent.prompts import echoes
from adlens.agent.rundata import RunData
from adlens.agent.tool_calls import (
    Outcome,
    Scrubber,
    Tool,
    ToolError,
    _Final,
    check_arguments,
    parse_arguments,
)
from adlens.agent.tool_specs import MAX_SAMPLES_PER_CALL, build_tools
from adlens.core.readers import reader_label
from adlens.errors import AdlensError

log = logging.getLogger(__name__)

MAX_HYPOTHESES = 20


class ToolBox:
    """The tools of one agent run, with its interaction budget and hypothesis list.

    `pair_loader` loads the model pair on first use (only ask_models and steer need it)."""

    def __init__(
        self,
        data: RunData,
        kind: str,
        cfg: AgentConfig,
        *,
        repeat: int = 0,
        pair_loader: Callable[[], Any] | None = None,
        scrub: Callable[[str], str] | None = None,
    ):
        self.data, self.kind, self.cfg, self.repeat = data, kind, cfg, repeat
        self.pair_loader = pair_loader
        self.instructions = ""  # the prompts the agent was given: a final answer may not echo them
        self.scrub = scrub or Scrubber(data.sensitive_strings())
        self.used = 0
        self._contrastive_seen = 0  # contrastive samples shown so far: each call shows new ones
        self.hypotheses: list[str] = []
        self.long_answers = 0
        self._pair: Any = None
        self._pair_error: str | None = None
        self._diff: Any = None
        self._shown: dict[Any, int] = {}
        self._calls = 0
        self.tools = {t.name: t for t in build_tools(self)}

    # ------------------------------------------------------------------ budget

    @property
    def budget(self) -> int:
        return self.cfg.interactions

    @property
    def left(self) -> int:
        return max(0, self.budget - self.used)

    def offered(self) -> list[Tool]:
        """The tools listed to the agent: model interactions only while the budget allows
        (with a budget of 0 they are not offered at all)."""
        return [t for t in self.tools.values() if t.cost == 0 or self.budget > 0]

    # ------------------------------------------------------------------ dispatch

    def execute(self, name: str, raw_args: Any) -> Outcome:
        """Run one call. Never raises (except KeyboardInterrupt and the like)."""
        self._calls += 1
        tool = self.tools.get(name)
        if tool is None:
            known = ", ".join(t.name for t in self.offered())
            return Outcome(
                name, raw_args, f"Error: unknown tool '{name}'. Tools: {known}.", error=True
            )
        try:
            args = check_arguments(tool, parse_arguments(raw_args))
        except ToolError as err:
            return Outcome(name, raw_args, f"Error in {name}: {err}.", error=True)
        if tool.cost and self.used + tool.cost > self.budget:
            return Outcome(
                name,
                args,
                f"Refused: {name} costs {tool.cost} model interaction(s) and your budget of "
                f"{self.budget} is spent ({self.used} used). The free tools still work; give "
                "your final answer with final_answer when ready.",
                refused=True,
            )
        try:
            result = tool.run(args)
        except _Final as final:
            return Outcome(name, args, final.message, final=final.text)
        except ToolError as err:
            return Outcome(name, args, f"Error in {name}: {self.scrub(str(err))}.", error=True)
        except Exception as err:  # a failure inside a tool must not end the run
            log.warning("agent tool %s failed: %s", name, err, exc_info=True)
            message = self.scrub(f"{type(err).__name__}: {err}")
            return Outcome(name, args, f"Error in {name}: {clip(message, 300)}", error=True)
        self.used += tool.cost
        if tool.cost:
            note = f"\n\n[{self.used} of {self.budget} model interactions used.]"
            if self.left == 0:
                note += " That was your last model interaction: give your final answer when ready."
            result += note
        return Outcome(name, args, result, cost=tool.cost)

    # ------------------------------------------------------------------ free tools

    def _layer(self, args: dict[str, Any]) -> int:
        layer = args.get("layer", self.data.layers[0] if self.data.layers else None)
        if layer not in self.data.layers:
            raise ToolError(f"layer must be one of {self.data.layers}")
        return layer

    def _position(self, args: dict[str, Any]) -> int:
        pos = args.get("position")
        if pos not in self.data.positions:
            raise ToolError(f"position must be one of {self.data.positions}")
        return pos

    def _more_tokens(self, args: dict[str, Any]) -> str:
        layer, pos = self._layer(args), self._position(args)
        reader, variant = args["reader"], args.get("variant", "diff")
        k = max(1, min(100, args.get("k", 20)))
        entry = self.data.entry(reader, layer, pos, variant)
        if entry is None:
            raise ToolError(f"no {reader} reading of {variant} at position {pos}")
        have = len(entry.tokens)
        note = f" (only {have} were saved)" if k > have else ""
        scale = f", scale {entry.scale:g}" if entry.scale is not None else ""
        return (
            f"{reader_label(reader)} of {variant} at position {pos}"
            f"{self.data.position_note(layer, pos)}{scale}, top {min(k, have)}{note}:\n"
            + format_tokens(entry.tokens, k)
        )

    def _contrastive_samples(self, args: dict[str, Any]) -> str:
        rows = self.data.contrastive_samples()
        n = max(1, min(MAX_SAMPLES_PER_CALL, args.get("n", 3)))
        shown = rows[self._contrastive_seen : self._contrastive_seen + n]
        if not shown:
            raise ToolError(f"all {len(rows)} contrastive samples have been shown")
        self._contrastive_seen += len(shown)
        return "\n".join(
            f"{i + 1}. ({json.dumps(r['prefill'])}) {clip(r['text'], self.cfg.sample_chars)}"
            for i, r in enumerate(shown)
        )

    def _more_samples(self, args: dict[str, Any]) -> str:
        n = max(1, min(MAX_SAMPLES_PER_CALL, args.get("n", 3)))
        key: tuple[int, int] | str
        if "position" in args:
            pos = self._position(args)
            layer = self._layer(args)
            rows = self.data.sample_rows(True, layer, pos)
            what, key = f"steered at position {pos}", (layer, pos)
            if not rows:
                steered = [p["position"] for p in self.data.steered_positions()]
                raise ToolError(f"no steered samples at position {pos}; steered: {steered}")
        else:
            rows, what, key = self.data.sample_rows(False), "unsteered", "unsteered"
            if not rows:
                raise ToolError("this run has no unsteered samples")
        order, n_shown = _new_first(rows)  # the overview showed the first one per prompt
        start = self._shown.get(key, n_shown)
        picked = [order[(start + i) % len(order)] for i in range(min(n, len(order)))]
        self._shown[key] = start + len(picked)
        wrapped = " (all samples shown; starting over)" if start + len(picked) > len(order) else ""
        lines = [f"{len(picked)} samples, {what}{wrapped}:"]
        for r in picked:
            lines.append(f"- Prompt: {clip(r.get('prompt', ''), 200)}")
            lines.append(f"  Answer: {clip(r.get('text', ''), self.cfg.tool_sample_chars)}")
        return "\n".join(lines)

    def _hypotheses(self, args: dict[str, Any]) -> str:
        action = args["action"]
        if action == "add":
            text = (args.get("text") or "").strip()
            if not text:
                raise ToolError("'add' needs the hypothesis in 'text'")
            if len(self.hypotheses) >= MAX_HYPOTHESES:
                raise ToolError(f"the list holds {MAX_HYPOTHESES} already; remove one first")
            self.hypotheses.append(clip(text, 2000))
        elif action == "remove":
            index = args.get("index")
            if index is None and args.get("text") in self.hypotheses:
                index = self.hypotheses.index(args["text"]) + 1
            if index is None or not 1 <= index <= len(self.hypotheses):
                raise ToolError(f"'remove' needs 'index', 1 to {len(self.hypotheses)}")
            self.hypotheses.pop(index - 1)
        if not self.hypotheses:
            return "Hypotheses: (none)"
        return "Hypotheses:\n" + "\n".join(f"{i}. {h}" for i, h in enumerate(self.hypotheses, 1))

    def _final_answer(self, args: dict[str, Any]) -> str:
        text = args["hypothesis"].strip()
        if echoes(text, self.instructions):
            raise ToolError("that repeats the instructions; give your own specific hypothesis")
        limit = self.cfg.max_hypothesis_words
        words = text.split()
        if len(words) > limit:
            self.long_answers += 1
            if self.long_answers == 1:
                raise ToolError(
                    f"the hypothesis has {len(words)} words; give your final answer again in "
                    f"at most {limit} words"
                )
            text = " ".join(words[:limit])
        raise _Final(text, "Final answer recorded.")

    # ------------------------------------------------------------------ model interactions

    def pair(self) -> Any:
        if self._pair is None:
            if self._pair_error is not None:
                raise ToolError(self._pair_error)
            if self.pair_loader is None:
                self._pair_error = "the models are not available in this session"
                raise ToolError(self._pair_error)
            try:
                self._pair = self.pair_loader()
            except Exception as err:
                log.error("agent: could not load the models: %s", err)
                self._pair_error = "the models could not be loaded; use the other tools"
                raise ToolError(self._pair_error) from None
        return self._pair

    def _prompt(self, args: dict[str, Any]) -> str:
        prompt = args["prompt"].strip()
        if len(prompt) > self.cfg.max_prompt_chars:
            raise ToolError(f"the prompt is longer than {self.cfg.max_prompt_chars} characters")
        return prompt

    def _seed(self, *parts: Any) -> int:
        from adlens.core.steer import derive_seed

        return derive_seed(self.cfg.seed, self.kind, self.repeat, self._calls, *parts)

    def _ask_models(self, args: dict[str, Any]) -> str:
        from adlens.core.steer import generate

        prompt = self._prompt(args)
        pair = self.pair()
        answers = {
            side: generate(
                pair,
                [prompt],
                side=side,
                temperature=self.cfg.model_temperature,
                max_new_tokens=self.cfg.model_max_new_tokens,
                seed=self._seed(side, prompt),
            )[0]
            for side in ("base", "finetuned")
        }
        return f"Base model:\n{answers['base']}\n\nFinetuned model:\n{answers['finetuned']}"

    def diff(self) -> Any:
        if self._diff is None:
            from adlens.core.activations import ActivationDiff

            path = self.data.path / "collect"
            if not path.exists():
                raise ToolError("the run directory holds no activation differences")
            self._diff = ActivationDiff.load(path)
        return self._diff

    def _steer(self, args: dict[str, Any]) -> str:
        from adlens.core.steer import generate, steering_vector

        layer, pos, prompt = self._layer(args), self._position(args), self._prompt(args)
        found = self.data.strength(layer, pos)
        strength = args.get("strength", found if found is not None else 1.0)
        if not 0 <= strength <= self.cfg.max_strength:
            raise ToolError(f"strength must be between 0 and {self.cfg.max_strength:g}")
        try:
            vector = steering_vector(self.diff(), layer, pos)
        except AdlensError as err:
            raise ToolError(str(err)) from None
        steer = self.data.summary.steer
        side = steer.side if steer is not None else "finetuned"
        text = generate(
            self.pair(),
            [prompt],
            layer=layer,
            vector=vector,
            strengths=[strength],
            side=side,
            temperature=self.cfg.model_temperature,
            max_new_tokens=self.cfg.model_max_new_tokens,
            seed=self._seed("steer", layer, pos, strength, prompt),
        )[0]
        return f"Finetuned model steered at position {pos} with strength {strength:.3g}:\n{text}"


def _new_first(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Samples with the first one per prompt (the ones the overview showed) first, and how
    many those are: reading from that offset gives samples not seen yet."""
    first: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    seen: set[Any] = set()
    for r in rows:
        (rest if r.get("prompt_index") in seen else first).append(r)
        seen.add(r.get("prompt_index"))
    return first + rest, len(first) % max(1, len(rows))
