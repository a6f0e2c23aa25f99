"""Helpers the notebooks share (:mod:`.diagnostics`)."""
