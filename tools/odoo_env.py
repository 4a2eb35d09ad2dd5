"""Find Odoo 19 and PostgreSQL and build the addons path, for the tools/ scripts."""

# A command-line tool talks on stdout and stderr.
# pylint: disable=print-used

import os
import subprocess
import sys
from pathlib import Path

ADDON = "l10n_fr_urssaf_tierce_declaration"
REPO = Path(__file__).resolve().parent.parent
README_HINT = "See README.rst, section “Installing by hand”."


def fail(message, code=2):
    print(f"{Path(sys.argv[0]).name}: {message}\n{README_HINT}", file=sys.stderr)
    sys.exit(code)


def find_odoo():
    """The folder of the ``odoo`` package of this Python, checked to be 19.0."""
    try:
        import odoo.release  # noqa: PLC0415 (the point is to probe it here)
    except ImportError as exc:
        fail(f"Odoo 19 cannot be imported by {sys.executable} ({exc}).")
    if tuple(odoo.release.version_info[:2]) != (19, 0):
        fail(f"Odoo {odoo.release.version} found, this addon needs Odoo 19.0.")
    return Path(odoo.release.__file__).resolve().parent


def installed_package():
    """Whether this checkout is the addon Python imports as
    ``odoo.addons.<technical name>``: installed as a package (``pip install
    -e .``, see pyproject.toml), Odoo finds it through the ``odoo.addons``
    namespace, with no folder of links on its addons path."""
    import importlib.util  # noqa: PLC0415 (only when asked)

    try:
        spec = importlib.util.find_spec(f"odoo.addons.{ADDON}")
    except ImportError:
        return False
    locations = list(spec.submodule_search_locations or []) if spec else []
    return any(Path(location).resolve() == REPO for location in locations)


def addon_folder(folder):
    """``None`` when the addon is installed as a package of this checkout,
    otherwise ``folder``, holding a link named after the addon to this
    checkout (see :func:`link_addon`): what :func:`addons_path` adds."""
    return None if installed_package() else link_addon(folder)


def link_addon(folder):
    """Make ``folder/<technical name>`` point at this repository; return ``folder``.

    Odoo finds an addon by its folder name, and a checkout can be named
    anything.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / ADDON
    if link.is_symlink() or link.exists():
        if link.resolve() == REPO:
            return folder
        link.unlink()
    link.symlink_to(REPO, target_is_directory=True)
    return folder


def addons_path(odoo_dir, link_dir):
    """Odoo's own addons, the community addons of a source install,
    ``$ODOO_ADDONS_PATH``, then the folder that holds this addon (none when
    ``link_dir`` is None: the addon is an installed package)."""
    paths = [str(odoo_dir / "addons")]
    community = odoo_dir.parent / "addons"  # an editable install of Odoo's sources
    if (community / "account" / "__manifest__.py").is_file():
        paths.append(str(community))
    extra = os.environ.get("ODOO_ADDONS_PATH", "")
    paths += [p.strip() for p in extra.split(",") if p.strip()]
    if link_dir is not None:
        paths.append(str(link_dir))
    missing = [
        module
        for module in ("account", "mail")
        if not any((Path(p) / module / "__manifest__.py").is_file() for p in paths)
    ]
    if missing:
        fail(
            f"Odoo's community addons ({', '.join(missing)}) are not on the addons "
            f"path {paths}; set ODOO_ADDONS_PATH to the folder that holds them."
        )
    return ",".join(paths)


def check_postgres():
    import psycopg2  # noqa: PLC0415 (installed with Odoo's requirements)

    try:
        psycopg2.connect(dbname="postgres").close()
    except psycopg2.OperationalError as exc:
        fail(
            "PostgreSQL is not reachable with the current PG* settings "
            f"({str(exc).strip()}). Start it and give this user a role that can "
            "create databases."
        )


def install_addon(db, path, data_dir, modules=ADDON, *extra):
    """Create ``db`` (if new) with ``modules`` installed; return Odoo's exit code."""
    command = [
        sys.executable,
        "-m",
        "odoo",
        "server",
        f"--addons-path={path}",
        f"--data-dir={data_dir}",
        f"--database={db}",
        "--log-level=warn",
        "--no-http",
        "-i",
        modules,
        "--stop-after-init",
        *extra,
    ]
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, check=False).returncode
