"""Tag templates from matrix.toml (`ratio1/base_edge_node:{machine}-{tag}`) and their fields."""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping

from bakery.errors import ConfigError
from bakery.suggest import did_you_mean, known

#: Every placeholder a legacy or compatibility tag template may use.
TEMPLATE_FIELDS = (
    "namespace",  # ratio1
    "image",  # base_edge_node_amd64_gpu
    "repo",  # ratio1/base_edge_node_amd64_gpu
    "tag",  # the primary tag, e.g. py3.13.9-th2.9.1.cu128-tr4.57.1
    "arch",  # amd64 / arm64
    "machine",  # x86_64 / aarch64
    "python",  # 3.13.9
    "python_minor",  # 3.13
    "torch",  # 2.9.1.cu128 (normalized)
    "transformers",  # 4.57.1
    "accelerator",  # cpu / cuda
    "id",  # the target id
)


def placeholders(template: str) -> list[str]:
    """The placeholder names in a template; ValueError on broken braces."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def check_template(template: str, *, where: str, fields: tuple[str, ...] = TEMPLATE_FIELDS) -> None:
    """Raise ConfigError when a template has broken braces or an unknown placeholder."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"{where}: invalid tag template {template!r}: {exc}") from None
    for _, name, spec, conversion in parts:
        if name is not None and (spec or conversion):
            extra = (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            shown = f"{{{name}{extra}}}"
            raise ConfigError(
                f"{where}: {shown} in template {template!r}: placeholders take no format"
                f" spec or conversion; write {{{name}}}"
            )
    names = [name for _, name, _, _ in parts if name is not None]
    for name in names:
        if name not in fields:
            raise ConfigError(
                f"{where}: unknown placeholder {{{name}}} in tag template {template!r}"
                f"{did_you_mean(name, fields)}; {known(fields)}"
            )


def fill(template: str, values: Mapping[str, str]) -> str:
    """Fill a checked template."""
    return template.format_map(values)


def is_floating(template: str) -> bool:
    """A legacy or compatibility name floats when its tag is fixed text that no build pins
    (`ratio1/base_edge_node_amd64:latest`, `acme/edge:stable`; no tag means `latest`): such a
    name moves with `latest`. A tag with a placeholder (`{machine}-{tag}`) names one build."""
    last = template.rpartition("/")[2]
    _, colon, tag = last.rpartition(":")
    return not colon or not _has_placeholders(tag)


# Cached: every image of a matrix tends to use the same tag part (`{machine}-{tag}`).
@functools.lru_cache(maxsize=256)
def _has_placeholders(text: str) -> bool:
    return bool(placeholders(text))
