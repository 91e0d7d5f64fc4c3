"""A Python client generated from Herald's OpenAPI document (openapi-python-client) doing what
a new user does: create, read, update, close, page, filter, read notifications, delete, and
read errors. Run by .ci/openapi.sh against a running Herald: HERALD_URL, HERALD_KEY, and the
generated package on PYTHONPATH."""

import datetime
import os
import uuid

from herald_rest_api_client import Client
from herald_rest_api_client.api.customers import create_customer, get_customer
from herald_rest_api_client.api.operators import create_operator, delete_operator
from herald_rest_api_client.api.services import (
    create_service,
    delete_service,
    get_service,
    list_services,
    update_service,
)
from herald_rest_api_client.api.tickets import (
    create_ticket,
    get_ticket,
    list_ticket_notifications,
    list_tickets,
    update_ticket,
)
from herald_rest_api_client.models import (
    Customer,
    CustomerInput,
    EntityRef,
    Error,
    NewOperatorInput,
    Operator,
    Service,
    ServiceInput,
    Ticket,
    TicketInput,
)

UTC = datetime.timezone.utc
# The server may already hold data (schemathesis runs first): names unique to this run.
run = uuid.uuid4().hex[:8]
client = Client(
    base_url=os.environ["HERALD_URL"],
    headers={"X-Api-Key": os.environ["HERALD_KEY"]},
    raise_on_unexpected_status=True,
)

# Services: create, read, replace, list a page.
mail = create_service.sync(client=client, body=ServiceInput(name=f"Mail {run}"))
assert isinstance(mail, Service) and mail.id > 0, mail
web = create_service.sync(client=client, body=ServiceInput(name=f"Web {run}"))
r = update_service.sync_detailed(
    mail.id, client=client, body=ServiceInput(id=mail.id, name=mail.name, description="IMAP")
)
assert r.status_code == 204, r
assert get_service.sync(mail.id, client=client).description == "IMAP"
everything = list_services.sync(client=client)
after_mail = [s.id for s in everything].index(mail.id) + 1
page = list_services.sync(client=client, top=1, skip=after_mail)
assert [s.id for s in page] == [web.id], page

# A customer following the service, an operator.
ann = create_customer.sync(
    client=client,
    body=CustomerInput(name="Ann", email=f"ann-{run}@example.com", services=[EntityRef(id=mail.id)]),
)
assert isinstance(ann, Customer), ann
assert [s.name for s in get_customer.sync(ann.id, client=client).services] == [mail.name]
olga = create_operator.sync(
    client=client,
    body=NewOperatorInput(name="Olga", email=f"olga-{run}@example.com", password="pass phrase one"),
)
assert isinstance(olga, Operator) and not olga.is_admin, olga

# A ticket: create, close (the stored ticket comes back with Prefer), filter, notifications.
start = datetime.datetime(2001, 1, 1, 12, 0, tzinfo=UTC)
ticket = create_ticket.sync(
    client=client,
    body=TicketInput(
        description="Mail is down",
        start_time=start,
        services=[EntityRef(id=mail.id)],
        operator=EntityRef(id=olga.id),
    ),
)
assert isinstance(ticket, Ticket) and not ticket.is_closed, ticket
assert ticket.start_time == start and ticket.operator.name == "Olga", ticket
closed = update_ticket.sync(
    ticket.id,
    client=client,
    body=TicketInput(
        id=ticket.id,
        description=ticket.description,
        start_time=ticket.start_time,
        closed_time=start + datetime.timedelta(hours=2),
    ),
    prefer="return=representation",
)
assert isinstance(closed, Ticket) and closed.is_closed, closed
assert [t.id for t in list_tickets.sync(client=client, is_closed=True, service_id=mail.id)] == [
    ticket.id
]
assert get_ticket.sync(ticket.id, client=client).closed_time == start + datetime.timedelta(hours=2)
notifications = list_ticket_notifications.sync(ticket.id, client=client)
# Email messages only: the schemathesis run before this one may have left webhooks on every
# service, whose messages are listed too.
emails = [n for n in notifications if str(getattr(n.channel, "value", n.channel)) == "email"]
assert sorted((n.event, n.email) for n in emails) == [
    ("closed", f"ann-{run}@example.com"),
    ("created", f"ann-{run}@example.com"),
], notifications

# Errors: the message and the messages per field.
error = create_ticket.sync(
    client=client,
    body=TicketInput(description="x", start_time=start, end_time=start - datetime.timedelta(hours=1)),
)
assert isinstance(error, Error) and error.message == "The request is invalid.", error
assert "ticket.EndTime" in error.model_state.additional_properties, error
missing = get_service.sync_detailed(999, client=client)
assert missing.status_code == 404 and isinstance(missing.parsed, Error), missing

# Deleting answers with the entity as it was.
assert delete_operator.sync(olga.id, client=client).name == "Olga"
assert delete_service.sync(web.id, client=client).id == web.id
print("generated Python client: every step worked")
