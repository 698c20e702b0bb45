"""One error base for the whole project: every error Lensflow raises on purpose is a `LensflowError`.

Each carries a `code` (a stable word a program can branch on), a one-line
`message` a person can act on, and a `location` (file, line, column) when the
error is about a place in a file. The command line prints any of them as
`lensflow: [file:line:column: ]message` and exits with 2; a flow sees a
provider's failure as `error.code` (the vocabulary in schemas/catalog/errors.json).

The hierarchy (where each class lives; its code in brackets, `*` when the
raiser chooses the code):

    LensflowError(code, message, location=None)
    ├── usage and settings: the command line or environment asks for something that cannot work
    │   ├── commands.common.CliError                     [USAGE]
    │   ├── engine.checks.validate.UsageError             [USAGE]
    │   ├── engine.settings.SettingsError                 [CONFIG]  `name` is the variable
    │   ├── engine.checks.config.ConfigError              [CONFIG]  pyproject.toml [tool.lensflow]
    │   ├── engine.assistant.addressing.WakeConfigError   [CONFIG]
    │   ├── engine.language.catalog.CatalogError          [CONFIG]  catalogue, device profiles
    │   ├── devices.bridge.auth.TokenError                [CONFIG]
    │   ├── engine.assistant.sole_writer.WriterWaitError  [UNAVAILABLE]  a sessions file another process holds
    │   └── devices.sim.simulation.ProfileRefused         [PROFILE_REFUSED]
    ├── files a person wrote: the first problem, with its file:line:column
    │   ├── engine.findings.SourceError                   [the rule: yaml-syntax ...]
    │   ├── engine.runtime.events_file.ScenarioError      [BAD_SCENARIO]  events and scenario files
    │   ├── flowtests.cases.TestFileError                 [BAD_TEST_FILE]
    │   ├── flowtests.scripted_llm.ScriptError            [BAD_SCRIPT]
    │   ├── devices.sim.preview.SampleError               [BAD_SAMPLE]
    │   └── skills.shopping.catalog.CatalogError          [BAD_CATALOG]
    ├── the flow language: what an expression, a duration or a flow means
    │   ├── engine.language.expressions.ExpressionError   [EXPRESSION_SYNTAX]  also a ValueError
    │   ├── engine.language.cel_parse.ParseError          [EXPRESSION_SYNTAX]  also a ValueError
    │   ├── engine.language.expressions.EvaluationError   [EVALUATION]
    │   ├── engine.language.durations.DurationError       [BAD_DURATION]  also a ValueError
    │   ├── engine.runtime.compiler.CompileError          [COMPILE]
    │   ├── engine.runtime.migration.MigrationError       [MIGRATION]  a saved session a migration cannot carry
    │   ├── engine.runnable.NotRunnable           [NOT_RUNNABLE]
    │   └── engine.designer.diagram.DiagramError          [DIAGRAM]
    ├── reading files a flow names (also OSError / ValueError, as callers catch them)
    │   ├── engine.files.NotReadable                      [FILE_NOT_ALLOWED]
    │   ├── engine.files.NotAllowed                       [FILE_NOT_ALLOWED]
    │   ├── engine.files.NotAnImage                       [BAD_IMAGE]
    │   ├── engine.media.MediaRefused                     [FILE_NOT_ALLOWED]  a name, wearer id or size a store refuses
    │   ├── engine.media.MediaNotFound                    [NOT_FOUND]  no capture of that name for that wearer
    │   └── devices.hud.render_png.FontMissing            [UNAVAILABLE]
    ├── services: what a flow branches on (`error.code`, codes of schemas/catalog/errors.json)
    │   ├── engine.runtime.calls.SkillError               [*]  skills; skills.errors maps library errors to it
    │   ├── engine.assistant.chat_model.LlmError          [*]  model calls (`retryable`)
    │   ├── skills.payments.checkout.OutcomeUnknown       [*]  a payment whose outcome only a query can tell
    │   ├── skills.payments.alipay_wire.Untrusted         [BAD_SIGNATURE]  an answer not signed by Alipay's key
    │   ├── devices.audio.asr.RecognitionError            [BAD_REQUEST]
    │   └── devices.audio.tts.SpeechUnavailable           [UNAVAILABLE]
    └── the device link
        ├── devices.bridge.protocol.ProtocolError         [*]  sent back to the device in an error frame
        └── devices.bridge.conformance.ConformanceError   [NOT_CONFORMING]  a message off the protocol's spec

Classes that take a message alone derive from `UserError`, whose subclasses name
their code as a class attribute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LensflowError", "Location", "UserError"]

_WHERE = re.compile(r"^(?P<file>.+?)(?::(?P<line>\d+)(?::(?P<column>\d+))?)?$")


@dataclass(frozen=True)
class Location:
    """Where in a file an error is: shown as `file`, `file:line` or `file:line:column`."""

    file: str
    line: int | None = None
    column: int | None = None

    @classmethod
    def parse(cls, where: str) -> Location:
        """A `file[:line[:column]]` text as a location (the file part may itself hold colons).

        >>> Location.parse("flows/a.yaml:3:5")
        Location(file='flows/a.yaml', line=3, column=5)
        """
        match = _WHERE.match(where)
        if match is None:  # only the empty text
            return cls(where)
        line, column = match.group("line"), match.group("column")
        return cls(match.group("file"), int(line) if line else None, int(column) if column else None)

    def __str__(self) -> str:
        parts = [self.file] + [str(n) for n in (self.line, self.column) if n is not None]
        return ":".join(parts)


class LensflowError(Exception):
    """An error Lensflow raises on purpose: `code`, `message` and, when there is one, `location`.

    `str()` is the line a person reads: `file:line:column: message` (subclasses
    that always said more, such as `SkillError`'s `CODE: message`, keep saying it).
    """

    code: str = "ERROR"
    message: str = ""
    location: Location | None = None

    def __init__(self, code: str, message: str, location: Location | str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.location = Location.parse(location) if isinstance(location, str) else location

    def __str__(self) -> str:
        text = super().__str__()
        return f"{self.location}: {text}" if self.location is not None else text


class UserError(LensflowError):
    """An error raised with a message alone (and maybe where): the class's `code` names its kind."""

    def __init__(self, message: str = "", location: Location | str | None = None) -> None:
        super().__init__(type(self).code, message, location)
