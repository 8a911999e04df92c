"""The admin's app config: Django's admin with Kalkula's site (config/admin_site.py)."""

# The module, not the class: Django would take an AppConfig named in this module for the app
# config of the `config` package itself.
from django.contrib.admin import apps as admin_apps


class KalkulaAdminConfig(admin_apps.AdminConfig):
    # Not the app config of the `config` package itself (which keeps Django's default).
    default = False
    default_site = "config.admin_site.KalkulaAdminSite"
