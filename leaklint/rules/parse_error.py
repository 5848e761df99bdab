from __future__ import annotations

from leaklint.rule import Rule


class ParseError(Rule):
    """
    ## What it does
    Reports a file that leaklint could not read, decode or parse, with the reason, instead of
    skipping it silently or crashing the run.

    ## Why is this bad?
    A file that cannot be parsed cannot be checked for leaks; it usually also fails to import.
    Other files are still checked.

    ## Example
    ```python
    # -*- coding: no-such-codec -*-
    def f(:
        pass
    ```

    ## Use instead
    Fix the syntax error or the encoding declaration, or exclude the file in `[tool.leaklint]`.
    """

    CODE = "LK001"
    NAME = "parse-error"
    MESSAGE = "cannot analyse this file: {reason}"
