"""Ending live access however a grant ends: the admin edits tenants and memberships directly, so
the websockets of a suspended tenant or an ended membership are closed from here."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from jobs.events import access_end, member_access_group, tenant_access_group
from tenants.models import Membership, Tenant


@receiver(post_save, sender=Tenant)
def close_sockets_of_suspended_tenant(sender: type, instance: Tenant, **kwargs: Any) -> None:
    if instance.status != Tenant.Status.ACTIVE:
        group = tenant_access_group(tenant_id=instance.pk)
        transaction.on_commit(lambda: access_end(group=group))


@receiver(post_delete, sender=Membership)
def close_sockets_of_ended_membership(sender: type, instance: Membership, **kwargs: Any) -> None:
    group = member_access_group(tenant_id=instance.tenant_id, user_id=instance.user_id)
    transaction.on_commit(lambda: access_end(group=group))
