"""The build compiles the translations: every ``harness/locale/*/LC_MESSAGES/*.po`` becomes the ``.mo`` beside it
in the built package (with Babel, a build requirement), so an installed wheel needs no compiler.  Everything
else is in pyproject.toml.
"""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class build_py_with_catalogs(build_py):  # noqa: N801 - setuptools' naming
    def run(self) -> None:
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in sorted(Path("harness/locale").glob("*/LC_MESSAGES/*.po")):
            mo = Path(self.build_lib) / "netgrade" / po.relative_to("harness").with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            with open(po, "rb") as f:
                catalog = read_po(f)
            with open(mo, "wb") as f:
                write_mo(f, catalog)


setup(cmdclass={"build_py": build_py_with_catalogs})
