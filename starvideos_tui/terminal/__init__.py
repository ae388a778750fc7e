"""Escapes that reach the user's terminal: pictures in pixels, notifications."""
