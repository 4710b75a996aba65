"""Statistical models of channel lifetimes, reappearance, recovery and the cat-and-mouse game.

Sub-modules are imported explicitly (``from analysis.models.survival import KaplanMeier``) so
that importing one model does not import the others.
"""
