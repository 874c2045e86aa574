"""The examples in convcli/images.py docstrings run and are right.

pytest collects doctests from tests/ only, so library doctests are run here.
"""

from __future__ import annotations

import doctest

import convcli.images


def test_images_docstring_examples() -> None:
    result = doctest.testmod(convcli.images, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 4
    assert result.failed == 0
