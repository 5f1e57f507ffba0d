"""Shared helpers of the module tests (and of the module_utils tests that need the blog): the
example blog served on 127.0.0.1 in a thread, a fake command runner, running a module's main()
in-process, and a module's documentation with this collection's doc fragments applied."""

import contextlib
import importlib
import json
import sys
import threading
from pathlib import Path
from unittest import mock

import yaml
from ansible.module_utils import basic
from werkzeug.serving import WSGIRequestHandler, make_server

BLOG_DIR = Path(__file__).resolve().parents[4] / "examples" / "blog"
if str(BLOG_DIR) not in sys.path:
    sys.path.insert(0, str(BLOG_DIR))

PUBLIC_HOST = "blog.example.test"
TOKEN = "unit-test-publish-token-0123456789"
SAMPLE_DIR = BLOG_DIR / "sample_articles"


def sample_article(name="welcome.en.json"):
    return json.loads((SAMPLE_DIR / name).read_text(encoding="utf-8"))


class QuietHandler(WSGIRequestHandler):
    def log(self, type, message, *args):
        pass


class Server:
    """A WSGI app (the blog) on 127.0.0.1:<free port>, served in a thread; counts requests by
    method."""

    def __init__(self, app):
        self.requests = []
        self._app = app
        self._server = make_server(
            "127.0.0.1", 0, self._count, threaded=True, request_handler=QuietHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        self._server.serve_forever(poll_interval=0.02)

    def _count(self, environ, start_response):
        self.requests.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
        return self._app(environ, start_response)

    def count(self, method):
        return sum(1 for seen, _path in self.requests if seen == method)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._thread.join(10)
        self._server.server_close()


class Blog:
    """The example blog with a temporary SQLite database, served on 127.0.0.1; its public URL
    is http://blog.example.test:<port> unless public_url is given (a format string that may
    use {port})."""

    def __init__(self, tmp_path, public_url=None, token=TOKEN):
        from blog import create_app
        from blog.config import ENV_VARS

        config = dict.fromkeys(ENV_VARS)
        config.update(
            {
                "TESTING": True,
                "SECRET_KEY": "unit-test-secret-key",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'blog.db'}",
                "SITE_PUBLIC_URL": "http://placeholder.invalid",
                "AUTO_PUBLISH_TOKEN": token,
                "UPLOAD_DIR": str(tmp_path / "uploads"),
            }
        )
        self.app = create_app(config)
        self.server = Server(self.app)
        self.port = self.server.port
        self.url = f"http://{PUBLIC_HOST}:{self.port}"
        self.app.config["SITE_PUBLIC_URL"] = (public_url or self.url).format(port=self.port)
        self.publish_url = self.url + "/api/articles"
        self.server.start()

    def add(self, article):
        """Store an article through the blog's own upsert (not through HTTP)."""
        from blog.articles import parse_article, upsert_article
        from blog.db import get_db

        with self.app.app_context():
            return upsert_article(get_db(), parse_article(article))[0]

    def rows(self):
        """Every stored article as a dict, to prove nothing was written."""
        import sqlite3

        conn = sqlite3.connect(self.app.config["DATABASE"])
        conn.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in conn.execute("SELECT * FROM articles ORDER BY slug")]
        finally:
            conn.close()

    def stop(self):
        self.server.stop()


def welcome_article():
    """The welcome sample, dated in the past whatever today's date is."""
    article = sample_article("welcome.en.json")
    article["published_at"] = "2020-01-05T09:00:00Z"
    return article


class FakeRunner:
    """runner(argv) -> (rc, stdout, stderr) from a table keyed by the argv tuple; every call is
    recorded. Unknown commands answer rc 127."""

    def __init__(self, answers=None):
        self.answers = dict(answers or {})
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        return self.answers.get(tuple(argv), (127, "", f"{argv[0]}: not faked"))


def healthy_runner(units=("blog.service",)):
    answers = {("systemctl", "is-active", unit): (0, "active\n", "") for unit in units}
    answers[("nginx", "-t")] = (
        0,
        "",
        "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n"
        "nginx: configuration file /etc/nginx/nginx.conf test is successful\n",
    )
    return FakeRunner(answers)


class ModuleExit(Exception):
    def __init__(self, result):
        super().__init__(result)
        self.result = result


class ModuleFail(Exception):
    def __init__(self, result):
        super().__init__(result.get("msg"))
        self.result = result


def _exit_json(self, **kwargs):
    kwargs.setdefault("changed", False)
    raise ModuleExit(kwargs)


def _fail_json(self, msg, **kwargs):
    kwargs["msg"] = msg
    kwargs["failed"] = True
    raise ModuleFail(kwargs)


@contextlib.contextmanager
def module_args(args):
    """Expose args to AnsibleModule (ansible-core 2.19's patch_module_args, or the older
    _ANSIBLE_ARGS pattern)."""
    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:
        payload = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        with mock.patch.object(basic, "_ANSIBLE_ARGS", payload):
            yield
    else:
        with patch_module_args(args):
            yield


def run_module(main, args, check_mode=False, diff=False):
    """Run a module's main() in-process. Returns (result, failed); the module's warnings, if
    any, are in result["warnings"], as exit_json and fail_json return them."""
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    warnings = []

    def warn(self, warning):
        warnings.append(warning)

    with (
        module_args(args),
        mock.patch.object(basic.AnsibleModule, "exit_json", _exit_json),
        mock.patch.object(basic.AnsibleModule, "fail_json", _fail_json),
        mock.patch.object(basic.AnsibleModule, "warn", warn),
    ):
        try:
            main()
        except (ModuleExit, ModuleFail) as done:
            if warnings:
                done.result["warnings"] = warnings
            return done.result, isinstance(done, ModuleFail)
    raise AssertionError("the module returned without exit_json or fail_json")


def documented_options(module):
    """The options of a module's DOCUMENTATION as ansible-doc shows them: those of this
    collection's doc fragments named in extends_documentation_fragment, each updated with what
    the module itself documents for it (ansible-core's merge), and the module's own."""
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = {}
    for name in doc.get("extends_documentation_fragment", []):
        collection, _dot, fragment = name.rpartition(".")
        if collection == "selfhosted.flask_blog":
            package = "ansible_collections.selfhosted.flask_blog.plugins.doc_fragments."
            text = importlib.import_module(package + fragment).ModuleDocFragment.DOCUMENTATION
            options.update(yaml.safe_load(text)["options"])
    for name, option in doc["options"].items():
        options[name] = {**options.get(name, {}), **option}
    return options


def assert_documented(options, spec, where="options"):
    """The documented `options` are those of the argument `spec`, with its types, defaults and
    required flags, and a description each; suboptions too."""
    assert set(options) == set(spec), where
    for name, option in spec.items():
        assert options[name]["type"] == option.get("type", "str"), (where, name)
        assert options[name].get("default") == option.get("default"), (where, name)
        assert options[name].get("required", False) == option.get("required", False)
        assert options[name]["description"], (where, name)
        if "options" in option:
            assert_documented(options[name]["suboptions"], option["options"], name)
