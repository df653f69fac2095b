"""Sharing a live console over SSH."""
