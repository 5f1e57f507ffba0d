#!/usr/bin/python
# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: site_health
short_description: Check a deployed blog the way a release checklist would
description:
  - Runs a set of read-only checks against a deployed site and reports one structured result
    per check; fails listing every failing check with its reason.
  - Pages answer with the expected HTTP status and contain the expected text; the canonical
    links of those pages are on the public scheme and host; the sitemap is valid and lists the
    URLs it must; systemd units are active; C(nginx -t) accepts the configuration; the
    environment file has every required key with a non-empty value.
  - With O(connect_to) the site can be checked through another address (for example the
    loopback interface) with its public name in the Host header, for SNI and for the
    certificate check, before DNS points at the server.
  - With O(retries) the whole set of checks is repeated until it passes, for example to wait
    for a site to become healthy after a deployment.
  - The module never changes anything, and never reads the values of the environment file into
    its results.
version_added: 0.1.0
author:
  - selfhosted.flask_blog maintainers (@selfhosted)
options:
  url:
    description:
      - The public base URL of the site, for example V(https://blog.example.com) or
        V(https://example.com/blog).
      - Page and sitemap paths are relative to it, including its path prefix.
    type: str
    required: true
  timeout:  # described by the site_client doc fragment; the default is this module's
    default: 10
  pages:
    description:
      - The pages to fetch. Redirects are followed; the status checked is that of the final
        answer.
    type: list
    elements: dict
    default: [{path: /}]
    suboptions:
      path:
        description:
          - The path of the page, relative to O(url) (or an absolute URL).
        type: str
        required: true
      status:
        description:
          - The HTTP status the page must answer with.
        type: int
        default: 200
      contains:
        description:
          - Strings that must all appear in the body of the page (case-sensitive).
        type: list
        elements: str
        default: []
  canonical:
    description:
      - Whether the absolute URLs of each page's C(<link rel="canonical">) and C(og:url) must
        be on the scheme and host of O(url); the check lists the offenders.
      - The sitemap check always requires its C(<loc>) URLs to be on the scheme and host of
        O(url), as search engines do.
    type: bool
    default: true
  sitemap:
    description:
      - The sitemap check. The sitemap (or sitemap index and its sitemaps) is fetched and
        checked against the sitemaps.org rules, every C(<loc>) on the scheme and host of O(url).
      - Not set or V(null) skips the sitemap check; V({}) checks C(/sitemap.xml) with the
        defaults below. (ansible-core 2.19 refuses V(null) for a dict option whose default is
        not V(null), so the check cannot be on by default and still be skipped with V(null).)
    type: dict
    suboptions:
      path:
        description:
          - The path of the sitemap, relative to O(url).
        type: str
        default: /sitemap.xml
      must_include:
        description:
          - URLs the sitemap must list; paths are made absolute on O(url).
        type: list
        elements: str
        default: []
      required:
        description:
          - Whether the sitemap must exist. With V(false), a sitemap that answers HTTP 404 or
            410 passes the check; one that exists must still be valid.
        type: bool
        default: true
  services:
    description:
      - systemd units that must be active (C(systemctl is-active)).
    type: list
    elements: str
    default: []
  nginx_test:
    description:
      - Whether to run C(nginx -t); its error output is reported when it fails.
    type: bool
    default: false
  env_file:
    description:
      - An environment file as systemd's C(EnvironmentFile=) reads it (C(KEY=VALUE) lines,
        comments, quotes). It must be readable by the user the module runs as.
      - Only which keys are set, and whether they are empty, is used; values are never
        returned or logged.
    type: path
  env_keys:
    description:
      - Keys that must be present with a non-empty value in O(env_file).
      - When O(env_file) cannot be read, only the C(env file) check is reported.
    type: list
    elements: str
    default: []
  retries:
    description:
      - How many times to repeat the whole set of checks when some fail (V(0) = run them once).
    type: int
    default: 0
  delay:
    description:
      - Seconds to wait between two attempts.
    type: float
    default: 2.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - selfhosted.flask_blog.site_client
attributes:
  check_mode:
    support: full
    details: The module only reads; it runs the same checks in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The services and C(nginx -t) checks need C(systemctl) and C(nginx) on the managed host,
    and C(nginx -t) usually needs root (C(become)).
seealso:
  - module: selfhosted.flask_blog.publish_article
"""

EXAMPLES = r"""
- name: Check the site through loopback before DNS points at the server
  selfhosted.flask_blog.site_health:
    url: https://blog.example.com
    connect_to: 127.0.0.1
    pages:
      - path: /
        contains: ["Latest articles"]
      - path: /healthz
        contains: ['"status":"ok"']
      - path: /articles/no-such-article
        status: 404
    sitemap:
      must_include:
        - /articles/welcome
    services:
      - blog.socket
      - blog.service
      - nginx.service
    nginx_test: true
    env_file: /var/www/blog/.env
    env_keys:
      - SECRET_KEY
      - AUTO_PUBLISH_TOKEN
  become: true

- name: Wait for the site to become healthy after a deployment
  selfhosted.flask_blog.site_health:
    url: "{{ blog_public_url }}"
    connect_to: 127.0.0.1
    retries: 10
    delay: 3

- name: Check the home page and /sitemap.xml, without failing, then decide
  selfhosted.flask_blog.site_health:
    url: https://blog.example.com
    sitemap: {}
  register: health
  ignore_errors: true

- name: Show what failed
  ansible.builtin.debug:
    var: health.failed_checks
"""

RETURN = r"""
checks:
  description:
    - One result per check of the last attempt, in a fixed order (pages with their canonical
      checks, sitemap, sitemap includes, services, nginx -t, env file, env keys).
    - Checks that depend on one that failed (C(sitemap includes) after C(sitemap), C(env key)
      after C(env file)) are left out.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The check, e.g. C(page /), C(canonical /), C(sitemap), C(sitemap includes),
        C(service blog.service), C(nginx -t), C(env file), C(env key AUTO_PUBLISH_TOKEN).
      type: str
      returned: always
      sample: page /
    ok:
      description: Whether the check passed.
      type: bool
      returned: always
      sample: true
    reason:
      description: Why the check failed; empty when it passed.
      type: str
      returned: always
      sample: expected HTTP 200, got HTTP 502
    details:
      description:
        - A few facts about the check, e.g. C(url), C(status), C(elapsed_ms), C(found) and
          C(offenders) (canonical), C(missing), C(state) (services), C(rc).
        - The C(sitemap) check has C(present), C(entries) (how many URLs), C(files) (the
          sitemap files read) and C(newest), the URL with the latest C(<lastmod>) other than
          the home page (the first other URL when none has a C(<lastmod>); V(null) when the
          sitemap lists no other URL).
      type: dict
      returned: always
      sample: {"url": "https://blog.example.com/", "status": 200, "expected_status": 200,
               "elapsed_ms": 12}
  sample:
    - name: page /
      ok: true
      reason: ""
      details: {"url": "https://blog.example.com/", "status": 200, "expected_status": 200,
                "elapsed_ms": 12}
    - name: canonical /
      ok: true
      reason: ""
      details: {"url": "https://blog.example.com/", "found": ["https://blog.example.com/"],
                "offenders": []}
    - name: service blog.service
      ok: false
      reason: blog.service is failed, not active
      details: {"state": "failed", "rc": 3}
attempts:
  description: How many times the set of checks ran.
  returned: always
  type: int
  sample: 1
failed_checks:
  description: The names of the checks that failed in the last attempt.
  returned: always
  type: list
  elements: str
  sample: ["service blog.service", "env key AUTO_PUBLISH_TOKEN"]
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.selfhosted.flask_blog.plugins.module_utils import site_checks  # noqa: E402
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import (  # noqa: E402
    Client,
    client_argument_spec,
    resolve_for,
)

ARGUMENT_SPEC = {
    "url": {"type": "str", "required": True},
    **client_argument_spec(timeout=10),
    "pages": {
        "type": "list",
        "elements": "dict",
        "default": [{"path": "/"}],
        "options": {
            "path": {"type": "str", "required": True},
            "status": {"type": "int", "default": 200},
            "contains": {"type": "list", "elements": "str", "default": []},
        },
    },
    "canonical": {"type": "bool", "default": True},
    "sitemap": {
        "type": "dict",
        "options": {
            "path": {"type": "str", "default": "/sitemap.xml"},
            "must_include": {"type": "list", "elements": "str", "default": []},
            "required": {"type": "bool", "default": True},
        },
    },
    "services": {"type": "list", "elements": "str", "default": []},
    "nginx_test": {"type": "bool", "default": False},
    "env_file": {"type": "path"},
    "env_keys": {"type": "list", "elements": "str", "default": [], "no_log": False},
    "retries": {"type": "int", "default": 0},
    "delay": {"type": "float", "default": 2.0},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    if params["retries"] < 0 or params["delay"] < 0:
        module.fail_json(msg="retries and delay must not be negative")
    if params["env_keys"] and not params["env_file"]:
        module.fail_json(msg="env_keys needs env_file")
    try:
        site_checks.base_url(params["url"])
    except site_checks.CheckError as err:
        module.fail_json(msg=str(err))

    def runner(argv):
        path = module.get_bin_path(argv[0])
        if path is None:
            return 127, "", f"{argv[0]}: command not found"
        return module.run_command([path, *argv[1:]])

    client = Client(
        timeout=params["timeout"],
        validate_certs=params["validate_certs"],
        retries=0,
        resolve=resolve_for(params["connect_to"], params["url"]),
    )
    checks, attempts = site_checks.check_until_healthy(
        params, client, runner, retries=params["retries"], delay=params["delay"]
    )
    result = {
        "changed": False,
        "checks": checks,
        "attempts": attempts,
        "failed_checks": [check["name"] for check in site_checks.failed(checks)],
    }
    if result["failed_checks"]:
        module.fail_json(msg=site_checks.failure_message(checks, attempts), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
