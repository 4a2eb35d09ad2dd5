"""What tools/bootstrap.py says and does when something is missing, and that
a second run does nothing done before. Plain pytest, no Odoo:

    python3 -m pytest tools/test_bootstrap.py -q -p no:odoo -p no:cacheprovider
"""

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bootstrap  # noqa: E402 (its folder on the path first)


def test_debian_and_ubuntu_are_supported_others_not(tmp_path):
    cases = {
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n': True,
        'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n': True,
        'NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n': True,
        'NAME="Fedora Linux"\nID=fedora\n': False,
        'NAME="Alpine Linux"\nID=alpine\n': False,
    }
    for text, supported in cases.items():
        release = tmp_path / "os-release"
        release.write_text(text)
        assert bootstrap._is_debian(release) is supported, text
    assert bootstrap._is_debian(tmp_path / "missing") is False


def test_unsupported_system_says_what_to_do(monkeypatch, capsys):
    monkeypatch.setattr(bootstrap, "_is_debian", lambda: False)
    with pytest.raises(SystemExit) as exit_info:
        bootstrap.apt_install(["postgresql"], "PostgreSQL")
    assert exit_info.value.code == 2
    message = capsys.readouterr().err
    assert "not Debian or Ubuntu" in message
    assert "install PostgreSQL (postgresql) by hand" in message


def test_no_root_and_no_sudo_says_what_to_do(monkeypatch, capsys):
    monkeypatch.setattr(bootstrap.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(bootstrap.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit):
        bootstrap._as_root(["apt-get", "install", "-y", "postgresql"])
    message = capsys.readouterr().err
    assert "needs root rights" in message
    assert "`apt-get install -y postgresql` as root" in message


def test_sudo_when_not_root(monkeypatch):
    monkeypatch.setattr(bootstrap.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(bootstrap.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert bootstrap._as_root(["apt-get", "update"]) == ["sudo", "apt-get", "update"]
    assert bootstrap._as_postgres(["createuser", "me"]) == ["sudo", "-u", "postgres", "createuser", "me"]


def test_clone_failure_says_what_to_do(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("ODOO_SRC", raising=False)
    monkeypatch.setenv("ODOO_REPO", f"file://{tmp_path}/no-such-repository")
    with pytest.raises(SystemExit):
        bootstrap.odoo_source()
    message = capsys.readouterr().err
    assert "Odoo could not be cloned from file://" in message
    assert "set ODOO_SRC" in message


def test_odoo_src_must_be_odoo(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ODOO_SRC", str(tmp_path))
    with pytest.raises(SystemExit):
        bootstrap.odoo_source()
    assert "is not a checkout of Odoo's sources" in capsys.readouterr().err


def test_pip_failure_says_what_to_do(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bootstrap._pip(
            sys.executable,
            ["--no-index", "--find-links", str(tmp_path), "no-such-package-anywhere"],
            "a package that does not exist",
            tmp_path / "stamp",
            "1",
            None,
        )
    assert "pip could not install a package that does not exist" in capsys.readouterr().err
    assert not (tmp_path / "stamp").exists(), "a failed step is not marked done"


def test_second_run_does_nothing_done_before(monkeypatch, tmp_path, capsys):
    commands = []

    def run(cmd, **kwargs):
        commands.append(cmd)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(bootstrap.subprocess, "run", run)
    stamp = tmp_path / "odoo-requirements"
    for _ in range(2):
        bootstrap._pip("python", ["-r", "requirements.txt"], "Odoo's requirements", stamp, "digest-1", None)
    assert len(commands) == 1
    assert capsys.readouterr().out.count("[setup] Installing Odoo's requirements") == 1
    # Changed requirements: installed again.
    bootstrap._pip("python", ["-r", "requirements.txt"], "Odoo's requirements", stamp, "digest-2", None)
    assert len(commands) == 2


def test_nothing_to_do_where_odoo_is_importable(monkeypatch):
    """This machine's and CI's case: the set-up checks, installs nothing and
    does not run the script again."""
    calls = []
    monkeypatch.setattr(bootstrap, "ensure_postgres", lambda: calls.append("postgres"))
    monkeypatch.setattr(bootstrap, "ensure_chromium", lambda: calls.append("chromium"))
    monkeypatch.setattr(bootstrap, "odoo_importable", lambda python: True)
    monkeypatch.setattr(bootstrap, "ensure_odoo_venv", lambda tests: pytest.fail("no virtual environment"))
    monkeypatch.setattr(bootstrap.os, "execv", lambda *args: pytest.fail("no re-run"))
    monkeypatch.delenv("URSSAF_NO_BOOTSTRAP", raising=False)
    bootstrap.ensure(tests=True)
    assert calls == ["postgres", "chromium"]
