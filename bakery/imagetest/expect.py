"""Plan target -> the EXPECT_* variables images/test_image.sh asserts (pure).

The values are those `bakery verify` compares with (`bakery.verify.compare.expectations`), so
`bakery test`, `bakery verify` and the script read one source: the plan.
"""

from __future__ import annotations

from collections.abc import Mapping

from bakery.matrix import Matrix
from bakery.plan.target import Target
from bakery.verify.compare import PACKAGE_ARGS, TOOL_ARGS, expectations

# check name (as in bakery.verify.compare) -> variable; None: the script always checks it
_VARIABLES: dict[str, str | None] = {
    "python": "EXPECT_PYTHON",
    "arch": "EXPECT_ARCH",
    "torch cuda": "EXPECT_TORCH_CUDA",
    "uv pip check": None,
    **{name: f"EXPECT_{name.upper()}" for name in PACKAGE_ARGS},
    **{name: f"EXPECT_{name.upper()}" for name in TOOL_ARGS},
}


def expectation_env(target: Target, matrix: Matrix) -> dict[str, str]:
    """The EXPECT_* variables for one target, in a stable order.

    Feature packages go into EXPECT_PACKAGES as `dist=version` (flag on) or `dist=absent`."""
    env = {
        "EXPECT_PLATFORM": target.platform,
        "EXPECT_ACCELERATOR": target.accelerator,
    }
    packages: list[str] = []
    for name, expected in expectations(target, matrix).items():
        if name in _VARIABLES:
            variable = _VARIABLES[name]
            if variable is not None:
                env[variable] = expected
        else:
            packages.append(f"{name}={expected}")
    if packages:
        env["EXPECT_PACKAGES"] = " ".join(sorted(packages))
    return env


def env_file(env: Mapping[str, str], *, comment: str | None = None) -> str:
    """KEY=VALUE lines, as `images/test_image.sh --expect-file` reads them."""
    lines = [f"# {comment}"] if comment else []
    lines += [f"{key}={value}" for key, value in env.items()]
    return "\n".join(lines) + "\n"
