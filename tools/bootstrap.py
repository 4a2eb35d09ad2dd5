"""Set up a fresh Debian or Ubuntu machine for the tools/ scripts.

``tools/demo.py`` and ``tools/run_tests.py`` call :func:`ensure` before
anything else. It installs what is missing and reuses what is there:

- PostgreSQL from the system's packages, started, with a role for the user;
- Odoo 19.0 from source when this Python cannot ``import odoo``: a shallow
  clone of the 19.0 branch of ``$ODOO_REPO`` (default: Odoo's public
  repository), or the checkout named by ``$ODOO_SRC``, installed with its
  pinned requirements into a virtual environment kept in the user's data
  folder, with this addon (``pip install -e``, see ``pyproject.toml``); then
  the script runs itself again inside that environment;
- wkhtmltopdf, with which Odoo prints its PDF reports;
- Chromium, for the tests' browser tours.

Each step says what it does; a second run finds everything done and says
nothing more. It uses the standard library only: it runs before Odoo and
its requirements exist. ``URSSAF_NO_BOOTSTRAP=1`` skips it all.
"""

# A command-line tool talks on stdout and stderr.
# pylint: disable=print-used

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ADDON = "l10n_fr_urssaf_tierce_declaration"
REPO = Path(__file__).resolve().parent.parent
ODOO_PUBLIC_REPO = "https://github.com/odoo/odoo.git"
ODOO_BRANCH = "19.0"
# Odoo 19's pinned requirements do not build with setuptools 70 or later.
SETUPTOOLS_CONSTRAINT = "setuptools<70\n"
# Debian packages: building Odoo's requirements needs these headers.
BUILD_PACKAGES = ("python3-dev", "python3-venv", "build-essential", "libpq-dev", "libldap2-dev", "libsasl2-dev")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Set on the re-run inside the virtual environment, so that a broken one
# cannot loop.
REEXEC_MARK = "URSSAF_BOOTSTRAP_VENV"


def say(message):
    print(f"[setup] {message}", flush=True)


def fail(message):
    print(f"[setup] {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def data_dir():
    """The user's data folder for this addon: the virtual environment, the
    Odoo checkout and the demo's files live there."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / ADDON


def _quiet(cmd, **kwargs):
    """Run ``cmd``; its exit code (127 when it does not exist)."""
    try:
        return subprocess.run(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, **kwargs
        ).returncode
    except FileNotFoundError:
        return 127


def _run(cmd, failure, **kwargs):
    """Run ``cmd`` showing its output; ``failure`` is the sentence said when
    it fails."""
    try:
        code = subprocess.run(cmd, check=False, **kwargs).returncode
    except FileNotFoundError:
        code = 127
    if code:
        fail(f"{failure} (`{' '.join(str(c) for c in cmd)}` exited {code}).")


# ----------------------------------------------------------------------
# System packages
# ----------------------------------------------------------------------


def _is_debian(os_release="/etc/os-release"):
    try:
        release = Path(os_release).read_text(encoding="utf-8")
    except OSError:
        return False
    values = dict(line.split("=", 1) for line in release.splitlines() if "=" in line)
    family = f"{values.get('ID', '')} {values.get('ID_LIKE', '')}".replace('"', "")
    return any(name in family.split() for name in ("debian", "ubuntu"))


def _as_root(cmd):
    """``cmd`` run as root: directly when root, else through sudo."""
    if os.geteuid() == 0:
        return list(cmd)
    if not shutil.which("sudo"):
        fail(
            f"Installing system packages needs root rights: run `{' '.join(cmd)}` as root "
            "(or install sudo and give this user the right to use it), then run this command again."
        )
    return ["sudo", *cmd]


def _missing_packages(packages):
    missing = []
    for package in packages:
        try:
            status = subprocess.run(
                ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
            ).stdout
        except FileNotFoundError:
            status = ""
        if "install ok installed" not in status:
            missing.append(package)
    return missing


def apt_install(packages, why):
    """Install the Debian ``packages`` not installed yet."""
    if not _is_debian():
        fail(
            f"This system is not Debian or Ubuntu: install {why} ({', '.join(packages)}) by hand "
            "as readme/INSTALL.rst says, then run this command again."
        )
    missing = _missing_packages(packages)
    if not missing:
        return
    say(f"Installing {why} from the system's packages: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    _run(
        _as_root(["apt-get", "update", "-q"]),
        "The system's package lists could not be updated: check the network connection and the apt sources",
        env=env,
    )
    _run(
        _as_root(["apt-get", "install", "-y", "-q", *missing]),
        f"Installing {' '.join(missing)} failed: check the network connection, or install them by hand",
        env=env,
    )


# ----------------------------------------------------------------------
# PostgreSQL
# ----------------------------------------------------------------------


def _postgres_reachable():
    return _quiet(["psql", "-d", "postgres", "-tAc", "SELECT 1"]) == 0


def _as_postgres(cmd):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    sudo = _as_root(["true"])[0]  # says what to do when sudo is missing
    return [sudo, "-u", "postgres", *cmd]


def ensure_postgres():
    if _postgres_reachable():
        return
    if not shutil.which("psql") or not shutil.which("pg_lsclusters"):
        apt_install(["postgresql"], "PostgreSQL")
    if _quiet(["pg_isready", "-q"]) != 0:
        say("Starting PostgreSQL")
        clusters = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False)
        for line in clusters.stdout.splitlines():
            version, cluster = line.split()[:2]
            _quiet(_as_root(["pg_ctlcluster", version, cluster, "start"]))
        for _ in range(30):
            if _quiet(["pg_isready", "-q"]) == 0:
                break
            _quiet(["sleep", "1"])
        else:
            fail("PostgreSQL does not start: see `pg_lsclusters` and its log in /var/log/postgresql.")
    if _postgres_reachable():
        return
    user = os.environ.get("PGUSER") or _current_user()
    say(f"Creating the PostgreSQL role {user} (superuser: Odoo creates and drops databases)")
    _run(
        _as_postgres(["createuser", "--superuser", user]),
        f"The PostgreSQL role {user} could not be created; create it as the postgres user",
    )
    if not _postgres_reachable():
        fail(
            "PostgreSQL runs but refuses this user's connection: check PGHOST/PGPORT and "
            "pg_hba.conf (peer authentication on the local socket is what the tools expect)."
        )


def _current_user():
    import pwd  # noqa: PLC0415 (POSIX only, like the rest of this set-up)

    return pwd.getpwuid(os.geteuid()).pw_name


# ----------------------------------------------------------------------
# Odoo in a virtual environment
# ----------------------------------------------------------------------


def odoo_importable(python):
    """Whether ``python`` imports Odoo 19.0."""
    probe = "import odoo.release, sys; sys.exit(tuple(odoo.release.version_info[:2]) != (19, 0))"
    return _quiet([str(python), "-c", probe]) == 0


def _digest(*paths):
    hasher = hashlib.sha256()
    for path in paths:
        hasher.update(Path(path).read_bytes() if Path(path).is_file() else str(path).encode())
    return hasher.hexdigest()


def _stamped(stamp, value):
    return stamp.is_file() and stamp.read_text(encoding="utf-8") == value


def _pip(python, args, what, stamp, value, env):
    """``pip install args`` into ``python``'s environment unless ``stamp``
    says it was done with the same inputs."""
    if _stamped(stamp, value):
        return
    say(f"Installing {what}")
    _run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "on", *args],
        f"pip could not install {what}: check the network connection to the Python package index "
        "(or set PIP_INDEX_URL to a mirror)",
        env=env,
    )
    stamp.write_text(value, encoding="utf-8")


def odoo_source():
    """The Odoo 19.0 checkout to install: ``$ODOO_SRC``, or a shallow clone
    of ``$ODOO_REPO`` kept in the data folder."""
    if os.environ.get("ODOO_SRC"):
        src = Path(os.environ["ODOO_SRC"]).expanduser().resolve()
        if not (src / "odoo" / "release.py").is_file() or not (src / "requirements.txt").is_file():
            fail(f"ODOO_SRC={src} is not a checkout of Odoo's sources (no odoo/release.py): point it at one.")
        return src
    src = data_dir() / "odoo"
    if (src / "odoo" / "release.py").is_file():
        return src
    repo = os.environ.get("ODOO_REPO") or ODOO_PUBLIC_REPO
    if not shutil.which("git"):
        apt_install(["git"], "git")
    if src.exists():
        shutil.rmtree(src)  # an interrupted clone
    say(f"Cloning Odoo {ODOO_BRANCH} from {repo} (shallow) into {src}")
    _run(
        ["git", "clone", "--progress", "--depth", "1", "--branch", ODOO_BRANCH, repo, str(src)],
        f"Odoo could not be cloned from {repo}: check the network connection, or set ODOO_SRC "
        "to an Odoo 19 checkout on this machine",
    )
    return src


def ensure_odoo_venv(tests):
    """The Python of the virtual environment holding Odoo, its requirements
    and this addon's, built or completed as needed."""
    home = data_dir()
    venv = home / "venv"
    python = venv / "bin" / "python"
    if not python.is_file():
        if _quiet([sys.executable, "-c", "import ensurepip, venv"]) != 0 and _is_debian():
            apt_install(["python3-venv"], "Python's venv module")
        say(f"Creating the virtual environment {venv}")
        home.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "venv", str(venv)], f"The virtual environment {venv} could not be created")
    stamps = venv / "urssaf-setup"
    stamps.mkdir(exist_ok=True)
    if _is_debian():
        apt_install(list(BUILD_PACKAGES), "what building Odoo's requirements needs")
    src = odoo_source()
    constraints = home / "pip-constraints.txt"
    constraints.write_text(SETUPTOOLS_CONSTRAINT, encoding="utf-8")
    # PIP_CONSTRAINT, not -c: the packages built from source build in
    # isolated environments that read it too.
    env = dict(os.environ, PIP_CONSTRAINT=str(constraints))
    _pip(
        python,
        ["-r", str(src / "requirements.txt")],
        "Odoo's pinned requirements",
        stamps / "odoo-requirements",
        _digest(src / "requirements.txt", constraints),
        env,
    )
    _pip(python, ["-e", str(src)], f"Odoo from {src}", stamps / "odoo", str(src), env)
    # The addon itself, the OCA way (pyproject.toml, whool): into
    # odoo.addons, with its manifest's Python dependencies. whool names the
    # package after the checkout's folder: another name gets only the
    # requirements, and the tools find the addon through a link.
    if REPO.name == ADDON:
        addon = ["-e", str(REPO)]
    else:
        addon = ["-r", str(REPO / "requirements.txt")]
    # phonenumbers: the French localisation brings account_peppol, which needs it.
    addon_inputs = [REPO / "pyproject.toml", REPO / "requirements.txt", REPO / "__manifest__.py", *addon]
    _pip(
        python,
        [*addon, "phonenumbers"],
        "the addon and its requirements",
        stamps / "addon-requirements",
        _digest(*addon_inputs),
        env,
    )
    if tests:
        _pip(
            python,
            ["-r", str(REPO / "test-requirements.txt")],
            "the tests' requirements",
            stamps / "test-requirements",
            _digest(REPO / "test-requirements.txt"),
            env,
        )
    if not odoo_importable(python):
        fail(f"Odoo 19 is installed in {venv} but cannot be imported there: remove {venv} and run this again.")
    return python


def ensure_chromium():
    if any(shutil.which(name) for name in BROWSERS):
        return
    apt_install(["chromium"], "Chromium, for the browser tours")


def ensure_wkhtmltopdf():
    # Odoo prints its PDF reports (the registers, the yearly summary) with it.
    if shutil.which("wkhtmltopdf"):
        return
    apt_install(["wkhtmltopdf"], "wkhtmltopdf, for the PDF reports")


def ensure_pdftotext():
    # The tests read back the text of the PDF the browser gets.
    if shutil.which("pdftotext"):
        return
    apt_install(["poppler-utils"], "poppler-utils (pdftotext), for the tests of the PDF reports")


def ensure(tests=False):
    """Install what is missing for the demo (``tests=False``) or the tests;
    re-run the calling script in the virtual environment when Odoo is not
    importable here."""
    if os.environ.get("URSSAF_NO_BOOTSTRAP"):
        return
    ensure_postgres()
    ensure_wkhtmltopdf()
    if tests:
        ensure_chromium()
        ensure_pdftotext()
    if odoo_importable(sys.executable):
        return
    if os.environ.get(REEXEC_MARK):
        fail(f"{sys.executable} still cannot import Odoo 19: remove {data_dir() / 'venv'} and run this again.")
    python = ensure_odoo_venv(tests)
    say(f"Running {Path(sys.argv[0]).name} again with {python}")
    os.environ[REEXEC_MARK] = "1"
    os.execv(str(python), [str(python), sys.argv[0], *sys.argv[1:]])
