import json

from conftest import SAMPLE_DIR, article_count
from werkzeug.security import check_password_hash


def test_load_sample_articles_is_idempotent(app):
    runner = app.test_cli_runner()
    files = sorted(str(path) for path in SAMPLE_DIR.glob("*.json"))
    assert len(files) >= 2

    first = runner.invoke(args=["load-articles", *files])
    assert first.exit_code == 0, first.output
    assert first.output.count("created: ") == len(files)
    assert article_count(app) == len(files)

    again = runner.invoke(args=["load-articles", str(SAMPLE_DIR)])  # a directory works too
    assert again.exit_code == 0, again.output
    assert again.output.count("unchanged: ") == len(files)
    assert article_count(app) == len(files)


def test_load_articles_updates_and_reports_errors(app, tmp_path):
    runner = app.test_cli_runner()
    article = {"title": "Note", "slug": "note", "body": "Text.", "language": "en"}
    path = tmp_path / "note.en.json"
    path.write_text(json.dumps(article))
    assert "created: note" in runner.invoke(args=["load-articles", str(path)]).output

    path.write_text(json.dumps({**article, "body": "Better text."}))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**article, "slug": "Not A Slug"}))
    result = runner.invoke(args=["load-articles", str(path), str(bad)])
    assert result.exit_code == 1
    assert "updated: note" in result.output
    assert "slug" in result.output and "bad.json" in result.output
    assert article_count(app) == 1


def test_init_db_is_idempotent(app):
    runner = app.test_cli_runner()
    for _attempt in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0
        assert "schema version 1" in result.output


def test_hash_password_from_stdin(app):
    result = app.test_cli_runner().invoke(args=["hash-password", "--stdin"], input="s3cret pw\n")
    assert result.exit_code == 0
    password_hash = result.output.strip()
    assert check_password_hash(password_hash, "s3cret pw")
    assert "s3cret" not in password_hash


def test_hash_password_prompts(app):
    result = app.test_cli_runner().invoke(args=["hash-password"], input="pw\npw\n")
    assert result.exit_code == 0
    assert check_password_hash(result.output.strip().splitlines()[-1], "pw")


def test_hash_password_rejects_empty(app):
    result = app.test_cli_runner().invoke(args=["hash-password", "--stdin"], input="\n")
    assert result.exit_code != 0
