"""Data files shipped with makegood (labelled sentences for the intent detector)."""
