#!/usr/bin/python
# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: publish_article
short_description: Publish an article through the example blog's publishing API
description:
  - Sends one article (title, slug, body, language and optionally published_at) to the blog's
    publishing API (C(POST /api/articles) with a bearer token), which creates the article or
    updates the one with the same slug.
  - The blog answers whether it created, updated or left the article unchanged; the module
    reports a change only for the first two, so publishing the same article again is
    idempotent.
  - The POST is an upsert keyed by the slug, so repeating it after a 429, a 5xx or a lost
    connection is safe; the module retries those up to O(retries) times with backoff.
  - In check mode nothing is sent; the module reads the stored article (C(GET
    /api/articles/<slug>)) and compares the fields the blog stores, normalised as the blog
    does, to tell whether publishing would change anything.
version_added: 0.1.0
author:
  - selfhosted.flask_blog maintainers (@selfhosted)
options:
  article:
    description:
      - The article, as the API takes it, with the keys C(title), C(slug), C(body),
        C(language) and optionally C(published_at) (an ISO 8601 date or datetime; without
        it the blog keeps the stored date, or uses the time of the first publication).
      - Exactly one of O(article) and O(article_file) is required.
    type: dict
  article_file:
    description:
      - A JSON file holding the article (one JSON object), for example C(article.en.json).
      - The file is read on the host the module runs on.
      - Exactly one of O(article) and O(article_file) is required.
    type: path
  publish_url:
    description:
      - The URL of the publishing API (the blog's C(ONLINE_BLOG_PUBLISH_URL)), for example
        V(https://blog.example.com/api/articles).
      - When not given, the E(ONLINE_BLOG_PUBLISH_URL) environment variable of the module is
        used.
    type: str
    required: true
  token:
    description:
      - The bearer token of the API (the blog's C(AUTO_PUBLISH_TOKEN)).
      - When not given, the E(AUTO_PUBLISH_TOKEN) environment variable of the module is used.
      - It is never returned or logged.
    type: str
    required: true
  timeout:  # described by the site_client doc fragment; the default is this module's
    default: 30
  retries:
    description:
      - How many times a request is repeated after HTTP 429, a 5xx or no answer at all, with
        exponential backoff (or the server's Retry-After). Safe for the POST, which is an
        idempotent upsert.
    type: int
    default: 2
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - selfhosted.flask_blog.site_client
attributes:
  check_mode:
    support: full
    details: Only reads the stored article; nothing is sent to be published.
  diff_mode:
    support: full
    details: Shows the stored fields (title, body, language, published_at) before and after.
  platform:
    platforms: posix
seealso:
  - module: selfhosted.flask_blog.site_health
"""

EXAMPLES = r"""
- name: Publish an article from a JSON file
  selfhosted.flask_blog.publish_article:
    article_file: /srv/articles/welcome.en.json
    publish_url: https://blog.example.com/api/articles
    token: "{{ blog_publish_token }}"
  register: published

- name: The article's public URL, as the blog answered it
  ansible.builtin.debug:
    msg: "{{ published.status }}: {{ published.url }}"

- name: Publish through loopback, on the server itself, before DNS points at it
  selfhosted.flask_blog.publish_article:
    article:
      title: Backups you have actually restored
      slug: backups-that-restore
      language: en
      published_at: "2026-11-02T07:30:00Z"
      body: "{{ lookup('ansible.builtin.file', 'backups.txt') }}"
    publish_url: https://blog.example.com/api/articles
    connect_to: 127.0.0.1
    token: "{{ blog_publish_token }}"
"""

RETURN = r"""
status:
  description:
    - The blog's answer, V(created), V(updated) or V(unchanged).
    - In check mode, the answer the blog would give; V(null) when the article has no slug.
  returned: always
  type: str
  sample: created
slug:
  description: The slug of the article.
  returned: always
  type: str
  sample: welcome
url:
  description:
    - The public URL of the article, as the blog answered it (built from its SITE_PUBLIC_URL,
      never by the module).
    - In check mode, the URL the blog gives the stored article; V(null) for a new article.
  returned: always
  type: str
  sample: https://blog.example.com/articles/welcome
published_at:
  description:
    - When the article is (or is scheduled to be) published, as the blog stores it (UTC).
    - In check mode, the stored value; V(null) for a new article.
  returned: always
  type: str
  sample: "2026-10-05T09:00:00+00:00"
updated_at:
  description:
    - When the blog last changed the article (UTC).
    - In check mode, the stored value; V(null) for a new article.
  returned: always
  type: str
  sample: "2026-12-01T08:00:00+00:00"
http_status:
  description: The HTTP status of the blog's last answer when the module failed; V(null) when
    there was no answer.
  returned: failure
  type: int
  sample: 401
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback  # noqa: E402
from ansible_collections.selfhosted.flask_blog.plugins.module_utils import blog_api  # noqa: E402
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import (  # noqa: E402
    Client,
    client_argument_spec,
    resolve_for,
)

ARGUMENT_SPEC = {
    "article": {"type": "dict"},
    "article_file": {"type": "path"},
    "publish_url": {
        "type": "str",
        "required": True,
        "fallback": (env_fallback, ["ONLINE_BLOG_PUBLISH_URL"]),
    },
    "token": {
        "type": "str",
        "required": True,
        "no_log": True,
        "fallback": (env_fallback, ["AUTO_PUBLISH_TOKEN"]),
    },
    **client_argument_spec(timeout=30),
    "retries": {"type": "int", "default": 2},
}


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[("article", "article_file")],
        required_one_of=[("article", "article_file")],
        supports_check_mode=True,
    )
    params = module.params
    if params["retries"] < 0:
        module.fail_json(msg="retries must not be negative")
    try:
        publish_url = blog_api.check_publish_url(params["publish_url"])
        if params["article"] is not None:
            article = params["article"]
        else:
            article = blog_api.load_article_file(params["article_file"])
    except blog_api.ArticleError as err:
        module.fail_json(msg=str(err))

    client = Client(
        timeout=params["timeout"],
        validate_certs=params["validate_certs"],
        retries=params["retries"],
        resolve=resolve_for(params["connect_to"], publish_url),
    )
    api = blog_api.BlogAPI(client, publish_url, params["token"])
    try:
        outcome = blog_api.publish_article(
            api, article, check_mode=module.check_mode, diff=module._diff
        )
    except blog_api.PublishError as err:
        module.fail_json(msg=str(err), http_status=err.status)
    for warning in outcome["warnings"]:
        module.warn(warning)
    module.exit_json(**outcome["result"])


if __name__ == "__main__":
    main()
