#!/usr/bin/python
# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sitemap_submit
short_description: Tell search engines about the new and changed pages of a sitemap
description:
  - Fetches the site's sitemap (or sitemap index and the sitemaps it lists), validates it
    against the sitemaps.org rules, and submits to each configured search engine only the
    URLs it has not accepted yet, or has accepted with another C(<lastmod>).
  - What each engine accepted is recorded in a state file on the managed host (O(state_path)),
    so a second run with an unchanged sitemap sends no request to any engine and reports
    no change.
  - The engines are IndexNow (Bing, Yandex, Seznam, Naver, Yep and the other IndexNow engines),
    Google Search Console, Baidu link push and the Bing Webmaster API. An engine is used when
    its option (O(indexnow), O(google), O(baidu), O(bing)) is given.
  - Every configured engine's credentials and options are checked, and the sitemap is fetched
    and validated, before any engine is contacted.
version_added: 0.1.0
author:
  - selfhosted.flask_blog maintainers (@selfhosted)
options:
  sitemap_url:
    description:
      - The URL of the sitemap or sitemap index, for example V(https://blog.example.com/sitemap.xml).
      - A sitemap index is followed one level (the sitemaps it lists); gzip files are read too.
      - This URL is what the sitemap engines (Google) are given.
    type: str
    required: true
  site_url:
    description:
      - The site's public base URL. Every C(<loc>) of the sitemap must be on its scheme, host
        and port, and the engines are told this site; only its scheme, host and port are used.
      - Defaults to the scheme, host and port of O(sitemap_url).
    type: str
  connect_to:  # described here, not by the site_client fragment: it serves the sitemap only
    description:
      - An address (IP or host name) to connect to instead of what DNS says for the host of
        O(sitemap_url) (and of O(site_url)), for fetching the sitemap only; the public name is
        still used for the C(Host) header, SNI and the certificate check (like
        C(curl --resolve)). The engines are always reached through DNS.
      - V(127.0.0.1) reads the sitemap from this host's own web server, before DNS points at it.
      - Not set, DNS is used.
    type: str
  timeout:  # described by the site_client doc fragment; the default is this module's
    default: 30
  retries:
    description:
      - How many more times an HTTP request is sent after an answer 429 or 5xx or a failed
        connection; V(0) never retries.
    type: int
    default: 3
  retry_delay:
    description:
      - Seconds before the first retry; each next retry waits twice as long. An engine's
        C(Retry-After) is honoured instead, up to O(retry_max_delay).
    type: float
    default: 1.0
  retry_max_delay:
    description:
      - Longest wait between two retries, in seconds.
    type: float
    default: 60.0
  state_path:
    description:
      - The JSON file that records, per engine, the URLs it accepted and their C(<lastmod>).
      - Written atomically, mode C(0600), its directory created (mode C(0755)) when missing;
        only when an engine accepted something, and never in check mode.
      - A file that is not a valid state file fails the run (it is not silently replaced, which
        would submit every URL again); remove it to start over.
    type: path
    default: /var/lib/flask_blog/sitemap_submit.json
  strict:
    description:
      - What to do with an engine that is configured without its credentials (for example
        O(indexnow) without O(indexnow.key)).
      - V(false) skips that engine with a warning naming the option; V(true) fails before
        anything is sent.
    type: bool
    default: false
  indexnow:
    description:
      - Submit to IndexNow (U(https://www.indexnow.org)), shared by Bing, Yandex, Seznam, Naver
        and others. Not set, IndexNow is not used.
      - The new and changed URLs are sent in one request (up to 10,000 a request).
    type: dict
    suboptions:
      key:
        description:
          - The IndexNow key, 8 to 128 letters, digits and dashes, that the site serves at
            C(/<key>.txt) (or at O(indexnow.key_location)). Required for IndexNow to be used.
        type: str
      key_location:
        description:
          - The URL of the key file when it is not C(/<key>.txt) at the root of the site; on
            the site's host.
        type: str
      endpoint:
        description:
          - The IndexNow API endpoint; any participating engine's works.
        type: str
        default: https://api.indexnow.org/indexnow
  google:
    description:
      - Submit the sitemap to Google Search Console (sitemaps.submit). Google takes the
        sitemap, not single URLs; it is submitted (O(sitemap_url), once) when any of its URLs
        is new or changed. Not set, Google is not used.
      - One of O(google.access_token), O(google.service_account_key) and
        O(google.service_account_file) is required; the account must be an owner or user of
        the Search Console property.
      - A service-account key is signed on the managed host, which needs the Python library
        C(cryptography).
    type: dict
    suboptions:
      access_token:
        description:
          - An OAuth 2.0 access token with the C(webmasters) scope (short-lived).
        type: str
      service_account_file:
        description:
          - The path of a service-account JSON key on the managed host.
        type: path
      service_account_key:
        description:
          - The content of a service-account JSON key (the JSON text, or the key already
            parsed as a dictionary), for example from a vault.
        type: raw
      property:
        description:
          - The Search Console property, a URL-prefix property such as
            V(https://blog.example.com/) or a domain property such as V(sc-domain:example.com).
          - Defaults to the site URL with a trailing slash.
        type: str
      endpoint:
        description:
          - The Search Console API base URL.
        type: str
        default: https://www.googleapis.com/webmasters/v3
      token_uri:
        description:
          - The OAuth token URI a service account's signed token is exchanged at.
          - Defaults to the key's C(token_uri), else V(https://oauth2.googleapis.com/token).
        type: str
  baidu:
    description:
      - Submit to Baidu's link push API (search resource platform). Not set, Baidu is not used.
      - URLs over the day's quota are deferred to the next run, with a warning.
    type: dict
    suboptions:
      token:
        description:
          - The push token shown by Baidu's search resource platform for the site. Required for
            Baidu to be used.
        type: str
      site:
        description:
          - The site as registered at Baidu. Defaults to the site URL without a trailing slash.
        type: str
      endpoint:
        description:
          - The link push endpoint.
        type: str
        default: http://data.zz.baidu.com/urls
  bing:
    description:
      - Submit to the Bing Webmaster API (SubmitUrlBatch), within the site's URL submission
        quota; URLs over it are deferred to the next run, with a warning. Not set, the Bing
        Webmaster API is not used (IndexNow reaches Bing too).
    type: dict
    suboptions:
      api_key:
        description:
          - The Bing Webmaster API key. Required for the Bing Webmaster API to be used.
        type: str
      site_url:
        description:
          - The site as verified in Bing Webmaster Tools. Defaults to the site URL with a
            trailing slash.
        type: str
      endpoint:
        description:
          - The Bing Webmaster API base URL (JSON flavour).
        type: str
        default: https://ssl.bing.com/webmaster/api.svc/json
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - selfhosted.flask_blog.site_client
attributes:
  check_mode:
    support: full
    details: The sitemap is fetched and compared with the state file as in a real run; nothing
      is sent to any engine and nothing is written. RV(engines) tells what would be submitted.
  diff_mode:
    support: full
    details: Per engine, the URLs submitted (or, in check mode, that would be).
  platform:
    platforms: posix
notes:
  - "Change detection: a URL is submitted to an engine when that engine has not accepted its
    C(<loc>) yet, or accepted it with another C(<lastmod>). A URL without C(<lastmod>) is
    submitted only once, the first time its C(<loc>) is seen: give pages a C(<lastmod>) to
    have a changed page submitted again."
  - URLs an engine accepted are recorded for that engine only; URLs it rejected are not, and
    are tried again (and reported) on the next run; URLs it deferred (a quota) are sent on the
    next run.
  - When nothing is new or changed for any engine, no request is sent to any engine and the
    result is C(changed=false).
  - An engine that fails does not lose the other engines' results; the state is saved for
    those that accepted URLs, then the task fails naming the engine and its message.
  - "The sitemap must follow U(https://www.sitemaps.org/protocol.html): UTF-8, the sitemaps.org
    namespace, absolute C(<loc>) URLs on the site's scheme and host, shorter than 2,048
    characters, at most 50,000 URLs and 50 MB (uncompressed) per file, C(<lastmod>) in W3C
    datetime format. A DOCTYPE is refused. Anything else fails the task, naming the file and
    the line or the URL, before any engine is contacted."
seealso:
  - name: sitemaps.org protocol
    description: The sitemap format this module validates.
    link: https://www.sitemaps.org/protocol.html
  - name: IndexNow documentation
    description: The IndexNow protocol and its key file.
    link: https://www.indexnow.org/documentation
  - module: selfhosted.flask_blog.site_health
"""

EXAMPLES = r"""
- name: Tell the search engines about new and changed articles
  selfhosted.flask_blog.sitemap_submit:
    sitemap_url: "{{ blog_public_url }}/sitemap.xml"
    connect_to: 127.0.0.1        # read it from this host's Nginx, whatever DNS says
    state_path: /var/lib/blog/sitemap_submit.json
    indexnow:
      key: "{{ vault_indexnow_key }}"
    baidu:
      token: "{{ vault_baidu_token }}"
    bing:
      api_key: "{{ vault_bing_api_key }}"
  become: true
  register: submitted

- name: Say what each engine took
  ansible.builtin.debug:
    msg: "{{ item.key }}: {{ item.value.status }} ({{ item.value.message }})"
  loop: "{{ submitted.engines | dict2items }}"

- name: Submit the sitemap to Google with a service account from the vault; fail on a missing key
  selfhosted.flask_blog.sitemap_submit:
    sitemap_url: https://blog.example.com/sitemap.xml
    strict: true
    google:
      service_account_key: "{{ vault_google_service_account_key }}"
      property: sc-domain:example.com

- name: What would be submitted, without sending anything
  selfhosted.flask_blog.sitemap_submit:
    sitemap_url: https://blog.example.com/sitemap.xml
    indexnow:
      key: "{{ vault_indexnow_key }}"
  check_mode: true
  diff: true
"""

RETURN = r"""
urls:
  description: How many URLs the sitemap (all its files) lists.
  returned: always
  type: int
  sample: 42
sitemaps:
  description: The sitemap files read, the one of O(sitemap_url) first.
  returned: always
  type: list
  elements: str
  sample: ["https://blog.example.com/sitemap.xml"]
requests:
  description: HTTP requests sent in all, the sitemap's included (retries count).
  returned: always
  type: int
  sample: 3
state_path:
  description: The state file.
  returned: always
  type: str
  sample: /var/lib/flask_blog/sitemap_submit.json
engines:
  description:
    - One entry per configured engine, keyed by its name (V(indexnow), V(google), V(baidu),
      V(bing)).
  returned: always
  type: dict
  sample:
    indexnow:
      status: submitted
      pending: 1
      submitted: ["https://blog.example.com/articles/new-post"]
      accepted: ["https://blog.example.com/articles/new-post"]
      rejected: []
      deferred: []
      requests: 1
      message: 1 new or changed URL(s) accepted
  contains:
    status:
      description:
        - V(submitted) (everything pending was accepted; in check mode, would be submitted),
          V(partial) (some URLs rejected or deferred), V(unchanged) (nothing pending, nothing
          sent), V(failed) (the engine refused the submission or could not be reached),
          V(skipped) (credentials missing).
      type: str
      sample: submitted
    pending:
      description: How many URLs of the sitemap are new or changed for this engine.
      type: int
      sample: 1
    submitted:
      description:
        - What the engine was given (in check mode, would be) - the pending URLs, or for a
          sitemap engine (Google) the sitemap URL.
      type: list
      elements: str
      sample: ["https://blog.example.com/articles/new-post"]
    accepted:
      description: The URLs the engine accepted, now recorded in the state file.
      type: list
      elements: str
      sample: ["https://blog.example.com/articles/new-post"]
    rejected:
      description: The URLs the engine refused, with its reason; tried again on the next run.
      type: list
      elements: dict
      sample: [{"url": "https://blog.example.com/old", "reason": "not_valid"}]
    deferred:
      description: The URLs kept for the next run (the engine's quota is used up).
      type: list
      elements: str
      sample: []
    requests:
      description: HTTP requests sent to this engine.
      type: int
      sample: 1
    message:
      description: What happened, in words; the engine's own message when it failed.
      type: str
      sample: 1 new or changed URL(s) accepted
diff:
  description: Per engine, the URLs submitted and accepted (in check mode, that would be submitted).
  returned: in diff mode
  type: dict
  sample: {"before": {"indexnow": []}, "after": {"indexnow": ["https://blog.example.com/new"]}}
"""


from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.selfhosted.flask_blog.plugins.module_utils import submission  # noqa: E402
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import (  # noqa: E402
    Client,
    client_argument_spec,
    resolve_for,
)

ENGINE_OPTIONS = {
    "indexnow": {
        "key": {"type": "str", "no_log": True},
        "key_location": {"type": "str", "no_log": False},
        "endpoint": {"type": "str", "default": "https://api.indexnow.org/indexnow"},
    },
    "google": {
        "access_token": {"type": "str", "no_log": True},
        "service_account_file": {"type": "path"},
        "service_account_key": {"type": "raw", "no_log": True},
        "property": {"type": "str"},
        "endpoint": {"type": "str", "default": "https://www.googleapis.com/webmasters/v3"},
        "token_uri": {"type": "str", "no_log": False},
    },
    "baidu": {
        "token": {"type": "str", "no_log": True},
        "site": {"type": "str"},
        "endpoint": {"type": "str", "default": "http://data.zz.baidu.com/urls"},
    },
    "bing": {
        "api_key": {"type": "str", "no_log": True},
        "site_url": {"type": "str"},
        "endpoint": {"type": "str", "default": "https://ssl.bing.com/webmaster/api.svc/json"},
    },
}

ARGUMENT_SPEC = {
    "sitemap_url": {"type": "str", "required": True},
    "site_url": {"type": "str"},
    **client_argument_spec(timeout=30),
    "retries": {"type": "int", "default": 3},
    "retry_delay": {"type": "float", "default": 1.0},
    "retry_max_delay": {"type": "float", "default": 60.0},
    "state_path": {"type": "path", "default": "/var/lib/flask_blog/sitemap_submit.json"},
    "strict": {"type": "bool", "default": False},
}
ARGUMENT_SPEC.update(
    (name, {"type": "dict", "options": options}) for name, options in ENGINE_OPTIONS.items()
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    if params["timeout"] <= 0:
        module.fail_json(msg="timeout must be positive")
    if params["retries"] < 0 or params["retry_delay"] < 0 or params["retry_max_delay"] < 0:
        module.fail_json(msg="retries, retry_delay and retry_max_delay must not be negative")

    def client(resolve=None):
        return Client(
            timeout=params["timeout"],
            validate_certs=params["validate_certs"],
            retries=params["retries"],
            backoff=params["retry_delay"],
            max_delay=params["retry_max_delay"],
            resolve=resolve,
        )

    resolve = resolve_for(params["connect_to"], params["sitemap_url"], params["site_url"])

    def output(report):
        result = dict(report.result)
        diff = result.pop("diff")
        if module._diff:
            result["diff"] = diff
        for warning in report.warnings:
            module.warn(warning)
        return result

    try:
        report = submission.run(
            client(resolve),
            client(),
            params["sitemap_url"],
            {name: params[name] for name in ENGINE_OPTIONS},
            params["state_path"],
            site=params["site_url"],
            check_mode=module.check_mode,
            strict=params["strict"],
            move=module.atomic_move,
        )
    except submission.SubmissionError as err:
        module.fail_json(msg=str(err), **output(err.report))
    if report.failed:
        module.fail_json(msg=report.failed, **output(report))
    module.exit_json(**output(report))


if __name__ == "__main__":
    main()
