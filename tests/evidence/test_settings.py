import pytest

from tests.config.test_settings import manage_check


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "EVIDENCE_DOWNLOAD_URL_EXPIRY_SECONDS",
            "301",
            "EVIDENCE_DOWNLOAD_URL_EXPIRY_SECONDS: download links live at most 300 seconds",
        ),
        ("EVIDENCE_MAX_UPLOAD_BYTES", "0", "EVIDENCE_MAX_UPLOAD_BYTES: must be at least 1"),
    ],
)
def test_a_bad_evidence_setting_fails_start_up(tmp_path, variable, value, message):
    result = manage_check(tmp_path, **{variable: value})
    assert result.returncode != 0
    assert message in result.stderr
