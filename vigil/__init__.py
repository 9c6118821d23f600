"""Vigil: real-time vital-sign monitoring for at-home therapy sessions."""
