"""Image references as small immutable values, validated before anything runs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bakery.errors import ConfigError

TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# distribution/reference: lowercase path components separated by '/', optional registry host
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_HOST = re.compile(
    r"^(?:localhost|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*"
    r"[a-zA-Z0-9])?)*)(?::[0-9]+)?$"
)
MAX_NAME_LENGTH = 255


def normalize_version(version: str) -> str:
    """Spell a version the way tags do: `+` is illegal in tags and becomes `.`."""
    return version.replace("+", ".")


def tag_problem(tag: str) -> str | None:
    """Why `tag` is not a valid Docker tag, or None when it is."""
    if not tag:
        return "a tag cannot be empty"
    if len(tag) > 128:
        return f"a tag is at most 128 characters, this one has {len(tag)}"
    if not TAG_PATTERN.match(tag):
        return "a tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
    return None


def repository_problem(repository: str) -> str | None:
    """Why `repository` is not a valid repository name, or None when it is."""
    if not repository:
        return "a repository name cannot be empty"
    if len(repository) > MAX_NAME_LENGTH:
        return f"a repository name is at most {MAX_NAME_LENGTH} characters"
    parts = repository.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        if not _HOST.match(parts[0]):
            return f"{parts[0]!r} is not a valid registry host"
        parts = parts[1:]
    for part in parts:
        if not _COMPONENT.match(part):
            if part.lower() != part:
                return f"path component {part!r} must be lowercase"
            return f"path component {part!r} must match [a-z0-9]+ joined by '.', '_', '__' or '-'"
    return None


@dataclass(frozen=True, order=True)
class ImageRef:
    """`repository:tag`, both validated."""

    repository: str
    tag: str

    def __post_init__(self) -> None:
        problem = repository_problem(self.repository) or tag_problem(self.tag)
        if problem is None and len(str(self)) > MAX_NAME_LENGTH:
            problem = f"the full name is at most {MAX_NAME_LENGTH} characters"
        if problem:
            raise ValueError(f"{self.repository}:{self.tag!s} is not a valid image name: {problem}")

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}"

    @classmethod
    def parse(cls, text: str, *, where: str = "") -> ImageRef:
        """Parse `repo[:tag]` (tag defaults to `latest`); ConfigError naming `where` if invalid."""
        slash = text.rfind("/")
        colon = text.rfind(":")
        if colon > slash:
            repository, tag = text[:colon], text[colon + 1 :]
        else:
            repository, tag = text, "latest"
        try:
            return cls(repository, tag)
        except ValueError as exc:
            prefix = f"{where}: " if where else ""
            raise ConfigError(f"{prefix}{exc}") from None
