"""Shared graders: the one place that decides whether a step or an answer is right."""
