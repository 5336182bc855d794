"""Fail-closed release gates for Supabase applications."""

__version__ = "0.1.0"
