"""Build the flow model from loaded YAML data.

The builder is tolerant on purpose: it runs after (not instead of) schema
validation, and it must turn any document, however broken, into the best model
it can, so that every other check still runs and reports everything in one pass.
What is malformed is skipped here; the schema check has already said why.

While walking the document it also records every place that holds a duration or
an expression (`Flow.durations`, `Flow.expressions`), so the checks for those never
re-implement the walk.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from engine.language.durations import DurationError, parse_duration
from engine.language.model import (
    STATE_KINDS,
    Action,
    Collect,
    Confirm,
    DuplicateState,
    Flow,
    FlowCall,
    Invoke,
    Link,
    LlmCall,
    Slot,
    State,
    Transition,
)
from engine.language.source import Path, SourceMap
from engine.language.versions import read_migrations

__all__ = ["BuiltFlow", "DurationSite", "ExpressionSite", "build_flow"]


@dataclass(frozen=True, slots=True)
class DurationSite:
    path: Path
    value: Any
    is_key: bool = False


@dataclass(frozen=True, slots=True)
class ExpressionSite:
    """A place holding CEL: a bare expression (`guard`, `value`) or a `template` string."""

    path: Path
    text: str
    kind: str  # "guard" | "value" | "template"
    state: str | None


def _dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(v for v in _list(value) if isinstance(v, str))


def _state_kind(value: Any) -> str | None:
    """The state kind, or the closest one to a misspelling (the schema reports the typo)."""
    if value in STATE_KINDS:
        return value
    if isinstance(value, str):
        close = difflib.get_close_matches(value.lower(), STATE_KINDS, n=1, cutoff=0.6)
        if close:
            return close[0]
    return None


class _Builder:
    def __init__(self, data: dict[str, Any], source: SourceMap) -> None:
        self.data = data
        self.source = source
        self.states: dict[str, State] = {}
        self.state_paths: dict[str, Path] = {}
        self.duplicates: list[DuplicateState] = []
        self.durations: list[DurationSite] = []
        self.expressions: list[ExpressionSite] = []
        self.current: str | None = None

    # -- small parsers ---------------------------------------------------------
    def duration(self, value: Any, path: Path, is_key: bool = False) -> int | None:
        if value is None:
            return None
        self.durations.append(DurationSite(path, value, is_key))
        try:
            return parse_duration(value)
        except DurationError:
            return None

    def template(self, value: Any, path: Path) -> None:
        """Record every string under `value` as a template site."""
        if isinstance(value, str):
            if "{{" in value or "}}" in value:
                self.expressions.append(ExpressionSite(path, value, "template", self.current))
        elif isinstance(value, dict):
            for key, item in value.items():
                self.template(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.template(item, (*path, index))

    def guard(self, value: Any, path: Path) -> str | None:
        if isinstance(value, str):
            self.expressions.append(ExpressionSite(path, value, "guard", self.current))
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        return None

    # -- actions and transitions -----------------------------------------------
    def actions(self, value: Any, path: Path) -> tuple[Action, ...]:
        out: list[Action] = []
        for index, item in enumerate(_list(value)):
            item_path = (*path, index)
            if isinstance(item, str):
                out.append(Action(item, None, item_path))
            elif isinstance(item, dict) and len(item) == 1:
                name, args = next(iter(item.items()))
                if not isinstance(name, str):
                    continue
                args_path = (*item_path, name)
                if name == "set":
                    for target, expr in _dict(args).items():
                        if isinstance(expr, str):
                            kind = "template" if "{{" in expr else "value"
                            self.expressions.append(ExpressionSite((*args_path, target), expr, kind, self.current))
                else:
                    self.template(args, args_path)
                out.append(Action(name, args, item_path))
        return tuple(out)

    def branches(self, trigger: str, value: Any, path: Path, delay_ms: int | None = None) -> list[Transition]:
        if isinstance(value, str):
            return [Transition(trigger, value, None, (), path, delay_ms)]
        items = [(value, path)] if isinstance(value, dict) else [(v, (*path, i)) for i, v in enumerate(_list(value))]
        out: list[Transition] = []
        for item, item_path in items:
            if not isinstance(item, dict):
                continue
            target = _str(item.get("target"))
            cond = self.guard(item["if"], (*item_path, "if")) if "if" in item else None
            actions = self.actions(item.get("do"), (*item_path, "do"))
            out.append(Transition(trigger, target, cond, actions, item_path, delay_ms))
        return out

    # -- states ------------------------------------------------------------------
    def state(self, name: str, raw: Any, parent: str | None, path: Path) -> None:
        if name in self.states or name in self.state_paths:
            self.duplicates.append(DuplicateState(name, path, self.state_paths[name]))
            return
        self.state_paths[name] = path
        body = _dict(raw)
        outer, self.current = self.current, name
        children_raw = _dict(body.get("states"))
        kind = _state_kind(body.get("type"))
        if kind is None or (kind == "atomic" and children_raw):
            kind = "compound" if children_raw else "atomic"
        transitions: list[Transition] = []
        for event, value in _dict(body.get("on")).items():
            if isinstance(event, str):
                transitions += self.branches(event, value, (*path, "on", event))
        if "always" in body:
            transitions += self.branches("always", body["always"], (*path, "always"))
        for delay, value in _dict(body.get("after")).items():
            delay_ms = self.duration(delay, (*path, "after", delay), is_key=True)
            transitions += self.branches("after", value, (*path, "after", delay), delay_ms)

        invoke = self.invoke(body.get("invoke"), (*path, "invoke"), transitions)
        collect = self.collect(body.get("collect"), (*path, "collect"), transitions)
        confirm = self.confirm(body.get("confirm"), (*path, "confirm"), transitions)
        llm = self.llm(body.get("llm"), (*path, "llm"), transitions)
        call = self.call(body.get("call"), (*path, "call"), transitions)
        link = self.link(body.get("link"), (*path, "link"))
        if "on_done" in body:
            transitions += self.branches("done.state", body["on_done"], (*path, "on_done"))
        if "output" in body:
            self.template(body["output"], (*path, "output"))

        entry = self.actions(body.get("entry"), (*path, "entry"))
        exit_ = self.actions(body.get("exit"), (*path, "exit"))
        children = tuple(k for k in children_raw if isinstance(k, str))
        initial = _str(body.get("initial"))
        if initial is None and children and kind == "compound":
            initial = children[0]
        self.states[name] = State(
            name=name,
            kind=kind,
            parent=parent,
            children=children,
            initial=initial,
            entry=entry,
            exit=exit_,
            transitions=tuple(transitions),
            path=path,
            invoke=invoke,
            collect=collect,
            confirm=confirm,
            llm=llm,
            call=call,
            link=link,
            output=body.get("output"),
            deep=body.get("deep") is True,
            defer=_strs(body.get("defer")),
        )
        for child in children:
            self.state(child, children_raw[child], name, (*path, "states", child))
        self.current = outer

    def invoke(self, raw: Any, path: Path, transitions: list[Transition]) -> Invoke | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("skill"), str):
            return None
        retry = _dict(raw.get("retry"))
        self.template(raw.get("with"), (*path, "with"))
        if "idempotency_key" in raw:
            self.template(raw["idempotency_key"], (*path, "idempotency_key"))
        invoke = Invoke(
            skill=raw["skill"],
            args=_dict(raw.get("with")),
            result_var=_str(raw.get("as")),
            timeout_ms=self.duration(raw.get("timeout"), (*path, "timeout")),
            retry_max=retry["max"]
            if isinstance(retry.get("max"), int) and not isinstance(retry.get("max"), bool)
            else 0,
            retry_backoff_ms=self.duration(retry.get("backoff"), (*path, "retry", "backoff")),
            idempotency_key=_str(raw.get("idempotency_key")),
            path=path,
        )
        self.completion(raw, path, transitions, "invoke")
        return invoke

    def completion(self, raw: dict[str, Any], path: Path, transitions: list[Transition], what: str) -> None:
        if "on_done" in raw:
            transitions += self.branches(f"done.{what}", raw["on_done"], (*path, "on_done"))
        if "on_error" in raw:
            transitions += self.branches(f"error.{what}", raw["on_error"], (*path, "on_error"))

    def no_input(
        self, raw: Any, path: Path, transitions: list[Transition], trigger: str
    ) -> tuple[int | None, int | None]:
        if not isinstance(raw, dict):
            return None, None
        after = self.duration(raw.get("after"), (*path, "after"))
        max_ = raw.get("max") if isinstance(raw.get("max"), int) and not isinstance(raw.get("max"), bool) else None
        if isinstance(raw.get("target"), str):
            transitions.append(Transition(trigger, raw["target"], None, (), (*path, "target")))
        return after, max_

    def collect(self, raw: Any, path: Path, transitions: list[Transition]) -> Collect | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("slot"), str):
            return None
        self.template(raw.get("prompt"), (*path, "prompt"))
        self.template(raw.get("reprompts"), (*path, "reprompts"))
        after, max_ = self.no_input(raw.get("no_input"), (*path, "no_input"), transitions, "collect.no_input")
        if "on_filled" in raw:
            transitions += self.branches("collect.filled", raw["on_filled"], (*path, "on_filled"))
        return Collect(raw["slot"], _str(raw.get("prompt")) or "", _strs(raw.get("reprompts")), after, max_, path)

    def confirm(self, raw: Any, path: Path, transitions: list[Transition]) -> Confirm | None:
        if not isinstance(raw, dict):
            return None
        self.template(raw.get("prompt"), (*path, "prompt"))
        after, max_ = self.no_input(raw.get("no_input"), (*path, "no_input"), transitions, "confirm.no_input")
        if "on_yes" in raw:
            transitions += self.branches("confirm.yes", raw["on_yes"], (*path, "on_yes"))
        if "on_no" in raw:
            transitions += self.branches("confirm.no", raw["on_no"], (*path, "on_no"))
        via = _strs(raw.get("via")) or ("voice", "gesture")
        return Confirm(_str(raw.get("prompt")) or "", via, after, max_, path)

    def llm(self, raw: Any, path: Path, transitions: list[Transition]) -> LlmCall | None:
        if not isinstance(raw, dict):
            return None
        for key in ("prompt", "system", "image"):
            self.template(raw.get(key), (*path, key))
        call = LlmCall(
            prompt=_str(raw.get("prompt")) or "",
            system=_str(raw.get("system")),
            image=_str(raw.get("image")),
            output_schema=raw.get("output_schema") if isinstance(raw.get("output_schema"), dict) else None,
            result_var=_str(raw.get("as")),
            timeout_ms=self.duration(raw.get("timeout"), (*path, "timeout")),
            path=path,
        )
        self.completion(raw, path, transitions, "llm")
        return call

    def call(self, raw: Any, path: Path, transitions: list[Transition]) -> FlowCall | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("flow"), str):
            return None
        self.template(raw.get("with"), (*path, "with"))
        self.completion(raw, path, transitions, "call")
        return FlowCall(raw["flow"], _dict(raw.get("with")), _str(raw.get("as")), path)

    def link(self, raw: Any, path: Path) -> Link | None:
        if isinstance(raw, str):
            return Link(raw, {}, path)
        if isinstance(raw, dict) and isinstance(raw.get("flow"), str):
            self.template(raw.get("with"), (*path, "with"))
            return Link(raw["flow"], _dict(raw.get("with")), path)
        return None

    # -- the flow ----------------------------------------------------------------
    def slots(self) -> dict[str, Slot]:
        out: dict[str, Slot] = {}
        for name, raw in _dict(self.data.get("slots")).items():
            if not isinstance(name, str):
                continue
            body = _dict(raw)
            path = ("slots", name)
            rejections: list[tuple[str, str]] = []
            for i, rej in enumerate(_list(body.get("rejections"))):
                rej = _dict(rej)
                cond = self.guard(rej.get("if"), (*path, "rejections", i, "if")) if "if" in rej else None
                self.template(rej.get("say"), (*path, "rejections", i, "say"))
                if cond is not None:
                    rejections.append((cond, _str(rej.get("say")) or ""))
            values = tuple(body["values"]) if isinstance(body.get("values"), list) else None
            synonyms = {
                str(k): tuple(str(w) for w in v) for k, v in _dict(body.get("synonyms")).items() if isinstance(v, list)
            } or None
            out[name] = Slot(
                name,
                _str(body.get("type")) or "string",
                _str(body.get("description")),
                body.get("default"),
                values,
                tuple(rejections),
                path,
                synonyms,
            )
        return out

    def build(self) -> Flow:
        data = self.data
        slots = self.slots()
        top_raw = _dict(data.get("states"))
        top = tuple(k for k in top_raw if isinstance(k, str))
        for name in top:
            self.state(name, top_raw[name], None, ("states", name))
        triggers = _dict(data.get("triggers"))
        initial = _str(data.get("initial")) or (top[0] if top else None)
        version = data.get("version") if isinstance(data.get("version"), int) else None
        flow = Flow(
            id=_str(data.get("flow")) or "",
            file=self.source.file,
            source=self.source,
            version=version,
            title=_str(data.get("title")),
            description=_str(data.get("description")),
            permissions=_strs(data.get("permissions")),
            requires=_strs(data.get("requires")),
            optional=_strs(data.get("optional")),
            phrases=_strs(triggers.get("phrases")),
            gestures=_strs(triggers.get("gestures")),
            slots=slots,
            initial=initial,
            top=top,
            states=self.states,
            duplicates=tuple(self.duplicates),
            raw=data,
            cancel=_str(data.get("cancel")),
            migrations=read_migrations(data.get("migrations")),
            patterns=_strs(triggers.get("patterns")),
            examples=_strs(triggers.get("examples")),
        )
        return flow


@dataclass(frozen=True)
class BuiltFlow:
    flow: Flow
    durations: tuple[DurationSite, ...]
    expressions: tuple[ExpressionSite, ...]


def build_flow(data: Any, source: SourceMap) -> BuiltFlow:
    """Turn loaded data into a `Flow`, skipping whatever is malformed.

    >>> from engine.language.yaml_reader import read_yaml
    >>> doc = read_yaml("flow: demo\\nstates: {a: {on: {gesture.tap: b}}, b: {type: final}}\\n", "demo.yaml")
    >>> built = build_flow(doc.data, doc.source)
    >>> [t.target for t in built.flow.states["a"].transitions]
    ['b']
    """
    builder = _Builder(data if isinstance(data, dict) else {}, source)
    flow = builder.build()
    return BuiltFlow(flow, tuple(builder.durations), tuple(builder.expressions))
