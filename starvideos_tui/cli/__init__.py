"""The command-line face: parsing, the headless commands, what they print."""
