"""The monitor's themes: Textual's own for 256 colours and truecolour ("textual-dark",
"textual-light"), and two of ours for 16 colours and NO_COLOR, in the terminal's palette.

Ours differ from Textual's "ansi-dark" and "ansi-light" where those hide things:
- a field that is not focused has its border in `$border-blurred`, which is ansi black
  in "ansi-dark" (invisible on a dark background: the form's ratio picker and its buttons
  had none) and ansi white in "ansi-light" (invisible on white). Ours use bright black,
  a grey every palette shows on either;
- ansi yellow is hard to read on white: the light one says warnings in magenta.
"""

from __future__ import annotations

from dataclasses import replace

from textual.theme import BUILTIN_THEMES

THEMES = ("auto", "dark", "light")  # --theme, STARVIDEOS_THEME, config key theme

_DARK = BUILTIN_THEMES["ansi-dark"]
_LIGHT = BUILTIN_THEMES["ansi-light"]
BORDER = "ansi_bright_black"

ANSI_DARK = replace(
    _DARK,
    name="starvideos-ansi-dark",
    variables={**_DARK.variables, "border-blurred": BORDER},
)
ANSI_LIGHT = replace(
    _LIGHT,
    name="starvideos-ansi-light",
    warning="ansi_magenta",  # not yellow, and not the error's red
    accent="ansi_blue",  # not magenta, the warning's colour now
    variables={**_LIGHT.variables, "border-blurred": BORDER},
)


def theme_for(light: bool, ansi: bool) -> str:
    """The theme's name: light or dark, in the terminal's own 16 colours or not."""
    if ansi:
        return ANSI_LIGHT.name if light else ANSI_DARK.name
    return "textual-light" if light else "textual-dark"
