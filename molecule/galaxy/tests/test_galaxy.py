"""The blog deployed by a scratch infra repo that installed the built collection tarball: real
requests through Nginx in the container, and proof that the repo used its installed copy of
selfhosted.flask_blog, named only by its collection names, and converged idempotently."""

import configparser
import json
import os
import re
import shlex
import subprocess
import tarfile
from pathlib import Path

import ansible
import pytest
import testinfra
import yaml
from ansible.playbook.play import Play
from ansible.playbook.task import Task

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
WORK = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "galaxy"  # see converge.yml
INFRA = WORK / "infra"
INSTALLED = INFRA / "collections" / "ansible_collections" / "selfhosted" / "flask_blog"
NAME = "selfhosted.flask_blog"
PUBLIC_URL = "https://blog.example.test"  # infra/inventory/group_vars/blog.yml
SAMPLE = "welcome"  # one of examples/blog/sample_articles
# The environment of a user's shell in the infra repo: nothing of molecule's or the checkout's.
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MOLECULE_"))}


@pytest.fixture
def host(host):
    """The same container, reached with `docker exec` instead of one Ansible run per command."""
    return testinfra.get_host("docker://" + host.backend.get_hostname())


def curl(host, url, *options):
    """One request inside the container, where blog.example.test is 127.0.0.1: (status, headers
    in lower case, body); status 0 when the connection failed."""
    args = " ".join(shlex.quote(o) for o in options)
    result = host.run(f"curl -sk -i --max-time 15 {args} {shlex.quote(url)}")
    if result.rc != 0:
        return 0, {}, result.stderr
    head, _blank, body = result.stdout.replace("\r\n", "\n").partition("\n\n")
    status = re.match(r"HTTP/[\d.]+ (\d{3})", head)
    headers = dict(
        (name.strip().lower(), value.strip())
        for name, _colon, value in (line.partition(":") for line in head.split("\n")[1:])
    )
    return int(status.group(1)) if status else 0, headers, body


def in_infra_repo(*command, check=True):
    """A command run in the infra repo the way its user runs it."""
    return subprocess.run(
        command, cwd=INFRA, env=CLEAN_ENV, capture_output=True, text=True, timeout=120, check=check
    )


def recap(log, host):
    """The PLAY RECAP counters of one host in an inner run's log."""
    line = re.search(rf"^{re.escape(host)}\s+: (ok=.*)$", log.read_text(), re.MULTILINE)
    assert line, f"no recap for {host} in {log}"
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line.group(1))}


def sample_article():
    return json.loads((INSTALLED / f"examples/blog/sample_articles/{SAMPLE}.en.json").read_text())


def test_home_page_answers_through_nginx_with_the_blog(host):
    status, headers, body = curl(host, PUBLIC_URL + "/")
    assert status == 200, body[:300]
    assert headers.get("server", "").startswith("nginx")
    assert "Latest articles" in body
    assert f'<link rel="canonical" href="{PUBLIC_URL}/">' in body
    assert f'href="/articles/{SAMPLE}"' in body
    assert sample_article()["title"] in body


def test_sample_article_answers_through_nginx(host):
    status, headers, body = curl(host, f"{PUBLIC_URL}/articles/{SAMPLE}")
    assert status == 200, body[:300]
    assert headers.get("server", "").startswith("nginx")
    article = sample_article()
    assert f"<title>{article['title']}" in body
    assert article["body"].split(". ")[0] in body
    assert f'<link rel="canonical" href="{PUBLIC_URL}/articles/{SAMPLE}">' in body


def test_http_redirects_to_https(host):
    status, headers, _body = curl(host, f"http://blog.example.test/articles/{SAMPLE}")
    assert status in (301, 308)
    assert headers["location"] == f"{PUBLIC_URL}/articles/{SAMPLE}"


@pytest.mark.parametrize("unit", ["blog.service", "nginx.service"])
def test_service_is_active(host, unit):
    assert host.run(f"systemctl is-active {unit}").stdout.strip() == "active"


def test_deployed_code_comes_from_the_installed_collection(host):
    live = host.run("readlink /var/www/blog/current").stdout.strip()  # releases/<id>
    release = yaml.safe_load(host.file("/var/www/blog/current/.flask_blog-release").content_string)
    assert live == f"releases/{release['id']}"
    assert release["source"] == "local"
    assert Path(os.path.normpath(release["from"])) == INSTALLED / "examples" / "blog"


@pytest.mark.parametrize(
    "bad, says",
    [
        # a type, from the role's argument spec
        ("gunicorn_systemd_allow_public_bind=maybe", "gunicorn_systemd_allow_public_bind"),
        # a check of the role's validate tasks, which sees its defaults
        ("gunicorn_systemd_bind=0.0.0.0:8000", "gunicorn_systemd_bind is 0.0.0.0:8000"),
        # no app named: the collection has no default app
        ("app_deploy_src=", "app_deploy_src must name your app"),
        # a secret (no_log in its spec) left as vault.yml.example has it
        (
            "gunicorn_systemd_secret_key=change-me-to-64-random-characters",
            "gunicorn_systemd_secret_key holds a placeholder, not a secret",
        ),
    ],
)
def test_the_infra_playbook_refuses_a_bad_input_before_anything_changes(bad, says):
    """The blog role's preflight entry point, first in the user's own playbook."""
    run = in_infra_repo("ansible-playbook", "site.yml", "-e", bad, check=False)
    assert run.returncode == 2, run.stdout[-2000:]
    assert says in run.stdout, run.stdout[-2000:]
    assert "PLAY [Deploy the Flask blog]" not in run.stdout
    recaps = re.findall(r"^\S+\s+: ok=\d+\s+changed=(\d+)", run.stdout, re.MULTILINE)
    assert recaps and set(recaps) == {"0"}, run.stdout[-2000:]


def test_installed_collection_is_the_built_tarball():
    version = yaml.safe_load((PROJECT / "galaxy.yml").read_text())["version"]
    tarballs = list((WORK / "dist").glob("*.tar.gz"))
    assert [t.name for t in tarballs] == [f"selfhosted-flask_blog-{version}.tar.gz"]
    with tarfile.open(tarballs[0]) as tarball:
        built = {n: json.load(tarball.extractfile(n)) for n in ("MANIFEST.json", "FILES.json")}
    installed = {n: json.loads((INSTALLED / n).read_text()) for n in built}
    assert installed["MANIFEST.json"]["collection_info"]["version"] == version
    assert installed == built
    # A real copy in the infra repo, not a link back into the checkout.
    assert not any(p.is_symlink() for p in [INSTALLED, *INSTALLED.rglob("*")])
    assert INSTALLED.resolve().is_relative_to(INFRA.resolve())


def plugin_file(kind, name):
    """The file ansible-doc finds for a plugin, in the infra repo."""
    doc = json.loads(in_infra_repo("ansible-doc", "-t", kind, "--json", name).stdout)
    return Path(doc[name]["doc"]["filename"])


def test_infra_repo_resolves_the_collection_to_its_own_copy():
    listing = in_infra_repo("ansible-galaxy", "collection", "list", "--format", "json").stdout
    holders = {p: found for p, found in json.loads(listing).items() if NAME in found}
    version = yaml.safe_load((PROJECT / "galaxy.yml").read_text())["version"]
    assert holders == {str(INSTALLED.parents[1]): {NAME: {"version": version}}}
    assert plugin_file("module", NAME + ".site_health").is_relative_to(INSTALLED)


def test_docker_connection_comes_from_the_ansible_package():
    filename = plugin_file("connection", "community.docker.docker")
    # The ansible package installs its collections beside ansible-core, in site-packages.
    bundled = Path(ansible.__file__).parents[1] / "ansible_collections"
    assert filename.is_relative_to(bundled), filename
    assert "site-packages" in bundled.parts


def test_infra_repo_configuration_looks_only_in_its_own_collections():
    config = configparser.ConfigParser()
    config.read(INFRA / "ansible.cfg")
    assert config["defaults"]["collections_path"] == "./collections"
    assert config.getboolean("connection", "pipelining")


def actions(tasks):
    """The action (module, include_role ...) of every task of a task list, blocks included."""
    for task in tasks or []:
        if "block" in task:
            for part in ("block", "rescue", "always"):
                yield from actions(task.get(part))
            continue
        keys = [k for k in task if k not in Task.fattributes and not k.startswith("with_")]
        assert len(keys) == 1, task
        yield keys[0], task[keys[0]]


def test_infra_playbook_uses_only_collection_names():
    plays = yaml.safe_load((INFRA / "site.yml").read_text())
    modules, roles = [], []
    for play in plays:
        assert set(play) <= set(Play.fattributes), play
        roles += [r["role"] if isinstance(r, dict) else r for r in play.get("roles", [])]
        for part in ("pre_tasks", "tasks", "post_tasks", "handlers"):
            for action, args in actions(play.get(part)):
                modules.append(action)
                if action.endswith(("include_role", "import_role")):
                    roles.append(args["name"])
    assert "selfhosted.flask_blog.site_health" in modules
    assert all(m.startswith((NAME + ".", "ansible.builtin.")) for m in modules), modules
    assert roles and all(r.startswith(NAME + ".") for r in roles), roles


def test_infra_repo_has_no_path_into_the_checkout():
    checkout = {str(PROJECT), str(PROJECT.resolve())}
    for path in INFRA.rglob("*"):
        if path.is_file() and not path.is_relative_to(INFRA / "collections"):
            text = path.read_text(errors="replace")
            assert not any(c in text for c in checkout), path
            assert "../" not in text and "playbook_dir" not in text, path


def test_the_run_converged_from_a_clean_environment(host):
    run = recap(WORK / "run.log", host.backend.get_hostname())
    assert run["failed"] == run["unreachable"] == 0
    assert run["changed"] > 0
    assert "with 0 ANSIBLE_*/MOLECULE_* variables" in (WORK / "run.log").read_text()


def test_check_mode_on_the_new_host_ran_to_the_end_and_said_what_a_run_would_do(host):
    """converge.yml's check step: `site.yml --check --diff` before the first converge, then a
    look on the host that nothing of the blog's was made."""
    log = WORK / "check.log"
    counts = recap(log, host.backend.get_hostname())
    assert counts["failed"] == counts["unreachable"] == 0, counts
    said = " ".join(log.read_text().split())  # the callback folds long messages
    assert re.search(r"Release \S+ is built from ", said), said[-3000:]
    assert "Check mode: pip would run: " in said, said[-3000:]
    # The migrations of the group vars, on a host where nothing ran yet.
    assert "and the migrations (after a backup of the database) in release" in said, said[-3000:]
    # The look on the host (test ! -e ...) found nothing, and the whole step ended well.
    assert re.search(rf"^{re.escape(host.backend.get_hostname())} \| CHANGED \| rc=0 >>",
                     log.read_text(), re.MULTILINE), said[-500:]  # fmt: skip
    assert re.search(r"# rc=0 in \d+ s\s*$", log.read_text()), said[-500:]


def test_deploy_yml_refused_the_new_host_saying_why(host):
    """converge.yml's deploy-refused step: the collection's deploy.yml on a host that site.yml
    never converged fails at its first check, and nothing of the blog's was made."""
    log = WORK / "deploy-refused.log"
    counts = recap(log, host.backend.get_hostname())
    assert counts["failed"] == 1 and counts["changed"] == 0, counts
    said = " ".join(log.read_text().split())
    refused = "/var/www/blog/current (app_deploy_current) is not a link to a release"
    assert refused in said, said[-2000:]
    assert "Run site.yml once" in said, said[-2000:]
    assert re.search(r"# rc=0 in \d+ s\s*$", log.read_text()), said[-500:]


def test_without_an_engine_the_sitemap_is_not_waited_for(host):
    """The infra repo lists no search engine (sitemap_submit_engines: []): nothing to wait for."""
    log = (WORK / "run.log").read_text()
    waited = re.search(
        r"^TASK \[selfhosted\.flask_blog\.sitemap_submit : Site, sitemap and the awaited URLs "
        r"answer\].*\n(?:.*\n)*?^(ok|skipping|changed|fatal|failed)\b",
        log,
        re.MULTILINE,
    )
    assert waited, "the wait task is not in the run's log"
    assert waited.group(1) == "skipping", waited.group(0)
