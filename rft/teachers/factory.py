"""`make_teacher(spec)`: `openai:<model>`, `anthropic:<model>`, `local:<path|alias>`."""

from __future__ import annotations

from rft.errors import TeacherError
from rft.teachers.base import Teacher
from rft.teachers.config import TeacherConfig

PROVIDERS = ("openai", "anthropic", "local")


def parse_spec(spec: str) -> tuple[str, str]:
    """('openai', 'gpt-4o') from 'openai:gpt-4o'; a bad spec is a TeacherError."""
    provider, sep, model = (spec or "").partition(":")
    provider = provider.strip().lower()
    model = model.strip()
    if not sep or not model:
        raise TeacherError(
            f"teacher '{spec}': expected PROVIDER:MODEL, e.g. openai:gpt-4o-mini, "
            "anthropic:claude-3-5-haiku-latest or local:smollm2-135m"
        )
    if provider not in PROVIDERS:
        raise TeacherError(
            f"teacher '{spec}': unknown provider '{provider}' (use one of: {', '.join(PROVIDERS)})"
        )
    return provider, model


def make_teacher(spec: str, options: TeacherConfig | None = None) -> Teacher:
    """Build a teacher; every problem with the spec, key or model is raised here, before a run starts."""
    options = options or TeacherConfig()
    provider, model = parse_spec(spec)
    spec = f"{provider}:{model}"
    if provider == "openai":
        from rft.teachers.openai_provider import OpenAITeacher

        return OpenAITeacher(spec, model, options)
    if provider == "anthropic":
        from rft.teachers.anthropic_provider import AnthropicTeacher

        return AnthropicTeacher(spec, model, options)
    from rft.teachers.local import LocalTeacher

    return LocalTeacher(spec, model, options)
