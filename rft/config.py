"""The one config loader of every command: `load_config(Model, file, flags)`.

A stage's config is a pydantic model beside its code (rft/generate/config.py, rft/validate/config.py),
built from nested parts (a `TeacherConfig`, a `SearchConfig`, ...). It lists those parts in `PARTS`;
each field of a part has a flat name (the CLI flag with `_` for `-`), so config files may be flat
(`branches: 5`, as the flags are) or nested (`search: {branches: 5}`), and `flat()` gives the flat
view (run identity, manifests). Precedence: the file, then the flags that were given (not None).

The resolved config goes with the output: a command that seals a version records it in the manifest;
one that writes a plain file writes `<output>.config.yaml` beside it (`config_beside`), in the form
`--config` loads back (`config_text`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml
from pydantic import BaseModel, ValidationError, model_validator
from pydantic.fields import FieldInfo

from rft.errors import ConfigError, RftError

M = TypeVar("M", bound=BaseModel)


def comma_list(value: Any) -> Any:
    """`a,b` -> ["a", "b"]: a list field given as one comma-separated string (a flag); other values as
    they are, for pydantic to check."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


@dataclass(frozen=True)
class Part:
    """One nested part of a config (`attr`; None: the config's own fields) and how its fields are
    named flat: `prefix` + field name, or `rename`; `only`: the fields that have a flat name (the
    others are set in a config file's nested section)."""

    attr: str | None
    panel: str | None = None
    prefix: str = ""
    rename: dict[str, str] = field(default_factory=dict)
    only: tuple[str, ...] | None = None
    help: dict[str, str] = field(default_factory=dict)  # help of a field here, when not its description
    requires: tuple[str, str] | None = None  # (field, message): the part, when given, must set this field


@dataclass(frozen=True)
class Flat:
    """A config field under its flat name: where it lives, its definition, its CLI flags."""

    name: str
    path: tuple[str, ...]
    info: FieldInfo
    panel: str | None
    flags: tuple[str, ...]
    help: str | None


def flat_fields(model: type[BaseModel]) -> dict[str, Flat]:
    """Flat name -> field, for every part of `model` (a model without PARTS is one flat part)."""
    table: dict[str, Flat] = {}
    for part in getattr(model, "PARTS", (Part(None),)):
        sub = model if part.attr is None else _part_model(model, part.attr)
        for fname, info in sub.model_fields.items():
            if part.attr is None and fname in _part_attrs(model):
                continue
            if info.exclude or (part.only is not None and fname not in part.only):
                continue
            flat = part.rename.get(fname) or part.prefix + fname
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            own = extra.get("flag")  # a flag not named like the field, e.g. --timeout for timeout_s
            if fname in part.rename or not own:
                flags = ["--" + flat.replace("_", "-")]
            else:
                flags = [own.replace("--", "--" + part.prefix.replace("_", "-"), 1)]
            flags += extra.get("aliases", [])
            path = (fname,) if part.attr is None else (part.attr, fname)
            panel = extra.get("panel") or part.panel
            help_ = part.help.get(fname, info.description)
            table[flat] = Flat(flat, path, info, panel, tuple(flags), help_)  # type: ignore[arg-type]
    return table


def _part_attrs(model: type[BaseModel]) -> set[str]:
    return {p.attr for p in getattr(model, "PARTS", ()) if p.attr}


def _part_model(model: type[BaseModel], attr: str) -> type[BaseModel]:
    ann = model.model_fields[attr].annotation
    for t in (ann, *getattr(ann, "__args__", ())):
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
    raise TypeError(f"{model.__name__}.{attr} is not a config part")


class StageConfig(BaseModel):
    """Base of a stage config: accepts flat keys (flags' names) beside nested parts."""

    PARTS: ClassVar[tuple[Part, ...]] = (Part(None),)
    SECTION: ClassVar[str | None] = None  # a config file may hold it under this table/section

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = cls.nest(data)
        for part in cls.PARTS:
            given = data.get(part.attr) if part.attr else None
            if part.requires and isinstance(given, dict) and given and part.requires[0] not in given:
                raise ValueError(part.requires[1])
        return data

    @classmethod
    def nest(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Flat keys moved into their parts; nested sections merged; unknown keys left for pydantic."""
        table = flat_fields(cls)
        parts = _part_attrs(cls)
        out: dict[str, Any] = {}
        for key, value in data.items():
            key = str(key).replace("-", "_")
            if key in parts and isinstance(value, dict):
                out.setdefault(key, {}).update({str(k).replace("-", "_"): v for k, v in value.items()})
            elif key in table and len(table[key].path) == 2:
                attr, fname = table[key].path
                if (
                    value is None
                    and not cls.model_fields[attr].is_required()
                    and cls.model_fields[attr].default is None
                ):
                    continue  # an optional part (the judge) is absent while its flat keys are None
                sect = out.setdefault(attr, {})
                if isinstance(sect, dict):
                    sect[fname] = value
            else:
                out[key] = value
        return out

    def flat(self) -> dict[str, Any]:
        """The config under its flat names (JSON values); parts set to None give None."""
        data = self.model_dump(mode="json")
        flat: dict[str, Any] = {}
        for name, f in flat_fields(type(self)).items():
            value: Any = data
            for step in f.path:
                value = value.get(step) if isinstance(value, dict) else None
            flat[name] = value
        return flat

    def resolved(self) -> dict[str, Any]:
        """The config as a config file holds it: every field under its flat name (what manifests
        record), and the settings of a part that have no flat name, where they were set, in the
        part's section. `load_config` gives back an equal config."""
        data = self.flat()
        table = flat_fields(type(self))
        named = {f.path for f in table.values()}
        for attr in _part_attrs(type(self)):
            sub = getattr(self, attr)
            if isinstance(sub, BaseModel):
                rest = {
                    k: v
                    for k, v in sub.model_dump(mode="json", exclude_unset=True).items()
                    if (attr, k) not in named
                }
                if rest:
                    own = table.get(attr)  # a part's flat name may be the part's own (`teacher`: its spec)
                    if own is not None and len(own.path) == 2 and own.path[0] == attr:
                        rest = {own.path[1]: data[attr], **rest}
                    data[attr] = rest
        return data

    def flags_given(self) -> set[str]:
        """Flat names of the fields that were set (by a file or a flag), not left at their default."""
        given = set()
        for name, f in flat_fields(type(self)).items():
            node: Any = self
            for step in f.path:
                if node is None or step not in node.model_fields_set:
                    break
                node = getattr(node, step)
            else:
                given.add(name)
        return given


def read_config_file(path: str | Path, section: str | None = None) -> dict[str, Any]:
    """A YAML or TOML config file as a dict. ConfigError naming the file otherwise."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--config: cannot read {p}: {exc.strerror or exc}") from exc
    try:
        if p.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text) or {}
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"{p}: not valid {'TOML' if p.suffix.lower() == '.toml' else 'YAML'}: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping of options at the top level")
    if section and isinstance(data.get(section), dict):  # a [generate] table / generate: section
        data = data[section]
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def load_config(
    model: type[M], file: str | Path | None, flags: dict[str, Any], defaults: dict[str, Any] | None = None
) -> M:
    """`model` from a command's own `defaults` (flat keys), then a config file's values, then the
    flags that were given (not None). Errors are one line naming the flag and where its value came
    from (the file or the command line)."""
    nest = getattr(model, "nest", lambda d: d)
    data: dict[str, Any] = {}
    origins: dict[tuple[str, ...], str] = {}  # nested path -> the file or "command line"
    file_layer = read_config_file(file, getattr(model, "SECTION", None)) if file else {}
    layers = [("default", defaults or {}), (str(file), file_layer), ("command line", flags)]
    for origin, layer in layers:
        for key, value in nest({k: v for k, v in layer.items() if v is not None}).items():
            if isinstance(value, dict) and isinstance(data.get(key), dict) and key in _part_attrs(model):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
            if isinstance(value, dict) and key in _part_attrs(model):
                origins.update({(key, str(k)): origin for k in value})
            origins[(key,)] = origin
    fallback = str(file) if file else "command line"
    required = [f for f in flat_fields(model).values() if f.info.is_required()]
    for f in required:
        if _get(data, f.path) is None:
            raise ConfigError(f"{f.flags[0]} is required ({f.info.description})")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise config_error(model, exc, fallback, origins) from exc
    except RftError as exc:  # a check of the config's own ("--limit: must be >= 0"): name the file
        where = _origin_of_message(model, str(exc), origins)
        if file and where == str(file):
            raise type(exc)(f"{exc} ({file})") from exc
        raise


def config_error(
    model: type[BaseModel],
    exc: ValidationError,
    origin: str,
    origins: dict[tuple[str, ...], str] | None = None,
) -> ConfigError:
    """The first error of a validation as one line: `--flag (origin): message`; `origins`: where each
    value came from (nested path -> file or "command line"), else `origin` for all."""
    first = exc.errors()[0]
    loc = tuple(str(x) for x in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    where = (origins or {}).get(loc[:2]) or (origins or {}).get(loc[:1]) or origin
    if where == "default":
        where = origin
    if first["type"] == "extra_forbidden":
        return ConfigError(f"{where}: unknown option {'.'.join(loc)!r}")
    if not loc:  # a rule across options: its message names them
        return ConfigError(f"{msg} ({origin})")
    by_path = {f.path: f.flags[0] for f in flat_fields(model).values()}
    flag = by_path.get(loc[:2]) or by_path.get(loc[:1]) or "--" + loc[-1].replace("_", "-")
    return ConfigError(f"{flag} ({where}): {msg}")


def _origin_of_message(
    model: type[BaseModel], message: str, origins: dict[tuple[str, ...], str]
) -> str | None:
    """Where the value of the flag a message starts with (`--limit: ...`) came from, if known."""
    head = message.split(maxsplit=1)[0].rstrip(":,") if message.startswith("--") else ""
    for f in flat_fields(model).values():
        if head in f.flags:
            return origins.get(f.path)
    return None


def config_beside(output: str | Path) -> Path:
    """Where a command that writes `output` (a file, not a store version) saves its resolved config:
    `<output>.config.yaml`, beside it."""
    p = Path(output)
    return p.with_name(p.name + ".config.yaml")


def config_text(cfg: BaseModel, header: list[str] | tuple[str, ...] = ()) -> str:
    """`cfg` as a YAML config file that `--config` loads back into an equal config: `header` as
    comment lines, then the resolved values (flat names; a part's settings without a flag in its
    section)."""
    data = cfg.resolved() if isinstance(cfg, StageConfig) else cfg.model_dump(mode="json")
    lines = [f"# {line}" for line in header]
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return "\n".join([*lines, body]) if lines else body


def _get(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    for step in path:
        data = data.get(step) if isinstance(data, dict) else None  # type: ignore[assignment]
    return data
