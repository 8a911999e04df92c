"""Ending live access however a grant ends: the admin edits tenants and memberships directly, so
the websockets of a suspended tenant or an ended membership are closed from here, and the
process caches of keys and usage (tenants.caches) forget what an edit changes."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tenants.access import access_end, member_access_group, tenant_access_group
from tenants.caches import forget_api_key, forget_api_keys, forget_tenant_usage
from tenants.models import ApiKey, Membership, Tenant


@receiver(post_save, sender=Tenant)
def close_sockets_of_suspended_tenant(sender: type, instance: Tenant, **kwargs: Any) -> None:
    if instance.status != Tenant.Status.ACTIVE:
        group = tenant_access_group(tenant_id=instance.pk)
        transaction.on_commit(lambda: access_end(group=group))


@receiver(post_delete, sender=Membership)
def close_sockets_of_ended_membership(sender: type, instance: Membership, **kwargs: Any) -> None:
    group = member_access_group(tenant_id=instance.tenant_id, user_id=instance.user_id)
    transaction.on_commit(lambda: access_end(group=group))


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)
def forget_cached_key(sender: type, instance: ApiKey, **kwargs: Any) -> None:
    forget_api_key(prefix=instance.prefix)


@receiver(post_save, sender=Tenant)
@receiver(post_delete, sender=Tenant)
def forget_cached_keys_and_usage(sender: type, instance: Tenant, **kwargs: Any) -> None:
    forget_api_keys()
    forget_tenant_usage(tenant_id=instance.pk)


# A project's position count and deletion are part of its tenant's usage.
@receiver(post_save, sender="projects.Project")
@receiver(post_delete, sender="projects.Project")
def forget_cached_usage(sender: type, instance: Any, **kwargs: Any) -> None:
    forget_tenant_usage(tenant_id=instance.tenant_id)
