"""Renderers of a GradingResult, one per format, in one registry (:data:`RENDERERS`)."""
