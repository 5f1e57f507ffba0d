import pytest
from notes import create_app


@pytest.fixture
def app(tmp_path):
    instance = tmp_path / "instance"
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "test.sqlite"),
            "LOG_DIR": str(tmp_path / "logs"),
        },
        instance_path=str(instance),
    )
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert "Initialized the database." in result.output
    return app


@pytest.fixture
def client(app):
    return app.test_client()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def register(self, username="alice", password="secret"):
        return self._client.post(
            "/auth/register", data={"username": username, "password": password}
        )

    def login(self, username="alice", password="secret"):
        return self._client.post("/auth/login", data={"username": username, "password": password})

    def logout(self):
        return self._client.get("/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)
