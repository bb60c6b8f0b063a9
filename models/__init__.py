"""Package data: the shipped checkpoints and their registry (``models.yaml``), found by `meltwater.resources`."""
