"""The edge where bakery talks to Docker. `buildx` is imported only by commands that run
Docker, so `bakery plan` and `bakery render` never load python-on-whales."""
