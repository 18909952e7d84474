"""CLI options built from config fields: a command declares its config model once and gets one
`--flag` per flat field (help text and default from the field's definition), plus the shared
`--config` and `--out` options. `config_command(Model)` wraps a command `fn(..., **flags)`."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import typer
from pydantic_core import PydanticUndefined

from rft.config import flat_fields


def config_option(panel: str | None = None) -> Any:
    """The shared `--config FILE` option."""
    return typer.Option(
        None,
        "--config",
        help="YAML/TOML file with any of these options; flags override it",
        rich_help_panel=panel,
    )


def out_option(panel: str | None = None) -> Any:
    """The shared `--out DIR` option of a command whose config has no `out` field (rft validate):
    its default and help from the one declaration, `StoreConfig.out`."""
    from rft.store.config import StoreConfig

    f = StoreConfig.model_fields["out"]
    return typer.Option(f.default, "--out", help=f.description, rich_help_panel=panel)


def _cli_type(annotation: Any) -> Any:
    """The type Typer parses for a field: Optional and Literal unwrapped (pydantic checks the value),
    a mapping as repeated NAME=VALUE items."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        # a field that also takes a list (`str | list[str]`) is a flag that may be repeated
        if any(typing.get_origin(a) is list for a in args):
            return list[str]
        return _cli_type(args[0])
    if typing.get_origin(annotation) is Literal:
        return str
    if typing.get_origin(annotation) is dict:
        return list[str]
    if annotation in (str, int, float, bool, Path):
        return annotation
    return str


def _shown(default: Any, override: dict[str, Any], name: str) -> str:
    value = override.get(name, default)
    if value is PydanticUndefined or value is None or value is False:
        return ""
    return f" (default: {value})"


def config_params(
    model: type,
    *,
    skip: tuple[str, ...] = (),
    defaults: dict[str, Any] | None = None,
    aliases: dict[str, list[str]] | None = None,
):
    """One Typer option parameter per flat field of `model` (default None: only given flags count);
    `defaults`: this command's own defaults (shown in the help); `aliases`: extra flag names."""
    params = []
    for name, f in flat_fields(model).items():
        if name in skip:
            continue
        text = (f.help or "") + _shown(f.info.default, defaults or {}, name)
        opt = typer.Option(None, *f.flags, *(aliases or {}).get(name, []), help=text, rich_help_panel=f.panel)
        params.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=_cli_type(f.info.annotation)
            )
        )
    return params


def config_command(
    model: type,
    *,
    skip: tuple[str, ...] = (),
    defaults: dict[str, Any] | None = None,
    aliases: dict[str, list[str]] | None = None,
    first: bool = True,
) -> Callable[[Callable], Callable]:
    """Give a command `fn(<own params>, **flags)` the model's options: Typer sees one signature, the
    function gets the model's flags in `flags`. `first`: the model's options come before its own."""

    def wrap(fn: Callable) -> Callable:
        hints = typing.get_type_hints(fn)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in inspect.signature(fn).parameters.values()
            if p.kind is not p.VAR_KEYWORD
        ]
        own = [p.replace(kind=p.KEYWORD_ONLY) if p.default is not p.empty else p for p in own]
        args = [p for p in own if p.default is p.empty or isinstance(p.default, typer.models.ArgumentInfo)]
        opts = [p for p in own if p not in args]
        generated = config_params(model, skip=skip, defaults=defaults, aliases=aliases)
        params = [*args, *(generated + opts if first else opts + generated)]
        params = [p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params]
        fn.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        fn.__annotations__ = {**hints, **{p.name: p.annotation for p in generated}}
        return fn

    return wrap


def given(model: type, flags: dict[str, Any], parsers: dict[str, Callable] | None = None) -> dict[str, Any]:
    """The flags that were given, with mapping fields parsed from their NAME=VALUE items."""
    table = flat_fields(model)
    out: dict[str, Any] = {}
    for name, value in flags.items():
        if value is None or value == []:
            continue
        if name in (parsers or {}):
            value = parsers[name](value)  # type: ignore[index]
        elif name in table and typing.get_origin(_unwrap(table[name].info.annotation)) is dict:
            raise TypeError(f"{name}: a mapping flag needs a parser")
        out[name] = value
    return out


def _unwrap(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return args[0]
    return annotation
