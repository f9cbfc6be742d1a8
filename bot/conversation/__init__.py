"""Conversation logic: the pipeline and the decision policy. Knows no platform."""
