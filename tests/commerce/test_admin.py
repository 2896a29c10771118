import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from apps.accounts.models import User
from apps.accounts.roles import SUPPORT_AGENT, sync_roles
from apps.commerce.models import AuditEvent, OrderStatus, Shipment
from tests.commerce.factories import make_customer, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    return User.objects.create_superuser(username="boss", email="boss@example.test", password="x")


@pytest.fixture
def agent_client(client):
    sync_roles()
    user = User.objects.create_user(username="agent1", email="agent1@example.test", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=SUPPORT_AGENT))
    client.force_login(user)
    return client


def test_order_search_by_number_and_email(client, admin_user):
    client.force_login(admin_user)
    order = make_order(customer=make_customer(email="findme@example.test"))
    other = make_order()
    url = reverse("admin:commerce_order_changelist")

    by_number = client.get(url, {"q": order.number})
    by_email = client.get(url, {"q": "findme@example.test"})

    assert by_number.status_code == 200
    assert list(by_number.context["cl"].result_list) == [order]
    assert list(by_email.context["cl"].result_list) == [order]
    assert other not in by_email.context["cl"].result_list


@pytest.mark.parametrize(
    "model", ["order", "customer", "product", "payment", "invoice", "refund", "returnrequest", "shipment", "auditevent"]
)
def test_every_commerce_admin_page_renders_read_only(client, admin_user, model):
    client.force_login(admin_user)
    order = make_order(status=OrderStatus.SHIPPED)
    objects = {
        "order": order,
        "customer": order.customer,
        "product": order.items.get().variant.product,
        "payment": order.payments.get(),
        "invoice": order.invoice,
        "shipment": order.shipments.get(),
    }

    changelist = client.get(reverse(f"admin:commerce_{model}_changelist"))
    assert changelist.status_code == 200
    if model in objects:
        change = client.get(reverse(f"admin:commerce_{model}_change", args=[objects[model].pk]))
        assert change.status_code == 200
        assert change.context["has_change_permission"] is False
        assert b'name="_save"' not in change.content
    assert client.get(reverse(f"admin:commerce_{model}_add")).status_code == 403


def test_admin_action_runs_the_service_and_audits_the_staff_user(client, admin_user):
    client.force_login(admin_user)
    order = make_order(status=OrderStatus.PENDING)

    response = client.post(
        reverse("admin:commerce_order_changelist"), {"action": "mark_processing", "_selected_action": [order.pk]}
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert set(AuditEvent.objects.values_list("actor_label", "actor_id")) == {("staff:boss", admin_user.pk)}


def test_admin_action_refusal_is_reported_and_changes_nothing(client, admin_user):
    client.force_login(admin_user)
    order = make_order(status=OrderStatus.SHIPPED)

    response = client.post(
        reverse("admin:commerce_order_changelist"),
        {"action": "cancel", "_selected_action": [order.pk]},
        follow=True,
    )

    messages = [str(m) for m in response.context["messages"]]
    assert messages == [f"{order.number}: Order {order.number} is shipped; only pending orders can be cancelled."]
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert AuditEvent.objects.count() == 0


def test_ship_action_asks_for_carrier_then_ships(client, admin_user):
    client.force_login(admin_user)
    order = make_order(status=OrderStatus.PROCESSING)
    url = reverse("admin:commerce_order_changelist")

    form = client.post(url, {"action": "ship", "_selected_action": [order.pk]})
    assert form.status_code == 200
    assert b"Ship 1 order" in form.content

    client.post(
        url,
        {"action": "ship", "_selected_action": [order.pk], "apply": "1", "carrier": "DHL", "tracking_number": "JD1"},
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert list(Shipment.objects.values_list("carrier", "tracking_number")) == [("DHL", "JD1")]


def test_support_agent_sees_orders_but_cannot_run_actions(agent_client):
    order = make_order(status=OrderStatus.PENDING)
    url = reverse("admin:commerce_order_changelist")

    page = agent_client.get(url)
    agent_client.post(url, {"action": "cancel", "_selected_action": [order.pk]})

    assert page.status_code == 200
    assert "cancel" not in page.context["cl"].model_admin.get_actions(page.wsgi_request)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert AuditEvent.objects.count() == 0
