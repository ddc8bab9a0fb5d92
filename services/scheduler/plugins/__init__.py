"""Scheduler plugins, one module each."""
