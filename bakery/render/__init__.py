"""docker-bake.hcl from docker-bake.hcl.j2 and the plan."""

from bakery.render.bakefile import check_bake_file, render_bake_file
from bakery.render.hcl import hcl_value

__all__ = ["check_bake_file", "hcl_value", "render_bake_file"]
