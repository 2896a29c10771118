"""The channel layer: Redis pub/sub, and a `layer.reconnected` event to every local channel after a reconnect.

`channels_redis.pubsub` sends an event with one `PUBLISH` and a process receives every event of its groups
on one subscribed connection: against `channels_redis.core` (a sorted set per process, four round trips per
group send, a blocking pop, a Lua script and a clean-up per event received), the empty round trip to a socket
costs about a third of the web process's CPU and Redis's, and the relay of a delta no longer waits for a
blocking read (docs/scaling.md).

Pub/sub keeps nothing: an event published while a process's subscription is down is gone. redis-py
reconnects and subscribes again by itself; this layer then puts a `layer.reconnected` event in the queue of
every channel of the process, so a consumer fetches what it may have missed from the database (the chat
consumer replays the stored messages after the last `seq` it sent; deltas were never replayed anyway).
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import _wrap_close
from redis.asyncio.client import PubSub

RECONNECTED = {"type": "layer.reconnected"}


class _PubSub(PubSub):
    """Tells its shard when a connection that had subscriptions was made again (redis-py resubscribed)."""

    def __init__(self, *args: Any, shard: _Shard, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shard = shard

    async def on_connect(self, connection: Any) -> None:
        again = self.subscribed  # the first connect comes before any channel is recorded
        await super().on_connect(connection)
        if again:
            self._shard.reconnected()


class _Shard(RedisSingleShardConnection):
    def _ensure_redis(self) -> None:
        if self._redis is None:
            super()._ensure_redis()
            self._pubsub = _PubSub(self._redis.connection_pool, shard=self)

    def reconnected(self) -> None:
        layer = self.channel_layer
        body = layer.channel_layer.serialize(RECONNECTED)
        for queue in layer.channels.values():
            queue.put_nowait(body)


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shards = [_Shard(shard.host, self) for shard in self._shards]


class PubSubChannelLayer(RedisPubSubChannelLayer):
    """`RedisPubSubChannelLayer` whose local channels hear `layer.reconnected` after a lost subscription."""

    def _get_layer(self) -> RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return layer
