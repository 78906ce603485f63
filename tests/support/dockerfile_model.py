"""A model of the images' Dockerfiles, BuildKit's stage resolution and their shell text, for
static tests (tests/images/test_dockerfiles.py). No engine runs.

* `load(path)`: a Dockerfile read with dockerfile_parse into global ARGs and stages of
  `Instruction`s (with their `--flag=value` options, mounts, `COPY --from`).
* `chain(target, targets)`: an image target of the rendered docker-bake.hcl followed from its
  Dockerfile's last stage down to the base image, through local stages and bake named contexts
  (`contexts = { x = "target:..." }`), as BuildKit resolves them, each `Link` with the build
  args it gets and the shell it starts with; `all_links` adds the shared builder stages it reads.
* `effective_config(links)`: the ENV/ENTRYPOINT/CMD/SHELL the image ends up with.
* `simple_commands(text)`: the simple commands of a line of shell, a static approximation;
  `script_lines`, `run_commands`: every RUN line and every line of the scripts they run.
* `run_in_shell(link, ins, env)`: run a RUN line's exact text with its bind mounts pointed into
  the repository; `ignored_by_dockerignore(path)`.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from dockerfile_parse import DockerfileParser

from tests.support.repo import ROOT

SHARED = "images/shared/Dockerfile"
DEFAULT_SHELL = ("/bin/sh", "-c")

# `--name=value` or a bare `--name` (COPY --link)
_FLAG = re.compile(r"^--[a-z-]+(=\S+)?(\s+|$)")


@dataclass(frozen=True)
class Instruction:
    kind: str
    value: str
    line: int
    dockerfile: str
    stage: str

    def where(self) -> str:
        return f"{self.dockerfile}:{self.line + 1} ({self.stage}) {self.kind}"

    def split(self) -> tuple[list[str], str]:
        """The `--flag=value` and `--flag` options of a RUN/COPY and the rest."""
        text, flags = self.value.strip(), []
        while m := _FLAG.match(text):
            flags.append(m.group(0).strip())
            text = text[m.end():]
        return flags, text

    def mounts(self) -> list[dict[str, str]]:
        return [
            dict(kv.split("=", 1) for kv in flag.removeprefix("--mount=").split(","))
            for flag in self.split()[0]
            if flag.startswith("--mount=")
        ]

    def copy_from(self) -> str | None:
        for flag in self.split()[0]:
            if flag.startswith("--from="):
                return flag.removeprefix("--from=")
        return None


@dataclass
class Stage:
    name: str
    index: int
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def of(self, kind: str) -> list[Instruction]:
        return [i for i in self.instructions if i.kind == kind]

    def args(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for ins in self.of("ARG"):
            out.update(parse_arg(ins.value))
        return out

    def shell_at(self, ins: Instruction, inherited: tuple[str, ...]) -> tuple[str, ...]:
        shell = inherited
        for other in self.instructions:
            if other is ins:
                return shell
            if other.kind == "SHELL":
                shell = tuple(json.loads(other.value))
        raise ValueError(f"{ins.where()} is not in stage {self.name}")

    def final_shell(self, inherited: tuple[str, ...]) -> tuple[str, ...]:
        shells = self.of("SHELL")
        return tuple(json.loads(shells[-1].value)) if shells else inherited

    def reads(self) -> set[str]:
        """What the stage builds on: its base and every COPY --from / RUN --mount from=."""
        names = {self.base}
        for ins in self.instructions:
            if ins.kind == "COPY" and (source := ins.copy_from()):
                names.add(source)
            names.update(m["from"] for m in ins.mounts() if "from" in m)
        return names


@dataclass
class Dockerfile:
    path: str
    text: str
    global_args: dict[str, str | None]
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(f"{self.path} has no stage {name!r}")

    def has_stage(self, name: str) -> bool:
        return any(stage.name == name for stage in self.stages)

    def instructions(self, kind: str | None = None) -> list[Instruction]:
        return [i for s in self.stages for i in s.instructions if kind in (None, i.kind)]

    def closure(self, name: str) -> list[Stage]:
        """The stage and every local stage it reads, dependencies first."""
        seen: list[Stage] = []

        def visit(stage_name: str) -> None:
            if not self.has_stage(stage_name) or stage_name in {s.name for s in seen}:
                return
            stage = self.stage(stage_name)
            for dep in sorted(stage.reads()):
                visit(dep)
            seen.append(stage)

        visit(name)
        return seen

    def declared_args(self, stages: list[Stage]) -> dict[str, str | None]:
        out = dict(self.global_args)
        for stage in stages:
            out.update(stage.args())
        return out


def parse_arg(value: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for word in shlex.split(value):
        name, eq, default = word.partition("=")
        out[name] = default if eq else None
    return out


def parse_env(value: str) -> dict[str, str]:
    out = {}
    for word in shlex.split(value):
        name, eq, val = word.partition("=")
        assert eq, f"ENV {value!r} is not in key=value form (LegacyKeyValueFormat)"
        out[name] = val
    return out


@cache
def load(path: str) -> Dockerfile:
    text = (ROOT / path).read_text()
    parser = DockerfileParser(path=str(ROOT / path), env_replace=False)
    global_args: dict[str, str | None] = {}
    stages: list[Stage] = []
    for item in parser.structure:
        kind, value = item["instruction"], item["value"]
        if kind == "COMMENT":
            continue
        if kind == "FROM":
            words = [w for w in value.split() if not w.startswith("--")]
            named = len(words) == 3 and words[1].upper() == "AS"
            stages.append(Stage(words[2] if named else str(len(stages)), len(stages), words[0]))
        elif not stages:
            assert kind == "ARG", f"{path}: {kind} before the first FROM"
            global_args.update(parse_arg(value))
        else:
            stage = stages[-1]
            stage.instructions.append(Instruction(kind, value, item["startline"], path, stage.name))
    return Dockerfile(path, text, global_args, stages)


@dataclass(frozen=True)
class Link:
    """A stage an image is made of, the build args it gets and the shell it starts with."""

    dockerfile: Dockerfile
    stage: Stage
    args: dict[str, str]
    shell_in: tuple[str, ...]


def chain(target: dict[str, Any], targets: dict[str, dict[str, Any]]) -> tuple[str, list[Link]]:
    """(base image, stages from the base image up to the target's image) of a bake target."""
    links: list[Link] = []

    def walk(path: str, stage: Stage, args: dict[str, str], contexts: dict[str, str]) -> str:
        dockerfile = load(path)
        if dockerfile.has_stage(stage.base):
            base_stage = dockerfile.stage(stage.base)
            assert base_stage.index < stage.index, f"{path}: {stage.name} before its base"
            image = walk(path, base_stage, args, contexts)
        elif stage.base in contexts:
            ref = contexts[stage.base]
            assert ref.startswith("target:"), f"context {stage.base}={ref!r} is no bake target"
            inner = targets[ref.removeprefix("target:")]
            image = walk(
                inner["dockerfile"],
                load(inner["dockerfile"]).stage(inner["target"]),
                dict(inner.get("args", {})),
                dict(inner.get("contexts", {})),
            )
        else:
            values = {k: v or "" for k, v in dockerfile.global_args.items()} | args
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values[m[1] or m[2]], stage.base)
        shell_in = (
            links[-1].stage.final_shell(links[-1].shell_in) if links else DEFAULT_SHELL
        )
        links.append(Link(dockerfile, stage, args, shell_in))
        return image

    path = target["dockerfile"]
    last = load(path).stages[-1]
    return walk(path, last, dict(target.get("args", {})), dict(target.get("contexts", {}))), links


def local_shell_in(dockerfile: Dockerfile, stage: Stage) -> tuple[str, ...]:
    """The shell a stage starts with when it builds on another stage of the same file."""
    if dockerfile.has_stage(stage.base):
        base = dockerfile.stage(stage.base)
        return base.final_shell(local_shell_in(dockerfile, base))
    return DEFAULT_SHELL


def all_links(target: dict[str, Any], targets: dict[str, dict[str, Any]]) -> list[Link]:
    """The image's chain plus every shared builder stage it copies from (same build args)."""
    _, links = chain(target, targets)
    out = list(links)
    for link in links:
        if link.dockerfile.path == SHARED:
            for stage in link.dockerfile.closure(link.stage.name):
                if all(stage is not known.stage for known in out):
                    shell = local_shell_in(link.dockerfile, stage)
                    out.append(Link(link.dockerfile, stage, link.args, shell))
    return out


def effective_config(links: list[Link]) -> dict[str, Any]:
    env: dict[str, str] = {}
    config: dict[str, Any] = {"env": env, "entrypoint": None, "cmd": None, "shell": None}
    for link in links:
        for ins in link.stage.instructions:
            if ins.kind == "ENV":
                env.update(parse_env(ins.value))
            elif ins.kind in ("ENTRYPOINT", "CMD", "SHELL"):
                config[ins.kind.lower()] = json.loads(ins.value)
                if ins.kind == "ENTRYPOINT":
                    config["cmd"] = None  # as Docker does: a new ENTRYPOINT drops the CMD
    return config


def simple_commands(script: str, *, keep_env: bool = False) -> list[list[str]]:
    """The simple commands of a one-line shell script as word lists (a static approximation:
    split at ; & | && || ( ) and at keywords that start a compound command)."""
    script = script.replace("$(", " ( ")  # command substitutions are commands too
    lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    keywords = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for",
                "case", "esac", "!", "{", "}"}
    commands: list[list[str]] = []
    current: list[str] = []
    for token in lexer:
        if set(token) <= set(";&|()") or (not current and token in keywords):
            if current:
                commands.append(current)
            current = []
        else:
            current.append(token)
    if current:
        commands.append(current)
    if keep_env:
        return commands
    # drop leading VAR=value assignments, keep the program and its arguments
    return [c[next((i for i, w in enumerate(c) if "=" not in w or w.startswith("-")), len(c)):]
            for c in commands]


def script_lines(path: Path) -> list[str]:
    """A shell script's logical lines (continuations joined, comments and heredoc text kept
    out of the way of the command parser)."""
    text = path.read_text().replace("\\\n", " ")
    lines, heredoc = [], None
    for line in text.splitlines():
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        if m := re.search(r"<<-?\s*'?(\w+)'?", line):
            heredoc = m[1]
        if line.strip() and not line.lstrip().startswith("#"):
            lines.append(line)
    return lines


def shell_scripts() -> list[Path]:
    """The scripts the Dockerfiles run (images/shared); other scripts under images/ are tools
    for people, not build steps."""
    return sorted(ROOT.glob("images/shared/**/*.sh"))


def dockerfiles() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("images/**/Dockerfile"))


def run_commands() -> list[tuple[str, str]]:
    """(where, shell text) of every RUN line and every line of the scripts they run."""
    out = [(ins.where(), ins.split()[1]) for path in dockerfiles()
           for ins in load(path).instructions("RUN")]
    out += [(f"{script.relative_to(ROOT)}", line) for script in shell_scripts()
            for line in script_lines(script)]
    return out


def expand(word: str, values: dict[str, str]) -> str:
    """A Dockerfile word with `${NAME}`, `${NAME:-default}` and `$NAME` replaced from `values`
    (the build args), as BuildKit expands a mount's source."""

    def one(m: re.Match[str]) -> str:
        name, default = m["name"] or m["bare"], m["default"]
        value = values.get(name, "")
        return default if default is not None and not value else value

    return re.sub(r"\$\{(?P<name>\w+)(?::-(?P<default>[^}]*))?\}|\$(?P<bare>\w+)", one, word)


def run_in_shell(
    link: Link, ins: Instruction, env: dict[str, str], paths: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a RUN instruction's shell text as BuildKit would, with bind mounts from the build
    context pointing into the repository (their sources expanded with the build args in
    `env`); `paths` maps other absolute paths of the command (say, where it writes) elsewhere."""
    _flags, command = ins.split()
    for mount in ins.mounts():
        if mount.get("type") == "cache":
            continue  # a cache only: the command works the same without it
        assert mount.get("type") == "bind" and "from" not in mount, f"cannot run {ins.where()}"
        command = command.replace(mount["target"], str(ROOT / expand(mount["source"], env)))
    for old, new in (paths or {}).items():
        command = re.sub(rf"(?<![\w/]){re.escape(old)}(?![\w/])", new, command)
    shell = link.stage.shell_at(ins, link.shell_in)
    return subprocess.run(
        [*shell, command], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def ignored_by_dockerignore(path: str) -> bool:
    """Whether .dockerignore keeps `path` (relative to the context root) from the builder."""
    patterns = [
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]

    def matches(pattern: str, candidate: str) -> bool:
        regex = ""
        for part in re.split(r"(\*\*/?|\*|\?)", pattern.strip("/")):
            regex += {"**/": "(.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                part, re.escape(part)
            )
        return re.fullmatch(regex, candidate) is not None

    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        if any(matches(pattern.lstrip("!"), c) for c in candidates):
            excluded = not negate
    return excluded
