"""WSGI entry point: gunicorn wsgi:app (run from examples/blog)."""

from blog import create_app

app = create_app()
