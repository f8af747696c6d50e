"""Evaluation of generated music: adherence, quality and speed, by independent tools."""
