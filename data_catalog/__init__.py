"""Package data: the data catalog (``catalog.yaml``) and split lists, found by `meltwater.resources`."""
