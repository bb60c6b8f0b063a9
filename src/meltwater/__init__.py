"""MeltwaterBench Explorer: downscaling daily surface meltwater maps of Helheim Glacier."""

__version__ = "0.1.0"
