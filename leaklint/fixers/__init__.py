"""Building fixes: small libcst rewrites that the rules use to offer a fix for a finding.

``source`` turns new nodes into text edits of the original file (keeping its indentation,
newlines and everything not rewritten); ``names`` picks fresh names and adds imports; the other
modules hold the rewrites several rules share (``with_blocks`` for LK301-LK304).
"""
