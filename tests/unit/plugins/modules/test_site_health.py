"""site_health's main() in-process, against the example blog served on 127.0.0.1 in a thread
and reached through connect_to with its public name; commands through a faked run_command."""

import json
from unittest import mock

import pytest
from ansible.module_utils import basic
from ansible_collections.selfhosted.flask_blog.plugins.modules import site_health
from module_harness import (
    PUBLIC_HOST,
    assert_documented,
    documented_options,
    run_module,
    welcome_article,
)

SECRET_VALUE = "another-secret-that-must-not-leak"


@pytest.fixture
def blog(start_blog):
    return start_blog(articles=[welcome_article()])


@pytest.fixture
def commands():
    """Fake run_command/get_bin_path: answers by argv, every call recorded."""
    answers = {
        ("/usr/bin/systemctl", "is-active", "blog.service"): (0, "active\n", ""),
        ("/usr/bin/systemctl", "is-active", "blog.socket"): (3, "inactive\n", ""),
        ("/usr/sbin/nginx", "-t"): (1, "", 'nginx: [emerg] no "events" section\n'),
    }
    calls = []

    def run_command(self, args, **kwargs):
        calls.append(list(args))
        return answers[tuple(args)]

    def get_bin_path(self, arg, required=False, opt_dirs=None):
        return {"systemctl": "/usr/bin/systemctl", "nginx": "/usr/sbin/nginx"}.get(arg)

    with (
        mock.patch.object(basic.AnsibleModule, "run_command", run_command),
        mock.patch.object(basic.AnsibleModule, "get_bin_path", get_bin_path),
    ):
        yield calls


@pytest.fixture
def env_file(tmp_path):
    path = tmp_path / "blog.env"
    path.write_text(f"SECRET_KEY={SECRET_VALUE}\nAUTO_PUBLISH_TOKEN=\n", encoding="utf-8")
    return str(path)


def args_for(site, **extra):
    args = {
        "url": site.url,
        "connect_to": "127.0.0.1",
        "pages": [
            {"path": "/", "contains": ["Latest articles"]},
            {"path": "/articles/welcome"},
        ],
        "sitemap": {"must_include": ["/articles/welcome"]},
    }
    args.update(extra)
    return args


def test_documentation_matches_the_argument_spec():
    assert_documented(documented_options(site_health), site_health.ARGUMENT_SPEC)


@pytest.mark.parametrize("check_mode", [False, True])
def test_healthy_site_passes(blog, commands, check_mode):
    result, failed = run_module(
        site_health.main, args_for(blog, services=["blog.service"]), check_mode=check_mode
    )
    assert failed is False, result.get("msg")
    assert result["changed"] is False
    assert result["attempts"] == 1
    assert result["failed_checks"] == []
    assert [check["name"] for check in result["checks"]] == [
        "page /",
        "canonical /",
        "page /articles/welcome",
        "canonical /articles/welcome",
        "sitemap",
        "sitemap includes",
        "service blog.service",
    ]
    assert all(set(check) == {"name", "ok", "reason", "details"} for check in result["checks"])
    assert commands == [["/usr/bin/systemctl", "is-active", "blog.service"]]


def test_defaults_check_the_home_page(blog):
    result, failed = run_module(site_health.main, {"url": blog.url, "connect_to": "127.0.0.1"})
    assert failed is False, result.get("msg")
    assert [check["name"] for check in result["checks"]] == ["page /", "canonical /"]
    assert result["checks"][0]["details"]["url"] == f"http://{PUBLIC_HOST}:{blog.port}/"


def test_an_empty_sitemap_option_checks_the_default_sitemap(blog):
    args = {"url": blog.url, "connect_to": "127.0.0.1", "pages": [], "sitemap": {}}
    result, failed = run_module(site_health.main, args)
    assert failed is False, result.get("msg")
    (check,) = result["checks"]
    assert check["name"] == "sitemap"
    assert check["details"]["url"] == f"{blog.url}/sitemap.xml"
    assert check["details"]["entries"] == 2


def test_every_failure_is_listed(blog, commands, env_file):
    args = args_for(
        blog,
        pages=[{"path": "/", "status": 204}, {"path": "/articles/welcome", "contains": ["zzz"]}],
        sitemap={"must_include": ["/articles/unknown"]},
        services=["blog.service", "blog.socket"],
        nginx_test=True,
        env_file=env_file,
        env_keys=["SECRET_KEY", "AUTO_PUBLISH_TOKEN", "ADMIN_PASSWORD_HASH"],
    )
    result, failed = run_module(site_health.main, args)
    assert failed is True
    assert result["changed"] is False
    assert result["failed_checks"] == [
        "page /",
        "page /articles/welcome",
        "sitemap includes",
        "service blog.socket",
        "nginx -t",
        "env key AUTO_PUBLISH_TOKEN",
        "env key ADMIN_PASSWORD_HASH",
    ]
    msg = result["msg"]
    assert msg.startswith("7 of 13 checks failed: ")
    assert "page /: expected HTTP 204, got HTTP 200" in msg
    assert "page /articles/welcome: the body does not contain 'zzz'" in msg
    assert f"sitemap includes: not in the sitemap: {blog.url}/articles/unknown" in msg
    assert "service blog.socket: blog.socket is inactive, not active" in msg
    assert 'nginx -t: nginx -t failed (rc 1): nginx: [emerg] no "events" section' in msg
    assert f"env key AUTO_PUBLISH_TOKEN: empty in {env_file}" in msg
    assert f"env key ADMIN_PASSWORD_HASH: missing from {env_file}" in msg
    assert SECRET_VALUE not in json.dumps(result)


def test_retries_repeat_the_whole_set(start_blog):
    site = start_blog()
    args = {
        "url": site.url,
        "connect_to": "127.0.0.1",
        "pages": [{"path": "/articles/welcome"}],
        "sitemap": None,
        "retries": 2,
        "delay": 0,
    }
    result, failed = run_module(site_health.main, args)
    assert failed is True
    assert result["attempts"] == 3
    assert result["msg"].startswith("1 of 2 checks failed after 3 attempts: page /articles")
    assert site.server.count("GET") == 3


def test_commands_that_are_not_installed_fail_their_check(blog):
    with mock.patch.object(basic.AnsibleModule, "get_bin_path", lambda *a, **k: None):
        result, failed = run_module(
            site_health.main,
            {
                "url": blog.url,
                "connect_to": "127.0.0.1",
                "pages": [],
                "sitemap": None,
                "services": ["blog.service"],
                "nginx_test": True,
            },
        )
    assert failed is True
    assert result["failed_checks"] == ["service blog.service", "nginx -t"]
    assert "systemctl: command not found" in result["msg"]
    assert "nginx: command not found" in result["msg"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"url": "blog.example.com"}, "url must be an absolute http(s) URL"),
        ({"url": "https://blog.example.com", "retries": -1}, "must not be negative"),
        ({"url": "https://blog.example.com", "env_keys": ["SECRET_KEY"]}, "env_keys needs"),
    ],
)
def test_bad_options(args, message):
    result, failed = run_module(site_health.main, args)
    assert failed is True
    assert message in result["msg"]
