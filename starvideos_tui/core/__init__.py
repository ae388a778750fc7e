"""Pure modules every layer may use: models, words, formatting, errors, paths, rules."""
