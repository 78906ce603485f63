"""What an update costs an edge device: the compressed bytes it must pull to go from the
released image to a candidate (layers it already holds are free)."""
