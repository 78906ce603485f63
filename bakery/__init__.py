"""bakery: build, prove and publish the edge-node base images."""

__version__ = "0.1.0"
