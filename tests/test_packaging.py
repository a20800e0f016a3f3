"""Every subpackage is listed in pyproject.toml (the wheel would miss it otherwise)."""

import tomllib

from conftest import ROOT


def test_packages_listed():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(conf["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT / "src").parts)
        for p in (ROOT / "src" / "textmine").rglob("__init__.py")
    }
    assert found <= listed
    assert "textmine.web" in listed and (ROOT / "web" / "__init__.py").exists()
