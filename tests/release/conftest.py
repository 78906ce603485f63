from tests.bake.conftest import fake_docker

__all__ = ["fake_docker"]
