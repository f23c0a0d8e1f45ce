"""What an app developer would write: events whose data is declared with schemas."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypedDict

import django.dispatch
from django.dispatch import receiver

from clientsignal import Signal, SignalConnection


@dataclass
class Item:
    sku: str
    qty: int = 1


@dataclass
class Address:
    street: str
    city: str


@dataclass
class Order:
    items: list[Item]
    delivery: Literal["pickup", "courier"] = "pickup"
    address: Address | None = None
    note: str = ""
    tip: float = 0.0
    tags: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.delivery == "courier" and self.address is None:
            raise ValueError("a courier needs an address")


class _Stars(TypedDict):
    stars: int


class Rating(_Stars, total=False):  # NotRequired[str], before Python 3.11
    comment: str


# Declared on the signal: every listen of it checks the data.
order = Signal(schema=Order)
# A plain Django signal, declared where it is listened for.
rate = django.dispatch.Signal()
# Declared nowhere: the system check warns.
anything = django.dispatch.Signal()
boom = Signal(schema=Rating)
nested_boom = django.dispatch.Signal()


class ShopConnection(SignalConnection):
    pass


ShopConnection.listen("order", order)
ShopConnection.listen("rate", rate, schema=Rating)
ShopConnection.listen("boom", boom)


class LaxShopConnection(ShopConnection):
    """Listens for ``anything`` with no declaration (clientsignal.W002)."""


LaxShopConnection.listen("anything", anything)

CONNECTIONS = {"/shop": "tests.testing.orders.ShopConnection"}
LAX_CONNECTIONS = {**CONNECTIONS, "/lax": "tests.testing.orders.LaxShopConnection"}

received: list[dict] = []


@receiver(order)
def place(sender, connection, items, delivery, address, note, tip, tags, **kwargs):
    received.append(
        dict(items=items, delivery=delivery, address=address, note=note, tip=tip, tags=tags)
    )
    return {"lines": len(items), "units": sum(item.qty for item in items)}


@receiver(rate)
def rated(sender, connection, stars, comment="", **kwargs):
    received.append({"stars": stars, "comment": comment})
    return stars


@receiver(boom)
def explode(sender, connection, **kwargs):
    # Another signal sent robustly from inside a receiver: its failure is Django's to log.
    nested_boom.send_robust(sender=None)
    raise ValueError("a bug in a receiver")


@receiver(nested_boom)
def nested_explode(sender, **kwargs):
    raise KeyError("a bug in a nested receiver")
