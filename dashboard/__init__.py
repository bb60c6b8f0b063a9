"""MeltwaterBench Explorer dashboard (Panel): ``panel serve dashboard/app.py``."""
