"""The channel-layer groups of the grants a websocket was opened with, and ending them."""

from typing import Any

from core.channels import group_send_all

# Tells the sockets of a revoked grant to close (EventsConsumer.kalkula_access_ended).
ACCESS_ENDED_MESSAGE_TYPE = "kalkula.access_ended"


# A socket joins the groups of the grants it was opened with: its tenant, and its API key or its
# user's membership. Ending any of them (`access_end`) closes the socket.
def tenant_access_group(*, tenant_id: Any) -> str:
    return f"access.tenant.{tenant_id}"


def key_access_group(*, api_key_id: Any) -> str:
    return f"access.key.{api_key_id}"


def member_access_group(*, tenant_id: Any, user_id: Any) -> str:
    return f"access.member.{tenant_id}.{user_id}"


def access_end(*, group: str) -> None:
    """Close the open sockets of a grant that ended (a revoked key, an ended membership, a
    suspended tenant): they answer with an error and close, instead of streaming events until
    they reconnect."""
    group_send_all([("access ended", group, {"type": ACCESS_ENDED_MESSAGE_TYPE})])
