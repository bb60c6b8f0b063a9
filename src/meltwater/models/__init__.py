"""Models: baselines, the UNet (configs, checkpoints, training, inference), the registry."""
