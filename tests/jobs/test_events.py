import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from jobs.events import Event, group_for, publish, topic_for


def test_an_event_reaches_every_topic_group_with_its_tenant():
    layer = get_channel_layer()
    tenant_id, project_id = uuid.uuid4(), uuid.uuid4()
    topics = [topic_for("project", project_id), topic_for("tenant", tenant_id)]
    channels = {}
    for topic in topics:
        channels[topic] = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(group_for(topic), channels[topic])

    publish(Event(type="version.created", tenant_id=tenant_id, data={"number": 2}, topics=topics))

    for topic, channel in channels.items():
        message = async_to_sync(layer.receive)(channel)
        assert message["tenant_id"] == str(tenant_id)
        assert message["event"] == {
            "type": "version.created",
            "topic": topic,
            "seq": None,
            "data": {"number": 2},
        }
        async_to_sync(layer.group_discard)(group_for(topic), channel)


def test_unknown_event_types_are_refused():
    with pytest.raises(ValueError, match="unknown event type"):
        Event(type="job.exploded", tenant_id=uuid.uuid4(), data={})
