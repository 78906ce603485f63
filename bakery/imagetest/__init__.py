"""`bakery test`: the plan's expectations for a target, which targets this host can run, and
the driver around images/test_image.sh (which does the checking, so both never diverge)."""

from bakery.imagetest.expect import env_file, expectation_env
from bakery.imagetest.hostmatch import host_skip_reason, qemu_handler

__all__ = ["env_file", "expectation_env", "host_skip_reason", "qemu_handler"]
