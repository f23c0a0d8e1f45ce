"""Payload schemas as an app developer meets them, through SignalCommunicator: what the
receivers get, what the browser is told, the system check, and a failing receiver logged
once."""

from __future__ import annotations

import dataclasses

import django.dispatch
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import SimpleTestCase, TestCase, override_settings

from clientsignal import Signal, SignalConnection
from clientsignal.apps import check_settings
from clientsignal.testing import CallRejected, SignalCommunicator
from tests.testing import orders
from tests.testing.orders import Address, Item


@override_settings(CLIENTSIGNAL_CONNECTIONS=orders.CONNECTIONS)
class SchemaTests(TestCase):
    def setUp(self) -> None:
        orders.received.clear()
        self.shop = SignalCommunicator("/shop")
        self.assertTrue(self.shop.connect().connected)
        self.addCleanup(self.shop.disconnect)

    def rejected(self, event: str, data: dict) -> CallRejected:
        with self.assertRaises(CallRejected) as rejected:
            self.shop.call(event, data)
        self.assertEqual(orders.received, [], "no receiver ran")
        return rejected.exception

    # -- what the receivers get --------------------------------------------------------------

    def test_receivers_get_the_fields_nested_dataclasses_as_instances_and_the_defaults(self):
        answer = self.shop.call("order", {"items": [{"sku": "tea", "qty": 2}, {"sku": "cake"}]})
        self.assertEqual(answer, {"lines": 2, "units": 3})
        (got,) = orders.received
        self.assertEqual(got["items"], [Item("tea", 2), Item("cake", 1)])
        self.assertEqual(
            (got["delivery"], got["address"], got["note"], got["tip"], got["tags"]),
            ("pickup", None, "", 0.0, []),
        )

    def test_an_optional_nested_dataclass_and_an_integer_for_a_float(self):
        self.shop.call(
            "order",
            {
                "items": [{"sku": "tea"}],
                "delivery": "courier",
                "address": {"street": "1 Main St", "city": "Springfield"},
                "tip": 2,
            },
        )
        (got,) = orders.received
        self.assertEqual(got["address"], Address("1 Main St", "Springfield"))
        self.assertIs(type(got["tip"]), float)

    def test_a_typed_dict_on_a_plain_django_signal(self):
        self.assertEqual(self.shop.call("rate", {"stars": 5}), 5)
        self.assertEqual(self.shop.call("rate", {"stars": 4, "comment": "ok"}), 4)
        self.assertEqual(
            orders.received, [{"stars": 5, "comment": ""}, {"stars": 4, "comment": "ok"}]
        )

    # -- what the browser is told ------------------------------------------------------------

    def test_a_missing_field_is_named_with_its_type(self):
        rejected = self.rejected("order", {"note": "no items"})
        self.assertEqual(rejected.message, "event 'order': field 'items' is required")
        self.assertEqual((rejected.field, rejected.expected), ("items", "list[Item]"))

    def test_a_nested_field_of_the_wrong_type(self):
        rejected = self.rejected("order", {"items": [{"sku": "tea"}, {"sku": "cake", "qty": "2"}]})
        self.assertEqual(rejected.error, {
            "message": "event 'order': field 'items[1].qty' must be int, not str",
            "field": "items[1].qty",
            "expected": "int",
        })  # fmt: skip

    def test_wrong_types_one_by_one(self):
        item = {"sku": "tea"}
        for data, field, expected in [
            ({"items": item}, "items", "list[Item]"),
            ({"items": [item], "delivery": "drone"}, "delivery", "Literal['pickup', 'courier']"),
            ({"items": [item], "address": "home"}, "address", "Address | None"),
            ({"items": [item], "address": {"street": "x", "city": 7}}, "address.city", "str"),
            ({"items": [{"sku": "tea", "qty": True}]}, "items[0].qty", "int"),
            ({"items": [item], "tip": "2"}, "tip", "float"),
            ({"items": [item], "tags": ["a", None]}, "tags[1]", "str"),
            ({"items": [item], "note": None}, "note", "str"),
        ]:
            with self.subTest(field=field):
                rejected = self.rejected("order", data)
                self.assertEqual((rejected.field, rejected.expected), (field, expected))

    def test_an_undeclared_key_at_any_depth(self):
        rejected = self.rejected("order", {"items": [{"sku": "tea", "colour": "red"}]})
        self.assertEqual(rejected.message, "event 'order': field 'items[0].colour' is not accepted")
        self.assertEqual(rejected.error, {"message": rejected.message, "field": "items[0].colour"})
        rejected = self.rejected("rate", {"stars": 1, "extra": 1})
        self.assertEqual(rejected.field, "extra")

    def test_a_post_init_value_error_is_the_message(self):
        rejected = self.rejected("order", {"items": [{"sku": "tea"}], "delivery": "courier"})
        self.assertEqual(rejected.error, {"message": "event 'order': a courier needs an address"})

    def test_a_send_gets_an_error_event_with_the_same_fields(self):
        with self.assertLogs("clientsignal", "WARNING") as logs:
            self.shop.send("rate", {"stars": "five"})
        self.assertEqual(
            self.shop.receive(),
            ("error", {
                "message": "event 'rate': field 'stars' must be int, not str",
                "event": "rate",
                "field": "stars",
                "expected": "int",
            }),
        )  # fmt: skip
        self.assertIn("field 'stars' must be int, not str", logs.output[0])
        self.assertEqual(orders.received, [])
        self.shop.send("rate", {"stars": 5})
        self.assertEqual(orders.received, [{"stars": 5, "comment": ""}])

    # -- one traceback ---------------------------------------------------------------------

    def test_a_failing_receiver_logs_one_traceback_and_a_nested_one_is_still_djangos(self):
        with self.assertLogs(level="ERROR") as logs:  # the root logger: every logger
            with self.assertRaises(CallRejected) as rejected:
                self.shop.call("boom", {"stars": 1})
        self.assertEqual(rejected.exception.message, "internal error handling 'boom'")
        with_traceback = [r for r in logs.records if r.exc_info]
        self.assertEqual(
            [(r.name, type(r.exc_info[1]).__name__) for r in with_traceback],
            [("django.dispatch", "KeyError"), ("clientsignal", "ValueError")],
        )
        self.assertIn("receiver", with_traceback[1].getMessage())
        self.assertIn("'boom' raised", with_traceback[1].getMessage())
        # The filter holds back only while clientsignal runs receivers.
        with self.assertLogs("django.dispatch", "ERROR") as logs:
            orders.boom.send_robust(sender=None, connection=None, stars=1)
        self.assertEqual(len([r for r in logs.records if r.exc_info]), 2)


class DeclarationTests(SimpleTestCase):
    def test_a_listened_signal_that_declares_nothing_is_warned_about(self):
        with override_settings(CLIENTSIGNAL_CONNECTIONS=orders.CONNECTIONS):
            self.assertEqual([m.id for m in check_settings()], [])
        with override_settings(CLIENTSIGNAL_CONNECTIONS=orders.LAX_CONNECTIONS):
            (warning,) = check_settings()
            self.assertEqual(warning.id, "clientsignal.W002")
            self.assertIn("LaxShopConnection listens for 'anything'", warning.msg)
            self.assertEqual(warning.obj, "tests.testing.orders.LaxShopConnection")
            with self.assertRaises(SystemCheckError):
                call_command("check", "--fail-level", "WARNING")
        silenced = ["clientsignal.W002"]
        with override_settings(
            CLIENTSIGNAL_CONNECTIONS=orders.LAX_CONNECTIONS, SILENCED_SYSTEM_CHECKS=silenced
        ):
            call_command("check", "--fail-level", "WARNING")

    def test_providing_args_is_a_declaration_of_keys(self):
        class Keys(SignalConnection):
            pass

        Keys.listen("keys", Signal(providing_args=["a"]))
        Keys.listen("nothing", django.dispatch.Signal())
        with override_settings(CLIENTSIGNAL_CONNECTIONS={"/keys": Keys}):
            self.assertEqual([m.msg.split(" with")[0] for m in check_settings()],
                             ["Keys listens for 'nothing'"])  # fmt: skip

    def test_the_listens_schema_wins_over_the_signals(self):
        @dataclasses.dataclass
        class Wider:
            stars: int
            reason: str

        class Reviews(SignalConnection):
            pass

        rated = []
        rate = Signal(schema=orders.Rating)
        rate.connect(lambda sender, **kwargs: rated.append(kwargs["reason"]), weak=False)
        Reviews.listen("rate", rate, schema=Wider)
        with (
            override_settings(CLIENTSIGNAL_CONNECTIONS={"/r": Reviews}),
            SignalCommunicator("/r") as client,
        ):
            client.call("rate", {"stars": 1, "reason": "cold"})
            with self.assertRaisesRegex(CallRejected, "field 'comment' is not accepted"):
                client.call("rate", {"stars": 1, "reason": "cold", "comment": "x"})
        self.assertEqual(rated, ["cold"])

    def test_a_subclass_that_listens_again_without_a_schema_has_none(self):
        class Strict(SignalConnection):
            pass

        @dataclasses.dataclass
        class Ping:
            ping: str

        ping = django.dispatch.Signal()
        Strict.listen("ping", ping, schema=Ping)
        Lax = type("Lax", (Strict,), {})
        Lax.listen("ping", ping)
        for cls, refused in [(Strict, True), (Lax, False)]:
            with (
                self.subTest(cls=cls.__name__),
                override_settings(CLIENTSIGNAL_CONNECTIONS={"/p": cls}),
                SignalCommunicator("/p") as client,
            ):
                if refused:
                    with self.assertRaisesRegex(CallRejected, "field 'ping' must be str"):
                        client.call("ping", {"ping": 1})
                else:
                    self.assertIsNone(client.call("ping", {"ping": 1}))

    def test_a_schema_that_cannot_be_checked_is_refused_where_it_is_registered(self):
        @dataclasses.dataclass
        class Reserved:
            connection: str

        @dataclasses.dataclass
        class IntKeys:
            counts: dict[int, int]

        for schema, message in [
            (dict, "a schema is a dataclass or a TypedDict class"),
            (Reserved, "Reserved declares connection"),
            (IntKeys, r"dict\[int, int\]: JSON object keys are strings"),
        ]:
            with self.subTest(schema=schema), self.assertRaisesRegex(TypeError, message):
                SignalConnection.listen("never", django.dispatch.Signal(), schema=schema)
        with self.assertRaisesRegex(TypeError, "providing_args or schema, not both"):
            Signal(providing_args=["a"], schema=Item)
        self.assertNotIn("never", SignalConnection.listeners())
