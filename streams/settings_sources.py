"""Loading the worker's settings strictly: every mistake is an error that names its source.

`load_settings` is what `kpi-monitor worker` calls. Besides what `Settings` itself checks, it
refuses what pydantic-settings would silently ignore or turn into a traceback:

- an environment variable that starts with `KPI_` but names no setting (`KPI_WEB_PORT`
  with one underscore, `KPI_GRAEC`), unless it is one of `NON_SETTING_VARIABLES` or starts
  with one of `NON_SETTING_PREFIXES`;
- an unknown key at any level of the TOML file (`[kafka] bootstrap_server = ...`);
- a TOML syntax error, a missing file, and a list or table variable that is not JSON
  (`KPI_TRAILING_WINDOWS=5m,1h`).

Each problem becomes one line of a single `ConfigError` ("invalid configuration"): the source
(`KPI_NAME`, `FILE:LINE` or the flag) first, then what is wrong and, for a misspelt name, the
nearest valid one (difflib). Values are never quoted, except those of list and table
variables (never secrets), so a password cannot leak into the message.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsError

from kpi.errors import ConfigError
from streams.settings import CONFIG_FILE, CONFIG_FILE_ENV, Settings

ENV_PREFIX = "KPI_"
NESTED = "__"
# Variables that start with KPI_ but are not worker settings (docs/configuration.md).
NON_SETTING_VARIABLES = frozenset({
    CONFIG_FILE_ENV,  # the TOML file, when --config is not given
    "KPI_MONITOR_PURE_PYTHON",  # install without mypyc (setup.py)
    "KPI_PROMETHEUS_URL",  # Grafana's provisioned datasource (grafana/provisioning)
})
NON_SETTING_PREFIXES = ("KPI_STACK_",)  # the local stack's settings (streams/stack/settings.py)
DOCS_HINT = "Every setting: docs/configuration.md."


def load_settings(config_file: str | None = None, *, config_flag: str = "--config") -> Settings:
    """The worker's settings from the environment and a TOML file, checked strictly.

    `config_file` is the path given with `config_flag` (named so in messages); without it,
    $KPI_CONFIG_FILE is read if set. Environment variables override the file.
    Raises ConfigError listing every problem found, one per line, each with its source.
    """
    problems: list[str] = []
    path = config_file or os.environ.get(CONFIG_FILE_ENV) or None
    toml_file = None
    if path:
        toml_file = TomlFile.read(path, f"{config_flag} {path}" if config_file else f"{CONFIG_FILE_ENV}={path}")
    if toml_file is not None:
        problems += toml_file.unknown_keys()
    problems += unknown_variables(os.environ)
    problems += unreadable_variables(os.environ)
    if problems:
        raise ConfigError(_report(problems))
    token = CONFIG_FILE.set(path)
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError(_report(_validation_problems(exc, toml_file))) from None
    except SettingsError as exc:  # a decoding failure the checks above did not foresee
        raise ConfigError(_report([str(exc)])) from None
    finally:
        CONFIG_FILE.reset(token)
    # The engine's own checks run now, not once the worker is up: the trailing windows'
    # bucket sizes, then the rest (SLA policy, currencies, labels).
    for check, setting in ((settings.series_specs, ("trailing_windows",)), (settings.engine_config, None)):
        try:
            check()
        except ConfigError as exc:
            where = describe_source(setting, toml_file) if setting else "settings"
            raise ConfigError(_report([f"{where}: {exc}"])) from None
    return settings


def _report(problems: list[str]) -> str:
    return "invalid configuration:\n" + "".join(f"  {p}\n" for p in problems) + DOCS_HINT


# -- the schema, as names ---------------------------------------------------------------------


def _model_of(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _is_mapping(annotation: Any) -> bool:
    return typing.get_origin(annotation) is dict


def _is_complex(annotation: Any) -> bool:
    """Read from the environment as JSON (pydantic-settings' rule for lists, dicts and models)."""
    return _model_of(annotation) is not None or typing.get_origin(annotation) in (list, dict, tuple, set)


def setting_names(model: type[BaseModel] = Settings) -> dict[tuple[str, ...], Any]:
    """Every settable path and its annotation: ('web',), ('web', 'port'), ('grace',) ..."""
    paths: dict[tuple[str, ...], Any] = {}
    for name, field in model.model_fields.items():
        paths[(name,)] = field.annotation
        sub = _model_of(field.annotation)
        if sub is not None:
            for sub_name, sub_field in sub.model_fields.items():
                paths[(name, sub_name)] = sub_field.annotation
    return paths


def env_name(path: tuple[str, ...]) -> str:
    """The environment variable of a setting's `path`: KPI_ + the path joined by the nested
    delimiter "__", upper case (("kafka", "bootstrap_servers") -> KPI_KAFKA__BOOTSTRAP_SERVERS)."""
    return ENV_PREFIX + NESTED.join(path).upper()


def _suggest(name: str, candidates: list[str]) -> str:
    match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"; did you mean {match[0]}?" if match else ""


# -- environment ------------------------------------------------------------------------------


def _is_setting_variable(upper: str, paths: dict[tuple[str, ...], Any]) -> bool:
    parts = tuple(upper[len(ENV_PREFIX):].lower().split(NESTED))
    if parts in paths:
        return True
    # KPI_SLA_TARGETS__URGENT=2h: one entry of a table setting.
    return len(parts) == 2 and _is_mapping(paths.get(parts[:1])) and bool(parts[1])


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A problem line for each KPI_* variable that names no setting (names compared upper-case)."""
    paths = setting_names()
    valid = sorted({env_name(p) for p in paths} | NON_SETTING_VARIABLES)
    problems = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in NON_SETTING_VARIABLES:
            continue
        if upper.startswith(NON_SETTING_PREFIXES) or _is_setting_variable(upper, paths):
            continue
        problems.append(f"{name}: not a setting{_suggest(upper, valid)}")
    return problems


_JSON_EXAMPLES = {list: '["5m","1h","24h"]', dict: '{"urgent":"4h"}'}


def unreadable_variables(environ: Mapping[str, str]) -> list[str]:
    """A problem line for each list or table setting whose variable is not JSON."""
    paths = setting_names()
    problems = []
    for name, value in sorted(environ.items()):
        parts = tuple(name.upper()[len(ENV_PREFIX):].lower().split(NESTED)) if name.upper().startswith(ENV_PREFIX) else ()
        annotation = paths.get(parts)
        if annotation is None or not _is_complex(annotation):
            continue
        try:
            json.loads(value)
        except ValueError:
            origin = typing.get_origin(annotation) or dict
            example = _JSON_EXAMPLES.get(origin, _JSON_EXAMPLES[dict])
            shown = value if len(value) <= 60 else value[:57] + "..."
            problems.append(f"{name}: {shown!r} is not JSON; write a {'list' if origin is list else 'table'} "
                            f"as JSON, e.g. {name}='{example}'")
    return problems


# -- the TOML file ----------------------------------------------------------------------------

_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


_KEY_PART = re.compile(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""")


def _key_parts(text: str) -> tuple[str, ...]:
    """('kafka', 'ssl') for `kafka.ssl`, `"kafka" . ssl` ..."""
    return tuple(part.strip("\"'") for part in _KEY_PART.findall(text))


class TomlFile:
    """A parsed TOML settings file and the line each key is written on (for messages)."""

    def __init__(self, path: str, data: dict[str, Any], lines: dict[tuple[str, ...], int]) -> None:
        self.path = path
        self.data = data
        self.lines = lines

    @classmethod
    def read(cls, path: str, source_label: str) -> TomlFile:
        """Raises ConfigError naming `source_label` (the flag or variable) or the file and line."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(_report([f"{source_label}: no such file"])) from None
        except IsADirectoryError:
            raise ConfigError(_report([f"{source_label}: is a directory, not a TOML file"])) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(_report([f"{source_label}: cannot read it: {exc}"])) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            # tomllib ends its message with "(at line N, column M)"; put the line up front.
            message = str(exc)
            where = re.search(r"\(at line (\d+), column (\d+)\)$", message)
            location = f"{path}:{where.group(1)}" if where else path
            reason = message[: where.start()].strip() if where else message
            raise ConfigError(_report([f"{location}: TOML syntax error: {reason}"
                                       + (f" (column {where.group(2)})" if where else "")])) from None
        return cls(path, data, cls._key_lines(text))

    @staticmethod
    def _key_lines(text: str) -> dict[tuple[str, ...], int]:
        lines: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), 1):
            header = _TABLE.match(line)
            if header:
                table = _key_parts(header.group(1))
                lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key:
                lines.setdefault(table + _key_parts(key.group(1)), number)
        return lines

    def where(self, path: tuple[str, ...]) -> str:
        """'FILE:LINE' of the key (or its nearest written parent), else 'FILE'."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return f"{self.path}:{line}"
        return self.path

    def has(self, path: tuple[str, ...]) -> bool:
        """Whether the file sets `path` (a table or a key within tables), e.g. ("kafka",
        "session_timeout")."""
        node: Any = self.data
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    def unknown_keys(self) -> list[str]:
        """One message per key of the file that is not a setting: where it is ("FILE:LINE"), its
        dotted path and the closest setting name if one is close (a typo); [] when every key is
        known."""
        valid = [".".join(p) for p in setting_names()]
        problems = []
        for path in self._walk(self.data, Settings, ()):
            dotted = ".".join(path)
            problems.append(f"{self.where(path)}: {dotted}: not a setting{_suggest(dotted, valid)}")
        return problems

    @classmethod
    def _walk(cls, table: dict[str, Any], model: type[BaseModel], prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        for key, value in table.items():
            field = model.model_fields.get(key)
            if field is None:
                yield (*prefix, key)
                continue
            sub = _model_of(field.annotation)
            if sub is not None and isinstance(value, dict):
                yield from cls._walk(value, sub, (*prefix, key))


# -- validation errors ------------------------------------------------------------------------


def _validation_problems(exc: ValidationError, toml_file: TomlFile | None) -> list[str]:
    paths = setting_names()
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = tuple(str(part) for part in error["loc"])
        # The deepest settable path of the error (a list item's error belongs to the list).
        setting = next((loc[:end] for end in range(len(loc), 0, -1) if loc[:end] in paths), loc[:1])
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{describe_source(setting, toml_file)}: {message}")
    return problems


def describe_source(setting: tuple[str, ...], toml_file: TomlFile | None) -> str:
    """Where the value of `setting` came from: the variable, 'FILE:LINE (key)' or the setting."""
    environ = {name.upper(): name for name in os.environ}
    for end in range(len(setting), 0, -1):  # KPI_WEB__PORT, else a JSON KPI_WEB
        name = environ.get(env_name(setting[:end]))
        if name is not None:
            return name
    entries = sorted(n for upper, n in environ.items() if upper.startswith(env_name(setting) + NESTED))
    if entries:
        return ", ".join(entries)
    if toml_file is not None and toml_file.has(setting):
        return f"{toml_file.where(setting)} ({'.'.join(setting)})"
    return ".".join(setting) or "settings"
