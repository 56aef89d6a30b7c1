"""Checks that hold what kos.platform renders to upstream Kubernetes' own rules (code, not schema)."""
