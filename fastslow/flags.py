"""Command-line flags declared once, on the config dataclasses that the workflows take.

A field becomes a flag when its metadata says how (``arg(help=...)``), as TRL's and litgpt's
configs do; its help, type, default and choices come from that one place, so the CLI and the
Python API cannot drift apart. A nested dataclass field (a recipe's ``TrainConfig``) adds its own
flags in a group of their own. Built on argparse; ``transformers.HfArgumentParser`` was the other
candidate, but it has no repeatable ``--knob KEY=VALUE`` flags building a dict, which every
command here takes.

    @dataclass
    class EvalConfig:
        limit: int | None = field(default=None, metadata=arg("number of examples", parse=positive))

    add_flags(parser, EvalConfig)            # --limit, with its help and default
    config = from_flags(EvalConfig, args)    # the dataclass, defaults for flags not given
"""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, Field, fields, is_dataclass, replace
from typing import Any

from fastslow.errors import FastslowError


def arg(
    help: str,
    *,
    flag: str | None = None,
    aliases: tuple[str, ...] = (),
    metavar: str | None = None,
    parse: Callable[[Any], Any] | None = None,
    repeat: bool = False,
    choices: tuple[str, ...] | None = None,
    positional: bool = False,
    nargs: str | None = None,
    show_default: bool = True,
) -> dict[str, Any]:
    """Field metadata that makes a dataclass field a command-line flag.

    ``flag``: the flag's name (default ``--field-name``); ``aliases``: other names it answers to;
    ``parse``: turns the string (or, with ``repeat``, the list of strings) into the field's value,
    raising ValueError or FastslowError with a message for the user; ``repeat``: the flag may be
    given several times; ``positional``: an argument without a flag name.
    """
    return {
        "cli": {
            "help": help,
            "flag": flag,
            "aliases": aliases,
            "metavar": metavar,
            "parse": parse,
            "repeat": repeat,
            "choices": choices,
            "positional": positional,
            "nargs": nargs,
            "show_default": show_default,
        }
    }


# -- parsers for common value shapes ----------------------------------------------------------------
def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise ValueError(f"must be a positive integer, got {value}")
    return value


def key_values(items: list[str] | None, flag: str = "") -> dict[str, str]:
    """``["a=1", "b=2"]`` -> ``{"a": "1", "b": "2"}``."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise FastslowError(f"{flag + ' ' if flag else ''}{item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def key_value_field(help: str, flag: str, metavar: str = "KEY=VALUE") -> Any:
    """A dict field set by a repeatable ``--flag KEY=VALUE`` (task knobs, data files by name)."""
    from dataclasses import field

    return field(
        default_factory=dict,
        metadata=arg(
            f"{help} (repeatable)",
            flag=flag,
            repeat=True,
            parse=lambda items: key_values(items, flag),
            metavar=metavar,
        ),
    )


def param_field(help: str) -> Any:
    """The repeatable ``--param [METHOD.]KEY=VALUE`` of the commands that run strategies."""
    from dataclasses import field

    return field(
        default_factory=list,
        metadata=arg(
            help,
            flag="--param",
            repeat=True,
            parse=lambda items: list(items or []),
            metavar="[METHOD.]KEY=VALUE",
        ),
    )


def comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


# -- building the parser -----------------------------------------------------------------------------
def _cli(f: Field) -> dict[str, Any] | None:
    return f.metadata.get("cli")


def _unwrap_optional(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _default_of(f: Field, defaults: Any) -> Any:
    if defaults is not None:
        return getattr(defaults, f.name)
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return MISSING


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _converter(parse: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except (ValueError, FastslowError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name  # argparse names the type in its messages
    return convert


def add_flags(parser: Any, cls: type, defaults: Any = None) -> None:
    """Add a flag (or positional argument) for every field of ``cls`` that has ``arg`` metadata.

    ``defaults``: an instance whose values are shown as the defaults (a recipe's own choice for a
    nested config); by default the dataclass's.
    """
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        spec = _cli(f)
        if spec is None:
            continue
        annotation = _unwrap_optional(hints[f.name])
        default = _default_of(f, defaults)
        if isinstance(annotation, type) and is_dataclass(annotation):
            group = parser.add_argument_group(spec["help"])
            add_flags(group, annotation, default if default is not MISSING else None)
            continue
        kwargs: dict[str, Any] = {"help": spec["help"], "default": argparse.SUPPRESS}
        show = spec["show_default"] and not (
            default is MISSING or default is None or default is False or default in ([], {}, "")
        )
        if show:
            kwargs["help"] += f" (default: {_show(default)})"
        if spec["metavar"]:
            kwargs["metavar"] = spec["metavar"]
        choices = spec["choices"]
        if choices is None and typing.get_origin(annotation) is typing.Literal:
            choices = typing.get_args(annotation)
        if choices:
            kwargs["choices"] = list(choices)
        if spec["positional"]:
            if spec["nargs"]:
                kwargs["nargs"] = spec["nargs"]
            if default is not MISSING:
                kwargs["nargs"] = kwargs.get("nargs", "?")
                kwargs["default"] = default
            parser.add_argument(f.name, **kwargs)
            continue
        names = [spec["flag"] or "--" + f.name.replace("_", "-"), *spec["aliases"]]
        kwargs["dest"] = f.name
        if default is MISSING:
            kwargs["required"] = True
        if annotation is bool and not spec["repeat"]:
            kwargs.pop("metavar", None)
            kwargs["action"] = argparse.BooleanOptionalAction if default is True else "store_true"
        elif spec["repeat"]:
            kwargs["action"] = "append"
        else:
            if choices and all(isinstance(c, str) for c in choices):
                annotation = str
            parse = spec["parse"] or (annotation if annotation in (int, float, str) else None)
            if parse is None:
                raise TypeError(f"{cls.__name__}.{f.name}: give arg(parse=...) for type {annotation}")
            if parse is not str:
                kwargs["type"] = _converter(parse, getattr(parse, "__name__", "value"))
        parser.add_argument(*names, **kwargs)


def from_flags(cls: type, args: argparse.Namespace, defaults: Any = None) -> Any:
    """The ``cls`` instance the parsed ``args`` describe: flags not given keep their defaults
    (``defaults``' values for a nested config)."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in fields(cls):
        spec = _cli(f)
        if spec is None:
            continue
        annotation = _unwrap_optional(hints[f.name])
        if isinstance(annotation, type) and is_dataclass(annotation):
            default = _default_of(f, defaults)
            values[f.name] = from_flags(annotation, args, default if default is not MISSING else None)
            continue
        if not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        if spec["repeat"] and spec["parse"] is not None:
            value = spec["parse"](value)
        values[f.name] = value
    if defaults is not None:
        return replace(defaults, **values)
    return cls(**values)
