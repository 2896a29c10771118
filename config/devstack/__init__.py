"""The local stack launcher behind `make run` and `make test` (no Django imports)."""
