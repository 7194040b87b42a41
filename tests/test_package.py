"""The package imports and names its version; the cheapest check that the install worked."""

import seshat


def test_version_is_semver() -> None:
    parts = seshat.__version__.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts), seshat.__version__
