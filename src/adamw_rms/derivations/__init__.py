"""One module per derivation; each exposes ``build() -> Derivation``.

``derivations/<name>.*`` at the top of the repository is what ``adamw-rms derive`` writes from
``<name>.py`` here: the same names on both sides.
"""
