"""Helpers shared by tests: a pseudo-terminal driver and a simulator process."""
