"""The Textual face of starvideos-tui. Only this package imports textual."""
