"""Deterministic demo data for the shop (`manage.py seed_demo`). See docs/demo-data.md."""
