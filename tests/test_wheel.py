"""Chinese without make (issue #19): a wheel of the repository carries the
compiled catalogues, templates, static files and migrations (setup.py), so
the package installed from it alone, far from any checkout, migrates a
database and serves Chinese pages.

The wheel is built from a copy of what a clone holds (the files git tracks
or would track: no .mo, no build/ left from an earlier build), installed
without its dependencies into a fresh virtual environment that sees this
environment's packages (but not the checkout), and asked for a page there."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "instrument_share/translations/zh/LC_MESSAGES/messages.po"
# Messages of the sign-in page, in Chinese only once the catalogue is compiled.
MESSAGES = ("Sign in", "Find instruments", "Register your firm")

RENDER = """
import json, sys
import instrument_share
from flask_migrate import upgrade
from instrument_share import create_app

app = create_app({"TESTING": True, "SECRET_KEY": "wheel", "INSTANCE_PATH": sys.argv[1],
                  "SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[1] + "/wheel.sqlite"})
with app.app_context():
    upgrade()  # the migrations came in the wheel too
client = app.test_client()
page = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
css = client.get("/static/site.css")
# Without INSTANCE_PATH an installed package keeps its instance folder out of site-packages.
default_instance = create_app({"TESTING": True, "SECRET_KEY": "wheel"}).instance_path
print(json.dumps({"package": instrument_share.__file__, "status": page.status_code,
                  "default_instance": default_instance,
                  "html": page.get_data(as_text=True), "css": css.status_code}))
"""


def _run(*command, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, command))}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _clone_of_the_checkout(target: Path) -> None:
    """The files a clone would hold, with the work in progress: tracked, or
    new and not ignored."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    listed = _run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is gone from the clone too
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _chinese(messages) -> dict[str, str]:
    with CATALOGUE.open("rb") as source:
        catalogue = read_po(source)
    return {message: catalogue[message].string for message in messages}


@pytest.mark.slow
def test_an_installed_wheel_serves_chinese_pages_without_make(tmp_path):
    source, dist, venv, elsewhere = (tmp_path / name for name in ("source", "dist", "venv", "elsewhere"))
    elsewhere.mkdir()
    _clone_of_the_checkout(source)
    assert not list(source.rglob("*.mo")), "a clone holds no compiled catalogue"

    # Build isolation: pip gives the build the setuptools, wheel and Babel
    # pyproject.toml asks for, whatever this environment holds.
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), str(source))
    (wheel,) = dist.glob("instrument_share-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("instrument_share/translations/zh/LC_MESSAGES/messages.mo", "instrument_share/templates/base.html",
                 "instrument_share/static/site.css", "instrument_share/migrations/env.py"):
        assert name in names, f"{name} is not in the wheel"

    # A fresh environment with this one's dependencies on its path, not the
    # checkout: a plain path line in a .pth file adds the directory but runs
    # none of the .pth files in it (so not the editable install's).
    _run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = venv / "bin" / "python"
    purelib = Path(_run(str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip())
    (purelib / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    _run(sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel))

    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    environment.pop("DATABASE_URL", None)
    answer = json.loads(_run(str(python), "-c", RENDER, str(elsewhere), cwd=elsewhere, env=environment).stdout)

    assert Path(answer["package"]).is_relative_to(purelib), answer["package"]
    assert answer["status"] == 200 and answer["css"] == 200
    assert not Path(answer["default_instance"]).is_relative_to(purelib), answer["default_instance"]
    html = answer["html"]
    assert '<html lang="zh-CN">' in html
    for english, chinese in _chinese(MESSAGES).items():
        assert chinese and chinese in html, f"{english!r} is not shown as {chinese!r}"
