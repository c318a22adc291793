"""Claims on a tick: one process at a time runs a periodic pass (due timers, sweeps).

Every timer is still claimed in the store inside the transaction that carries out its
action, so it fires exactly once whatever the processes do; the tick claim only spares the
others from racing for the same rows. When Redis does not answer, every process runs its
passes and the store's claims keep each action single.
"""

from __future__ import annotations

from hotline.cluster.connection import Cluster


class TickClaims:
    """`SET key origin NX PX`: the first process to ask holds the tick until it lapses."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    async def mine(self, what: str, seconds: float) -> bool:
        """True if this process should run `what` now."""
        key = self.cluster.key("tick", what)
        millis = max(1, int(seconds * 1000))

        async def claim() -> bool:
            return bool(
                await self.cluster.redis.set(key, self.cluster.origin, nx=True, px=millis)
            )

        claimed = await self.cluster.run("tick", claim)
        return True if claimed is None else claimed
