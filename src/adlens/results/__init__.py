"""Typed results: what a run writes and later commands read (readings, the run summary, the
steering overview), each saving and loading itself. Pure data: no torch, no models."""
