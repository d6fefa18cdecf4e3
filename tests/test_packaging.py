"""The project installs as a package (the engine only) whose pins are requirements.txt's, exactly."""

from __future__ import annotations

import tomllib

from tests.conftest import ROOT


def pins(path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith(("#", "-r"))]


def test_pyproject_mirrors_the_requirements_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == pins(ROOT / "requirements.txt")
    assert all("==" in dep for dep in project["dependencies"])  # torch above all: a range pulls a CUDA build
    assert project["optional-dependencies"]["notebooks"] == pins(ROOT / "requirements-notebooks.txt")


def test_only_the_engine_is_packaged():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["packages"]["find"]["include"] == ["core", "core.*"]


def test_no_script_patches_sys_path():
    for folder in ("bench", "scripts", "notebooks"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".ipynb"):
                assert "sys.path" not in path.read_text(), f"{path.relative_to(ROOT)} patches sys.path"
