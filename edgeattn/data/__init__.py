"""Synthetic, seeded task data (no data set can be downloaded) and task metrics."""
