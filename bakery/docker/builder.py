"""The selected buildx builder as `docker buildx inspect` and `docker info` describe it: its
name, driver and image store, and what each lets a bake do (`bakery.bake.builder` adapts a
bake to it)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class BuilderInfo:
    """The selected builder: its name and driver (`docker buildx inspect`), and whether its
    engine keeps images in the containerd image store (None: unknown)."""

    name: str
    driver: str
    containerd_store: bool | None
    # the builder's node runs in the host's network (docker-container `network=host`): it
    # reaches a registry on the host's loopback
    host_network: bool = False

    @property
    def reaches_loopback(self) -> bool:
        return self.driver == "docker" or self.host_network

    @property
    def store(self) -> str:
        if self.containerd_store is None:
            return "unknown image store"
        return "containerd image store" if self.containerd_store else "classic image store"

    @property
    def classic(self) -> bool:
        return self.containerd_store is False

    @property
    def cache_export(self) -> bool:
        return not (self.driver == "docker" and self.classic)

    @property
    def attestations(self) -> bool:
        return not (self.driver == "docker" and self.classic)

    @property
    def load_attestations(self) -> bool:
        return not self.classic

    @property
    def multi_platform(self) -> bool:
        return not (self.driver == "docker" and self.classic)


def parse_inspect(output: str, fallback_name: str | None) -> tuple[str, str | None, bool]:
    """(builder name, driver, whether its nodes use the host's network) from `docker buildx
    inspect` output (driver None if unsaid)."""
    name, driver, nodes = fallback_name or "default", None, False
    host_network = False
    for line in output.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "Nodes":
            nodes = True  # node sections repeat `Name:`
        elif not nodes and key == "Name" and value:
            name = value
        elif not nodes and key == "Driver" and value:
            driver = value
        elif nodes and key == "Driver Options" and re.search(r'\bnetwork="?host\b', value):
            host_network = True
    return name, driver, host_network
