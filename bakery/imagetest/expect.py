"""Plan target -> the EXPECT_* variables images/test_image.sh asserts (pure).

The values are those `bakery verify` compares with (`bakery.verify.compare.expectations`), and
the variable of each check is the probe's own table (`bakery.verify.probe.ENV_NAMES`), which
the probe reads back inside the image (`probe.py --expect-env`): `bakery test`, `bakery verify`
and the script read one source, the plan, and judge with one function.
"""

from __future__ import annotations

from collections.abc import Mapping

from bakery.matrix import Matrix
from bakery.plan.target import Target
from bakery.verify.compare import expectations
from bakery.verify.probe import ENV_NAMES, EVERY_IMPORT, OK, PI_GATE, PI_GATE_VAR, PRESENT

# Always checked by the script (no variable needed).
_ALWAYS = {"uv pip check", EVERY_IMPORT}


def expectation_env(target: Target, matrix: Matrix) -> dict[str, str]:
    """The EXPECT_* variables for one target, in a stable order.

    Feature packages go into EXPECT_PACKAGES as `dist=version` (flag on) or `dist=absent`,
    modules that must import into EXPECT_IMPORTS, promised codecs into EXPECT_FFMPEG_CODECS."""
    env = {
        "EXPECT_PLATFORM": target.platform,
        "EXPECT_ACCELERATOR": target.accelerator,
    }
    packages: list[str] = []
    imports: list[str] = []
    codecs: list[str] = []
    for name, expected in expectations(target, matrix).items():
        if name in _ALWAYS:
            continue
        if name in ENV_NAMES:
            env[ENV_NAMES[name]] = expected
        elif name == PI_GATE:
            env[PI_GATE_VAR] = expected
        elif name.startswith("import ") and expected == OK:
            imports.append(name.split(" ", 1)[1])
        elif name.startswith("ffmpeg ") and expected == PRESENT:
            _ffmpeg, kind, codec = name.split(" ", 2)
            codecs.append(f"{kind}:{codec}")
        else:
            packages.append(f"{name}={expected}")
    if packages:
        env["EXPECT_PACKAGES"] = " ".join(sorted(packages))
    if imports:
        env["EXPECT_IMPORTS"] = " ".join(imports)
    if codecs:
        env["EXPECT_FFMPEG_CODECS"] = " ".join(codecs)
    return env


def env_file(env: Mapping[str, str], *, comment: str | None = None) -> str:
    """KEY=VALUE lines, as `images/test_image.sh --expect-file` reads them."""
    lines = [f"# {comment}"] if comment else []
    lines += [f"{key}={value}" for key, value in env.items()]
    return "\n".join(lines) + "\n"
