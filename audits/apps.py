from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "audits"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audits.selectors import findings_text_by_line
        from projects.services import exports

        exports.findings_by_line[:] = [findings_text_by_line]
