"""What one run of the GitHub workflow builds and publishes, decided from its event (see
docs/ci.md). Pure decisions in `events`; the one git question (is a tag's commit on the default
branch?) in `ancestry`."""
