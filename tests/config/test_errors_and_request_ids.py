import pytest


@pytest.mark.django_db
class TestErrorEnvelope:
    def test_unknown_api_path_is_a_json_404(self, member):
        response = member.client.get("/api/v1/nothing-here/")
        assert response.status_code == 404
        assert response.json() == {
            "error": {"code": "not_found", "message": "Not found.", "details": {}}
        }

    def test_a_malformed_id_is_a_404_not_a_500(self, admin):
        assert admin.client.get("/api/v1/api-keys/not-a-uuid/").status_code == 404

    def test_wrong_method_is_405_in_the_envelope(self, member):
        response = member.client.delete("/api/v1/me")
        assert response.status_code == 405
        assert response.json()["error"]["code"] == "method_not_allowed"

    def test_broken_json_is_400_naming_the_problem(self, admin):
        response = admin.client.post(
            "/api/v1/api-keys/", data='{"name": "x",', content_type="application/json"
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "parse_error"
        assert "JSON parse error" in error["message"]

    def test_wrong_types_are_400_naming_the_field(self, admin):
        response = admin.client.post("/api/v1/api-keys/", data=[1, 2], format="json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid"

    def test_an_unsupported_media_type_is_415(self, admin):
        response = admin.client.post("/api/v1/api-keys/", data="name=x", content_type="text/plain")
        assert response.status_code == 415
        assert response.json()["error"]["code"] == "unsupported_media_type"


@pytest.mark.django_db
class TestRequestId:
    def test_every_response_carries_one(self, client, member):
        ids = {
            client.get("/healthz")["X-Request-ID"],
            member.client.get("/api/v1/me")["X-Request-ID"],
            member.client.get("/api/v1/missing")["X-Request-ID"],
        }
        assert len(ids) == 3 and all(len(i) == 32 for i in ids)

    def test_a_valid_incoming_id_is_echoed(self, client):
        response = client.get("/healthz", HTTP_X_REQUEST_ID="trace-1234-abcd")
        assert response["X-Request-ID"] == "trace-1234-abcd"

    def test_an_invalid_incoming_id_is_replaced(self, client):
        response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
        assert response["X-Request-ID"] != "bad id\nwith newline"
        assert len(response["X-Request-ID"]) == 32
