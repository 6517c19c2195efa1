"""What setup.cfg cannot declare: a wheel (or `pip install .`) of the
platform carries what a checkout keeps beside the package and `make` builds,
so an installed package serves Chinese pages without make:

- the compiled catalogues (.mo), compiled here from the committed .po files
  (the .mo files are build output, never committed);
- the templates, static files and migrations, copied into the package
  (create_app looks for them there first, then beside the package).

An editable install (`make install`) builds neither: it runs from the
checkout, whose catalogues make compiles."""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PACKAGE = "instrument_share"
SITE_FOLDERS = ("templates", "static", "migrations")


def compile_catalogues(target: Path) -> list[Path]:
    """Each translations/<locale>/LC_MESSAGES/messages.po as a .mo under `target`
    (the package's directory in the build); fuzzy entries are left out, as
    `pybabel compile` does."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted((HERE / PACKAGE / "translations").glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as source:
            catalogue = read_po(source, locale=po.parent.parent.name)
        mo = target / po.relative_to(HERE / PACKAGE).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as output:
            write_mo(output, catalogue)
        written.append(mo)
    return written


class BuildWithSite(build_py):
    def run(self):
        super().run()
        if self.editable_mode:
            return
        package = Path(self.build_lib) / PACKAGE
        for folder in SITE_FOLDERS:
            copy = package / folder
            shutil.rmtree(copy, ignore_errors=True)  # nothing stale from an earlier build
            shutil.copytree(HERE / folder, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for mo in compile_catalogues(package):
            self.announce(f"compiled {mo.relative_to(package)}", level=2)


setup(cmdclass={"build_py": BuildWithSite})
