"""Systemd test containers (the molecule scenarios' options) and ansible-playbook runs on them.

Every container a benchmark starts is named ``flask-blog-bench-*`` and removed when it ends.
"""

import atexit
import json
import os
import re
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
IMAGES = {
    "debian12": os.environ.get("FLASK_BLOG_IMAGE_BOOKWORM", "flask-blog-systemd:bookworm"),
    "debian13": os.environ.get("FLASK_BLOG_IMAGE_TRIXIE", "flask-blog-systemd:trixie"),
}
# The systemd options of molecule's test platforms (.config/molecule/config.yml), read from there
# so that the benchmarks' containers are the tests' containers.
MOLECULE_CONFIG = ROOT / ".config" / "molecule" / "config.yml"
PLATFORM = yaml.safe_load(MOLECULE_CONFIG.read_text())["platforms"][0]
# What the image build and molecule's docker driver do alone; start() maps every other key.
NOT_RUN_OPTIONS = {"name", "image", "pre_build_image", "pull", "override_command"}
PUBLIC_HOST = next(iter(PLATFORM["etc_hosts"]))
# Inputs of playbooks/site.yml for a benchmark host: the example blog with its sample articles,
# no search engines (nothing leaves the container).
SITE_VARS = ROOT / "benchmarks" / "lib" / "site-vars.yml"
RECAP = re.compile(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", re.MULTILINE)


def docker(*args, check=True, capture=True, input=None, timeout=600):
    return subprocess.run(
        ["docker", *args],
        check=check,
        capture_output=capture,
        text=True,
        input=input,
        timeout=timeout,
    )


def start(name, image=IMAGES["debian12"]):
    """A fresh systemd container, booted; an old one of the same name is removed first."""
    remove(name)
    unmapped = set(PLATFORM) - NOT_RUN_OPTIONS - {
        "capabilities", "security_opts", "cgroupns_mode", "volumes", "tmpfs", "stop_signal",
        "etc_hosts", "command",
    }  # fmt: skip
    if unmapped:
        raise RuntimeError(f"{MOLECULE_CONFIG}: platform keys start() does not map: {unmapped}")
    options = [
        *(f"--cap-add={cap}" for cap in PLATFORM["capabilities"]),
        *(f"--security-opt={opt}" for opt in PLATFORM["security_opts"]),
        f"--cgroupns={PLATFORM['cgroupns_mode']}",
        *(f"--volume={volume}" for volume in PLATFORM["volumes"]),
        *(f"--tmpfs={path}" for path in PLATFORM["tmpfs"]),
        f"--stop-signal={PLATFORM['stop_signal']}",
        *(f"--add-host={host}:{ip}" for host, ip in PLATFORM["etc_hosts"].items()),
    ]
    docker("run", "-d", f"--name={name}", f"--hostname={name}", *options, image,
           PLATFORM["command"])  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = docker("exec", name, "systemctl", "is-system-running", "--wait", check=False)
        if state.stdout.strip() in ("running", "degraded"):
            return name
        time.sleep(1)
    raise RuntimeError(f"{name}: systemd did not finish booting in 60 s")


def remove(name):
    docker("rm", "-f", name, check=False)


@contextmanager
def containers(*names, image=IMAGES["debian12"]):
    """Fresh containers for the with-block, removed after it (also when it fails)."""
    try:
        yield [start(name, image) for name in names]
    finally:
        for name in names:
            remove(name)


def sh(name, script, check=True, input=None, timeout=600):
    """Runs a bash script in the container as root; returns the CompletedProcess."""
    return docker("exec", "-i", name, "bash", "-c", script,
                  check=check, input=input, timeout=timeout)  # fmt: skip


def put(name, path, text, mode="0644"):
    """Writes a file in the container (docker cp cannot write into its tmpfs /tmp)."""
    sh(name, f"install -D -m {mode} /dev/stdin {path}", input=text)


def apt_install(name, *packages):
    sh(name, "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
       "--no-install-recommends " + " ".join(packages) + " >/dev/null")  # fmt: skip


def inventory(hosts, **hostvars):
    """An inventory file (JSON is YAML) for the containers, reached through Docker: `hosts` is a
    list of names, or a mapping of names to each one's own variables; `hostvars` go to all.
    The file is removed when the benchmark exits."""
    own = hosts if isinstance(hosts, dict) else {name: {} for name in hosts}
    entries = {
        name: {"ansible_connection": "community.docker.docker",
               "ansible_python_interpreter": "/usr/bin/python3", **hostvars, **variables}
        for name, variables in own.items()
    }  # fmt: skip
    descriptor, path = tempfile.mkstemp(suffix=".yml", prefix="bench-inv-")
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"all": {"hosts": entries}}, handle)
    atexit.register(Path(path).unlink, missing_ok=True)
    return path


@dataclass
class Run:
    seconds: float
    returncode: int
    output: str
    recap: dict = field(default_factory=dict)  # host -> {"ok": n, "changed": n, ...}

    def total(self, key):
        return sum(counts.get(key, 0) for counts in self.recap.values())


def playbook(path, inventory_file, *args, env=None, cwd=ROOT, timeout=1800):
    """ansible-playbook from the venv, timed; the recap parsed per host. Raises on failure."""
    environ = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
               "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
               "ANSIBLE_NOCOLOR": "1", **(env or {})}  # fmt: skip
    began = time.monotonic()
    done = subprocess.run(
        ["ansible-playbook", "-i", inventory_file, str(path), *args],
        cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - began
    output = done.stdout + done.stderr
    recap = {
        host: {k: int(v) for k, v in (pair.split("=") for pair in counts.split())}
        for host, counts in RECAP.findall(output)
    }
    run = Run(seconds, done.returncode, output, recap)
    if done.returncode != 0:
        raise RuntimeError(f"{path} failed ({done.returncode}):\n" + output[-4000:])
    return run


def site(inventory_file, *args, **kwargs):
    """playbooks/site.yml with the benchmark's inputs."""
    return playbook(ROOT / "playbooks" / "site.yml", inventory_file, "-e", f"@{SITE_VARS}",
                    *args, **kwargs)  # fmt: skip
