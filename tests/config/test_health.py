import pytest

from config.celery import app as celery_app


@pytest.mark.django_db
class TestHealth:
    def test_healthz_is_alive_without_touching_dependencies(
        self, client, django_assert_num_queries
    ):
        with django_assert_num_queries(0):
            response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    def test_readyz_reports_each_component(self, client):
        response = client.get("/readyz")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert set(body["components"]) == {"database", "cache", "storage", "broker"}
        assert all(c["status"] == "ok" for c in body["components"].values())

    def test_readyz_is_503_when_the_broker_is_unreachable(
        self, client, unused_tcp_port, monkeypatch
    ):
        # A real outage: nothing listens on that port, so connecting fails. Celery reads the
        # environment variable before its configuration, so both point there (the configuration
        # first: patching it saves the value it reads, which must not be the patched variable).
        dead_broker = f"redis://127.0.0.1:{unused_tcp_port}/0"
        monkeypatch.setattr(celery_app.conf, "broker_url", dead_broker)
        monkeypatch.setenv("CELERY_BROKER_URL", dead_broker)
        response = client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "down"
        assert body["components"]["broker"]["status"] == "down"
        assert "refused" in body["components"]["broker"]["error"].lower()
        assert body["components"]["database"]["status"] == "ok"
