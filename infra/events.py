#!/usr/bin/env python3
"""Sample Lambda events of patron-hub: build them from their sources, or check them.

    python3 infra/events.py build   # rewrite the webhook, worker, registration, members, rollover, reconcile and console events
    python3 infra/events.py check   # exit 1 unless every sample is sound

The bodies under events/alma-webhook/bodies/ are the source: exact bytes, as Alma
would send them (no trailing newline). `build` wraps them in Lambda function URL
events (payload format 2.0) signed like Alma (standard Base64 of HMAC-SHA256 over
the body, key = the demo webhook secret), and turns them into the SQS batches the
webhook would enqueue for institution DEMO_B. Edit a body, then run `build`.

The registration API's events are written from REGISTRATION_EVENTS below: one
patron's way from Tier 1 self-registration to on-site completion, each request
carrying the demo client key. The members API's events (MEMBERS_EVENTS) carry the
bearer token of a sample session of the super administrator; the membership
rollover's (ROLLOVER_EVENTS) are the payloads EventBridge Scheduler or an
operator sends; the network reconcile's (RECONCILE_*) are its schedule's and
an operator's requests, the events that begin a run, and a page message. The staff console's (CONSOLE_EVENTS) are a browser's requests
with the session cookie of a sample staff session, its forms carrying the CSRF
token that session gets under the demo CSRF key. `check` holds every HTTP API
sample to the function URL format, the registration, members and console ones
to their function's routes and body rules, and the rollover ones to the request
the function accepts. It also checks that every events/ path the READMEs name
(README.md, infra/README.md) exists, and that every pattern they name
(events/x/*.json) matches a sample.
"""

import base64
import hashlib
import hmac
import json
import pathlib
import re
import sys
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone

ROOT = pathlib.Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
WEBHOOK = EVENTS / "alma-webhook"
BODIES = WEBHOOK / "bodies"
WORKER = EVENTS / "institution-worker"
REGISTRATION = EVENTS / "registration-api"
MEMBERS = EVENTS / "members-api"
ROLLOVER = EVENTS / "membership-rollover"
RECONCILE = EVENTS / "network-reconcile"
CONSOLE = EVENTS / "admin-console"
# HTTP functions whose samples are function URL requests to their own routes.
API_FOLDERS = [EVENTS / "accounts-api", REGISTRATION, MEMBERS, CONSOLE]

DEMO_SECRET = "demo-webhook-secret"
WRONG_SECRET = "not-the-demo-webhook-secret"
URL_ID = "q3xv7d2kexample6u5wqz4b2ylm0tjcfh"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
STACK = "patron-hub"
NAMESPACE = uuid.UUID("6f1c1d3e-1f4e-4a8e-9d55-0b7b4c6f2a10")

# name -> (method, query string, body file, signing secret)
WEBHOOK_EVENTS = {
    "challenge": ("GET", "challenge=5f0c2e8a-patron-hub-handshake", None, None),
    "user-created-external": ("POST", "", "user-created-external", DEMO_SECRET),
    "user-updated-external": ("POST", "", "user-updated-external", DEMO_SECRET),
    "network-user-created": ("POST", "", "network-user-created", DEMO_SECRET),
    # A well-formed signature (Base64, 32 bytes) made with the wrong secret.
    "bad-signature": ("POST", "", "user-updated-external", WRONG_SECRET),
}

# The demo client key (staff scope) that `patron-hub serve` accepts with no config.
DEMO_CLIENT_KEY = "demo-client-key"
REGISTRATION_URL_ID = "r5k2registrationexample0apihub7q"
# The staging record the samples follow (the id POST /patron would have answered).
STAGING_ID = str(uuid.uuid5(NAMESPACE, "staging/lea.durand@example.org"))

# name -> (method, path, query string, body, time of the request)
REGISTRATION_EVENTS = {
    "create-staging-record": (
        "POST", "/patron", "",
        {
            "generalInfo": {"firstName": "Léa", "lastName": "Durand"},
            "contactInfo": {"email": "lea.durand@example.org"},
            "preferredEmailCommunication": ["Support", "Services"],
            "status": "TIER-1",
        },
        datetime(2025, 9, 1, 8, 0, 0, tzinfo=timezone.utc),
    ),
    "update-staging-record": (
        "PUT", f"/patron/{STAGING_ID}", "",
        {
            "generalInfo": {"middleName": "Marie"},
            "addressInfo": {
                "addressLine0": "12 rue Sainte-Catherine",
                "city": "Bordeaux",
                "zip": "33000",
                "country": "FR",
            },
            "contactInfo": {"mobilePhone": "+33 6 12 34 56 78"},
            "status": "TIER-2",
            "minor": False,
        },
        datetime(2025, 9, 1, 8, 5, 0, tzinfo=timezone.utc),
    ),
    "registration-status": (
        "GET", "/patron-registration-status",
        urllib.parse.urlencode({"emailId": "lea.durand@example.org"}),
        None,
        datetime(2025, 9, 2, 14, 0, 0, tzinfo=timezone.utc),
    ),
    "complete-registration": (
        "POST", f"/patron/{STAGING_ID}/complete", "",
        {"homeInstitution": "DEMO_A", "barcode": "DEMO-A-000123", "userGroup": "EXT"},
        datetime(2025, 9, 3, 10, 30, 0, tzinfo=timezone.utc),
    ),
}

MEMBERS_URL_ID = "m7p3membersexample0api5patronhub"
# The session the members samples use: what `POST /sessions` would have answered
# the super administrator `admin` (43 characters of URL-safe Base64, like a real
# session token). Tests store its hash as a session of SAMPLE_ADMIN_ID.
SAMPLE_SESSION_TOKEN = base64.urlsafe_b64encode(
    hashlib.sha256(b"patron-hub sample session of admin").digest()).decode().rstrip("=")
SAMPLE_ADMIN_ID = str(uuid.uuid5(NAMESPACE, "account/admin"))

# name -> (method, path, query string, body, time of the request)
MEMBERS_EVENTS = {
    # The super administrator looks for people whose e-mail contains "martin".
    "search-people": (
        "GET", "/people", urllib.parse.urlencode({"search[email]": "martin"}), None,
        datetime(2026, 8, 28, 9, 0, 0, tzinfo=timezone.utc),
    ),
    # ... creates a club (seed 004's fields) and becomes its administrator ...
    "create-organization": (
        "POST", "/organizations", "",
        {
            "name": "Club de lecture",
            "require_memberships": True,
            "membership_start": "2026-08-31",
            "membership_end": "2027-09-30",
            "membership_duration": 396,
            "membership_fee_paid": 500,
            "membership_fee_unpaid": 300,
            "titles": ["treasurer", "secretary"],
        },
        datetime(2026, 8, 28, 9, 5, 0, tzinfo=timezone.utc),
    ),
    # ... and reads their own memberships (seed 001's shape).
    "person-memberships": (
        "GET", f"/people/{SAMPLE_ADMIN_ID}/memberships", "", None,
        datetime(2026, 8, 28, 9, 6, 0, tzinfo=timezone.utc),
    ),
}

UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# The members API's routes: (method, path pattern). Ids are UUIDs.
MEMBERS_ROUTES = {
    ("GET", "/people"): "people",
    ("GET", f"/people/{UUID}"): "person",
    ("GET", f"/people/{UUID}/memberships"): "person-memberships",
    ("POST", "/organizations"): "create-organization",
    ("GET", f"/organizations/{UUID}"): "organization",
    ("PATCH", f"/organizations/{UUID}"): "update-organization",
    ("GET", f"/organizations/{UUID}/members"): "members",
    ("POST", f"/organizations/{UUID}/members"): "add-member",
    ("GET", f"/organizations/{UUID}/members/{UUID}"): "member",
    ("PATCH", f"/organizations/{UUID}/members/{UUID}"): "update-member",
    ("DELETE", f"/organizations/{UUID}/members/{UUID}"): "remove-member",
    ("POST", f"/organizations/{UUID}/members/{UUID}/renewal"): "renewal",
    ("GET", f"/organizations/{UUID}/statistics"): "statistics",
    ("GET", f"/organizations/{UUID}/members.xlsx"): "export",
    ("GET", f"/organizations/{UUID}/members.csv"): "export",
}
# What the domain's OrganizationInput accepts (unknown fields refused):
# field -> (JSON types allowed, whether null is allowed).
ORGANIZATION_FIELDS = {
    "name": ((str,), False),
    "parent": ((str,), True),
    "require_memberships": ((bool,), False),
    "membership_start": ((str,), True),
    "membership_end": ((str,), True),
    "membership_duration": ((int,), True),
    "membership_fee_paid": ((int,), False),
    "membership_fee_unpaid": ((int,), False),
    "titles": ((list,), False),
}

CONSOLE_URL_ID = "c4n8consoleexample0admin2patronh"
# The session the console samples use: what the console's login form would
# have set for the network staff member `desk` (43 characters of URL-safe
# Base64, like a real session token). Tests store its hash as a session of a
# NETWORK_STAFF account.
SAMPLE_STAFF_SESSION_TOKEN = base64.urlsafe_b64encode(
    hashlib.sha256(b"patron-hub sample session of desk").digest()).decode().rstrip("=")
# The session cookie over HTTPS (PublicBaseUrl is https://...): host-only name.
CONSOLE_SESSION_COOKIE = "__Host-patron_hub_session"
# The demo CSRF key (64 hex digits) the samples' form tokens are made with:
# give it to a local console as CONSOLE_CSRF_KEY. Never deploy it: the stack
# generates its own key in Secrets Manager.
DEMO_CSRF_KEY = hashlib.sha256(b"patron-hub demo console CSRF key").hexdigest()
# The patron the samples are about: the external reader of the webhook samples.
CONSOLE_PATRON = "EXT-2025-0042"
FORM = "application/x-www-form-urlencoded"

# name -> (method, path, query string, form fields or None, time of the request)
CONSOLE_EVENTS = {
    # A browser opens the login page (no cookie yet).
    "login-page": (
        "GET", "/console/login", "", None,
        datetime(2026, 9, 14, 8, 58, 0, tzinfo=timezone.utc),
    ),
    # The signed-in staff member searches the patron in every institution ...
    "search": (
        "GET", "/console/search", urllib.parse.urlencode({"q": CONSOLE_PATRON}), None,
        datetime(2026, 9, 14, 9, 0, 0, tzinfo=timezone.utc),
    ),
    # ... and confirms a new expiry (and purge) date everywhere.
    "set-expiry": (
        "POST", f"/console/patrons/{CONSOLE_PATRON}/actions/expiry", "",
        {"expiry_date": "2027-06-30"},
        datetime(2026, 9, 14, 9, 2, 0, tzinfo=timezone.utc),
    ),
    # Later, the jobs every worker gave up ...
    "dead-letters": (
        "GET", "/console/dead-letters", "", None,
        datetime(2026, 9, 14, 11, 0, 0, tzinfo=timezone.utc),
    ),
    # ... are put back on their queues once the cause is fixed.
    "replay-all": (
        "POST", "/console/dead-letters/replay-all", "", {},
        datetime(2026, 9, 14, 11, 1, 0, tzinfo=timezone.utc),
    ),
}
ID_SEGMENT = r"[^/?#\x00-\x1f\x7f]+"
# The console's routes: (method, path pattern) -> kind.
CONSOLE_ROUTES = {
    ("GET", "/console"): "home",
    ("GET", "/console/style.css"): "style",
    ("GET", "/console/login"): "login-page",
    ("POST", "/console/login"): "login",
    ("POST", "/console/logout"): "logout",
    ("GET", "/console/search"): "search",
    ("GET", f"/console/patrons/{ID_SEGMENT}"): "patron",
    ("GET", f"/console/patrons/{ID_SEGMENT}/actions/(delete|expiry|primary-id|redistribute)"): "confirmation",
    ("POST", f"/console/patrons/{ID_SEGMENT}/actions/(delete|expiry|primary-id|redistribute)"): "action",
    ("GET", "/console/dead-letters"): "dead-letters",
    ("POST", "/console/dead-letters/replay"): "replay",
    ("POST", "/console/dead-letters/replay-all"): "replay-all",
}
# The fields of the console's signed-in forms (each also carries `csrf`).
CONSOLE_ACTION_FIELDS = {
    "delete": set(),
    "expiry": {"expiry_date"},
    "primary-id": {"new_primary_id"},
    "redistribute": set(),
}

# The rollover's payloads: name -> payload. `scheduled` is the schedule's
# target Input in infra/template.yaml (today, for real).
ROLLOVER_EVENTS = {
    "scheduled": {"dry_run": False},
    "scheduled-dry-run": {"date": "2026-09-01", "dry_run": True},
}
ROLLOVER_FIELDS = {"date", "dry_run"}

# The network-reconcile function's payloads: name -> payload. A request is
# what the nightly schedule (`scheduled-reconcile`, its target Input in
# infra/template.yaml) or an operator sends; an event is what `aws events
# put-events` puts on the bus; a page is a message of the function's queue.
RECONCILE_REQUESTS = {
    "scheduled-reconcile": {"start": "reconcile"},
    "reconcile-dry-run": {"start": "reconcile", "dry_run": True},
}
RECONCILE_EVENTS = {
    "backfill-requested": ("Backfill requested", {"institution": "DEMO_A"}),
    "reconcile-requested": ("Reconcile requested", {"dry_run": True}),
}
RECONCILE_PAGE = {"run": "20261208T033000.412Z-reconcile", "kind": "reconcile", "version": 7}
RECONCILE_REQUEST_FIELDS = {"start", "dry_run", "institution"}
RECONCILE_DETAIL_FIELDS = {"dry_run", "institution"}
RUN_KINDS = {"backfill", "reconcile"}

# The registration API's routes: (method, path pattern). `{id}` is an externalSystemId.
ID = r"[^/\x00-\x1f\x7f]{1,255}"
REGISTRATION_ROUTES = {
    ("POST", "/patron"): "create",
    ("PUT", f"/patron/{ID}"): "update",
    ("GET", f"/patron/{ID}"): "read",
    ("GET", "/patron-registration-status"): "status",
    ("GET", "/patron/registration-status"): "status",
    ("POST", f"/patron/{ID}/complete"): "complete",
}
# What the domain's StagingInput and Completion accept (both refuse unknown fields).
STAGING_FIELDS = {
    "externalSystemId": None,
    "status": None,
    "isEmailVerified": None,
    "minor": None,
    "generalInfo": {"firstName", "preferredFirstName", "middleName", "lastName"},
    "addressInfo": {"addressLine0", "addressLine1", "city", "province", "zip", "country"},
    "contactInfo": {"phone", "mobilePhone", "email"},
    "preferredEmailCommunication": None,
}
COMMUNICATIONS = {"Support", "Programs", "Services"}
COMPLETION_FIELDS = {"homeInstitution", "barcode", "userGroup", "expiryDate"}

CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
JOB_FIELDS = {"event_id", "institution", "origin", "action", "primary_id", "event_time", "user"}


def sign(secret, body):
    """Alma's X-Exl-Signature: standard padded Base64 of HMAC-SHA256(secret, body)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def dump(path, value):
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ------------------------------------------------------------------ build


def function_url_event(name, method, query, body):
    """A Lambda function URL event (payload format 2.0) as AWS delivers it."""
    when = parse_time(json.loads(body)["time"]) + timedelta(seconds=1) if body else datetime(
        2025, 8, 29, 9, 0, 0, tzinfo=timezone.utc
    )
    user_agent = "Alma webhook (sample)"
    headers = {
        "accept": "*/*",
        "host": f"{URL_ID}.lambda-url.{REGION}.on.aws",
        "user-agent": user_agent,
        "x-amzn-tls-cipher-suite": "TLS_AES_128_GCM_SHA256",
        "x-amzn-tls-version": "TLSv1.3",
        "x-amzn-trace-id": f"Root=1-{int(when.timestamp()):08x}-{uuid.uuid5(NAMESPACE, name).hex[:24]}",
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": query,
    }
    if query:
        event["queryStringParameters"] = dict(pair.split("=", 1) for pair in query.split("&"))
    event["headers"] = headers
    event["requestContext"] = {
        "accountId": "anonymous",
        "apiId": URL_ID,
        "domainName": f"{URL_ID}.lambda-url.{REGION}.on.aws",
        "domainPrefix": URL_ID,
        "http": {
            "method": method,
            "path": "/",
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.10",
            "userAgent": user_agent,
        },
        "requestId": str(uuid.uuid5(NAMESPACE, f"request/{name}")),
        "routeKey": "$default",
        "stage": "$default",
        "time": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(when.timestamp() * 1000),
    }
    event["isBase64Encoded"] = False
    return event


def build_webhook_events():
    for name, (method, query, body_name, secret) in WEBHOOK_EVENTS.items():
        body = (BODIES / f"{body_name}.json").read_bytes() if body_name else None
        event = function_url_event(name, method, query, body)
        if body is not None:
            event["headers"]["content-type"] = "application/json"
            event["headers"]["content-length"] = str(len(body))
            event["headers"]["x-exl-signature"] = sign(secret, body)
            event["body"] = body.decode("utf-8")
        dump(WEBHOOK / f"{name}.json", event)


def job(body_name, institution, action, with_user):
    """A job as the domain's `Job` serializes (serde_json, field order of the struct)."""
    envelope = json.loads((BODIES / f"{body_name}.json").read_bytes())
    user = envelope["webhook_user"]["user"]
    value = {
        "event_id": envelope["id"],
        "institution": institution,
        "origin": envelope["institution"]["value"],
        "action": action,
        "primary_id": user["primary_id"],
        "event_time": envelope["time"],
    }
    if with_user:
        # serde_json's Map (no preserve_order) writes object keys sorted.
        value["user"] = json.loads(json.dumps(user, sort_keys=True))
    return value


def sqs_record(queue, message_id, body, receive_count, sent):
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"
    handle = base64.b64encode(hashlib.sha256(f"{arn}/{message_id}/{receive_count}".encode()).digest() * 3)
    sent_ms = int(sent.timestamp() * 1000)
    return {
        "messageId": message_id,
        "receiptHandle": "AQEB" + handle.decode(),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": str(sent_ms),
            "SenderId": "AROA3EXAMPLEROLEID0000:patron-hub-AlmaWebhookFunction-Xy12Ab34Cd56",
            "ApproximateFirstReceiveTimestamp": str(sent_ms + 35),
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode("utf-8")).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": REGION,
    }


def job_record(value, receive_count):
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    message_id = str(uuid.uuid5(NAMESPACE, f"{value['event_id']}#{value['institution']}"))
    sent = parse_time(value["event_time"]) + timedelta(milliseconds=1300)
    return sqs_record(f"{STACK}-jobs-{value['institution']}", message_id, body, receive_count, sent)


def build_worker_events():
    records = [
        job_record(job("user-created-external", "DEMO_B", "upsert", True), 1),
        job_record(job("user-updated-external", "DEMO_B", "upsert", True), 1),
        # A link job already delivered twice (e.g. Alma throttled it).
        job_record(job("network-user-created", "DEMO_B", "link", False), 3),
    ]
    dump(WORKER / "sqs-batch.json", {"Records": records})
    # One good job and one that can never be applied: the worker must report
    # only the poison message in batchItemFailures (or dead-letter it).
    poison = json.dumps({"event_id": "3235071115491107182", "institution": "DEMO_C", "action": "teleport"})
    records = [
        job_record(job("user-created-external", "DEMO_C", "upsert", True), 1),
        sqs_record(f"{STACK}-jobs-DEMO_C", "poison-0b6f2d1e-7c41-4d7a-9a57-2f1f0c9e8d11", poison, 1,
                   datetime(2025, 9, 1, 8, 15, 43, tzinfo=timezone.utc)),
    ]
    dump(WORKER / "sqs-batch-with-poison.json", {"Records": records})


def api_event(url_id, credentials, name, method, path, query, body, when):
    """A request to an HTTP function's URL (`url_id`), with `credentials` headers."""
    host = f"{url_id}.lambda-url.{REGION}.on.aws"
    user_agent = "patron-hub sample"
    headers = {
        "accept": "application/json",
        "host": host,
        "user-agent": user_agent,
        "x-amzn-tls-cipher-suite": "TLS_AES_128_GCM_SHA256",
        "x-amzn-tls-version": "TLSv1.3",
        "x-amzn-trace-id": f"Root=1-{int(when.timestamp()):08x}-{uuid.uuid5(NAMESPACE, name).hex[:24]}",
        **credentials,
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    text = None
    if body is not None:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        headers["content-type"] = "application/json"
        headers["content-length"] = str(len(text.encode("utf-8")))
    event = {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query}
    if query:
        event["queryStringParameters"] = dict(urllib.parse.parse_qsl(query))
    event["headers"] = headers
    event["requestContext"] = {
        "accountId": "anonymous",
        "apiId": url_id,
        "domainName": host,
        "domainPrefix": url_id,
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.10",
            "userAgent": user_agent,
        },
        "requestId": str(uuid.uuid5(NAMESPACE, f"request/{name}")),
        "routeKey": "$default",
        "stage": "$default",
        "time": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(when.timestamp() * 1000),
    }
    event["isBase64Encoded"] = False
    if text is not None:
        event["body"] = text
    return event


def build_registration_events():
    REGISTRATION.mkdir(exist_ok=True)
    credentials = {"x-api-key": DEMO_CLIENT_KEY}
    for name, request in REGISTRATION_EVENTS.items():
        dump(REGISTRATION / f"{name}.json", api_event(REGISTRATION_URL_ID, credentials, name, *request))


def build_members_events():
    MEMBERS.mkdir(exist_ok=True)
    credentials = {"authorization": f"Bearer {SAMPLE_SESSION_TOKEN}"}
    for name, request in MEMBERS_EVENTS.items():
        dump(MEMBERS / f"{name}.json", api_event(MEMBERS_URL_ID, credentials, name, *request))


def console_csrf(session_token):
    """The CSRF token of a signed-in console form: hex HMAC-SHA256 under the
    CSRF key of "console-csrf:" followed by the session token."""
    key = bytes.fromhex(DEMO_CSRF_KEY)
    return hmac.new(key, b"console-csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def console_event(name, method, path, query, fields, when):
    """A browser's request to the console's URL: HTML accepted, the session
    cookie unless it is the login page, and a same-origin form for a POST."""
    event = api_event(CONSOLE_URL_ID, {}, name, method, path, query, None, when)
    headers = event["headers"]
    headers["accept"] = "text/html,application/xhtml+xml"
    headers["accept-language"] = "fr-FR,fr;q=0.9,en;q=0.8"
    if path != "/console/login":
        # Function URLs hand cookies over in `cookies`, after the query string.
        top = {key: event.pop(key) for key in ("version", "routeKey", "rawPath", "rawQueryString")}
        event = {**top, "cookies": [f"{CONSOLE_SESSION_COOKIE}={SAMPLE_STAFF_SESSION_TOKEN}"], **event}
    if fields is not None:
        text = urllib.parse.urlencode({**fields, "csrf": console_csrf(SAMPLE_STAFF_SESSION_TOKEN)})
        headers["content-type"] = FORM
        headers["content-length"] = str(len(text.encode("utf-8")))
        headers["origin"] = f"https://{headers['host']}"
        headers["sec-fetch-site"] = "same-origin"
        event["body"] = text
    return event


def build_console_events():
    CONSOLE.mkdir(exist_ok=True)
    for name, request in CONSOLE_EVENTS.items():
        dump(CONSOLE / f"{name}.json", console_event(name, *request))


def build_rollover_events():
    ROLLOVER.mkdir(exist_ok=True)
    for name, payload in ROLLOVER_EVENTS.items():
        dump(ROLLOVER / f"{name}.json", payload)


def build_reconcile_events():
    RECONCILE.mkdir(exist_ok=True)
    for name, payload in RECONCILE_REQUESTS.items():
        dump(RECONCILE / f"{name}.json", payload)
    for name, (detail_type, detail) in RECONCILE_EVENTS.items():
        event_id = str(uuid.uuid5(NAMESPACE, f"event/{name}"))
        dump(RECONCILE / f"{name}.json", {
            "version": "0", "id": event_id, "detail-type": detail_type,
            "source": "patron-hub.operator", "account": ACCOUNT,
            "time": "2026-12-08T09:00:00Z", "region": REGION, "resources": [],
            "detail": detail,
        })
    body = json.dumps(RECONCILE_PAGE, separators=(",", ":"))
    message_id = str(uuid.uuid5(NAMESPACE, f"page/{RECONCILE_PAGE['run']}/{RECONCILE_PAGE['version']}"))
    record = sqs_record(f"{STACK}-reconcile-pages", message_id, body, 1,
                        datetime(2026, 12, 8, 3, 31, 2, tzinfo=timezone.utc))
    dump(RECONCILE / "next-page.json", {"Records": [record]})


# ------------------------------------------------------------------ check


class Problems(list):
    def need(self, condition, where, what):
        if not condition:
            self.append(f"{where}: {what}")
        return condition


# The documents whose events/ paths must exist (their commands use them).
DOCUMENTS = [ROOT / "README.md", ROOT / "infra" / "README.md"]
NAMED_PATH = re.compile(r"\bevents/[A-Za-z0-9_./*-]*[A-Za-z0-9_/*]")


def check_named_paths(problems):
    """Every events/ path a README names exists; a pattern matches a sample."""
    for document in DOCUMENTS:
        for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), 1):
            for named in NAMED_PATH.findall(line):
                found = list(ROOT.glob(named)) if "*" in named else [ROOT / named] if (ROOT / named).exists() else []
                problems.need(found, f"{document.relative_to(ROOT)}:{number}", f"{named} does not exist")


def check_json_files(problems):
    for path in sorted(EVENTS.rglob("*.json")):
        try:
            json.loads(path.read_bytes())
        except ValueError as error:
            problems.append(f"{path.relative_to(ROOT)}: not JSON ({error})")


def check_envelope(problems, where, body):
    envelope = json.loads(body)
    need = lambda condition, what: problems.need(condition, where, what)  # noqa: E731
    need(isinstance(envelope.get("id"), str) and envelope["id"], "id must be a non-empty string")
    need(envelope.get("action") == "USER", "action must be USER")
    need(CODE.match(str((envelope.get("institution") or {}).get("value", ""))), "institution.value must be a code")
    need((envelope.get("event") or {}).get("value") in {"USER_CREATED", "USER_UPDATED", "USER_DELETED"},
         "event.value must be USER_CREATED/UPDATED/DELETED")
    try:
        parse_time(envelope.get("time", ""))
    except ValueError:
        need(False, "time must be RFC 3339")
    user = (envelope.get("webhook_user") or {}).get("user") or {}
    need(isinstance(user.get("primary_id"), str) and user["primary_id"], "webhook_user.user.primary_id missing")


def check_webhook_events(problems):
    bodies = {path.read_bytes() for path in BODIES.glob("*.json")}
    for path in sorted(WEBHOOK.glob("*.json")):
        where = str(path.relative_to(ROOT))
        need = lambda condition, what: problems.need(condition, where, what)  # noqa: E731
        event = json.loads(path.read_bytes())
        context = event.get("requestContext", {})
        method = context.get("http", {}).get("method")
        headers = event.get("headers", {})
        need(event.get("version") == "2.0", "version must be 2.0")
        need(event.get("rawPath") == "/", "rawPath must be /")
        need(isinstance(event.get("rawQueryString"), str), "rawQueryString must be a string")
        need(event.get("isBase64Encoded") is False, "isBase64Encoded must be false")
        need(all(k == k.lower() for k in headers), "header names must be lower case")
        if method == "GET":
            need("challenge=" in event.get("rawQueryString", ""), "a GET must carry ?challenge=")
            need("x-exl-signature" not in headers, "the challenge is not signed")
            continue
        if not need(method == "POST", "method must be GET or POST"):
            continue
        body = event.get("body")
        if not need(isinstance(body, str), "a POST needs a body"):
            continue
        raw = body.encode("utf-8")
        need(raw in bodies, "body must equal one of bodies/*.json byte for byte")
        need(headers.get("content-length") == str(len(raw)), "content-length must match the body")
        check_envelope(problems, where, raw)
        signature = headers.get("x-exl-signature", "")
        valid = hmac.compare_digest(signature, sign(DEMO_SECRET, raw))
        if path.name.startswith("bad-"):
            need(not valid, "a bad-* event must not verify with the demo secret")
            need(len(base64.b64decode(signature, validate=True)) == 32, "keep the bad signature well-formed")
        else:
            need(valid, f"x-exl-signature must verify with key {DEMO_SECRET!r}")


def job_problems(body):
    """Why `body` would not deserialize as the domain's `Job`, or [] if it would."""
    try:
        value = json.loads(body)
    except ValueError:
        return ["not JSON"]
    if not isinstance(value, dict):
        return ["not an object"]
    found = []
    missing = JOB_FIELDS - {"user"} - value.keys()
    if missing:
        found.append(f"missing {sorted(missing)}")
    for field in ("institution", "origin"):
        if field in value and not CODE.match(str(value[field])):
            found.append(f"{field} is not an institution code")
    if value.get("action") not in {"upsert", "link", "delete"}:
        found.append("action must be upsert, link or delete")
    primary_id = value.get("primary_id")
    if not isinstance(primary_id, str) or not primary_id.strip() or "/" in primary_id:
        found.append("primary_id is not valid")
    try:
        parse_time(str(value.get("event_time")))
    except ValueError:
        found.append("event_time is not RFC 3339")
    if "user" in value and not isinstance(value["user"], dict):
        found.append("user must be an object")
    if value.get("action") == "upsert" and not isinstance(value.get("user"), dict):
        found.append("an upsert carries the origin's user")
    return found


def check_worker_events(problems):
    for path in sorted(WORKER.glob("*.json")):
        where = str(path.relative_to(ROOT))
        records = json.loads(path.read_bytes()).get("Records", [])
        problems.need(records, where, "Records must not be empty")
        problems.need(len(records) <= 10, where, "a batch holds at most 10 records (BatchSize)")
        for record in records:
            at = f"{where} {record.get('messageId')}"
            for key in ("messageId", "receiptHandle", "body", "eventSourceARN", "md5OfBody"):
                problems.need(isinstance(record.get(key), str), at, f"{key} must be a string")
            count = record.get("attributes", {}).get("ApproximateReceiveCount", "")
            problems.need(count.isdigit() and int(count) >= 1, at, "attributes.ApproximateReceiveCount")
            body = record.get("body", "")
            problems.need(hashlib.md5(body.encode()).hexdigest() == record.get("md5OfBody"), at, "md5OfBody")
            found = job_problems(body)
            if record.get("messageId", "").startswith("poison"):
                problems.need(found, at, "a poison-* message must not be a valid job")
                continue
            problems.need(not found, at, "; ".join(found))
            queue = record.get("eventSourceARN", "").rsplit(":", 1)[-1]
            problems.need(queue == f"{STACK}-jobs-{json.loads(body).get('institution')}", at,
                          "the job's institution must own the queue it arrives on")


def check_api_event(problems, where, event, body_type="application/json"):
    """The function URL request format (payload 2.0) every HTTP API sample
    uses; its body decoded (JSON, or a form's fields when `body_type` is FORM)."""
    need = lambda condition, what: problems.need(condition, where, what)  # noqa: E731
    context = event.get("requestContext", {})
    headers = event.get("headers", {})
    need(event.get("version") == "2.0", "version must be 2.0")
    need(event.get("routeKey") == "$default", "routeKey must be $default")
    need(event.get("rawPath") == context.get("http", {}).get("path"), "rawPath must equal requestContext.http.path")
    need(event.get("isBase64Encoded") is False, "isBase64Encoded must be false")
    need(all(k == k.lower() for k in headers), "header names must be lower case")
    need(headers.get("host") == context.get("domainName"), "the host header must be requestContext.domainName")
    query = event.get("rawQueryString")
    if need(isinstance(query, str), "rawQueryString must be a string"):
        need(event.get("queryStringParameters", {}) == dict(urllib.parse.parse_qsl(query)),
             "queryStringParameters must be rawQueryString decoded")
    body = event.get("body")
    if body is None:
        need("content-length" not in headers, "content-length without a body")
        return None
    if not need(isinstance(body, str), "body must be a string"):
        return None
    need(headers.get("content-length") == str(len(body.encode("utf-8"))), "content-length must match the body")
    need(headers.get("content-type") == body_type, f"a body is sent as {body_type}")
    if body_type == FORM:
        fields = urllib.parse.parse_qsl(body, keep_blank_values=True)
        need(len({k for k, _ in fields}) == len(fields), "a form field is sent twice")
        return dict(fields)
    try:
        return json.loads(body)
    except ValueError:
        need(False, "body must be JSON")
        return None


def staging_problems(body, creating):
    """Why the registration API would refuse `body` as a staging record, or []."""
    if not isinstance(body, dict):
        return ["the body must be an object"]
    found = [f"unknown field {k}" for k in body if k not in STAGING_FIELDS]
    for key, fields in STAGING_FIELDS.items():
        if fields is None or key not in body:
            continue
        part = body[key]
        if not isinstance(part, dict):
            found.append(f"{key} must be an object")
            continue
        found += [f"unknown field {key}.{k}" for k in part if k not in fields]
        found += [f"{key}.{k} must be a string" for k, v in part.items() if not isinstance(v, str)]
    if "status" in body and body["status"] not in {"TIER-1", "TIER-2"}:
        found.append("status must be TIER-1 or TIER-2")
    found += [f"{k} must be a boolean" for k in ("isEmailVerified", "minor") if k in body
              and not isinstance(body[k], bool)]
    wanted = body.get("preferredEmailCommunication", [])
    if not isinstance(wanted, list) or not set(wanted) <= COMMUNICATIONS:
        found.append(f"preferredEmailCommunication must hold only {sorted(COMMUNICATIONS)}")
    elif len(wanted) > 3 or len(set(wanted)) != len(wanted):
        found.append("preferredEmailCommunication: at most 3 values, no repeats")
    if creating:
        general, contact = body.get("generalInfo") or {}, body.get("contactInfo") or {}
        for field, value in (("generalInfo.firstName", general.get("firstName")),
                             ("generalInfo.lastName", general.get("lastName"))):
            if not isinstance(value, str) or not value.strip():
                found.append(f"{field} is required")
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(contact.get("email", ""))):
            found.append("contactInfo.email is required")
    return found


def completion_problems(body):
    """Why the completion route would refuse `body`, or []."""
    if not isinstance(body, dict):
        return ["the body must be an object"]
    found = [f"unknown field {k}" for k in body if k not in COMPLETION_FIELDS]
    found += [f"{k} is required" for k in ("homeInstitution", "barcode", "userGroup")
              if not isinstance(body.get(k), str) or not body[k].strip()]
    if not CODE.match(str(body.get("homeInstitution", ""))):
        found.append("homeInstitution must be an institution code")
    if "expiryDate" in body:
        try:
            datetime.strptime(str(body["expiryDate"]), "%Y-%m-%d")
        except ValueError:
            found.append("expiryDate must be YYYY-MM-DD")
    return found


def check_registration_events(problems):
    found_routes = set()
    for path in sorted(REGISTRATION.glob("*.json")):
        where = str(path.relative_to(ROOT))
        need = lambda condition, what: problems.need(condition, where, what)  # noqa: E731
        event = json.loads(path.read_bytes())
        body = check_api_event(problems, where, event)
        method = event.get("requestContext", {}).get("http", {}).get("method")
        route = next((kind for (m, pattern), kind in REGISTRATION_ROUTES.items()
                      if m == method and re.fullmatch(pattern, event.get("rawPath", ""))), None)
        if not need(route, f"{method} {event.get('rawPath')} is not a registration route"):
            continue
        found_routes.add(route)
        need(event.get("headers", {}).get("x-api-key") == DEMO_CLIENT_KEY,
             f"every sample carries the demo client key {DEMO_CLIENT_KEY!r}")
        if route in {"create", "update"}:
            if need(body is not None, "a staging record needs a body"):
                need(not staging_problems(body, route == "create"), "; ".join(staging_problems(body, route == "create")))
        elif route == "complete":
            if need(body is not None, "a completion needs a body"):
                need(not completion_problems(body), "; ".join(completion_problems(body)))
        else:
            need(body is None, "a GET has no body")
        if route == "status":
            given = [k for k in ("emailId", "externalSystemId") if event.get("queryStringParameters", {}).get(k)]
            need(len(given) == 1, "exactly one of emailId and externalSystemId")
    missing = {"create", "update", "status", "complete"} - found_routes
    problems.need(not missing, str(REGISTRATION.relative_to(ROOT)), f"no sample for {sorted(missing)}")


def organization_problems(body):
    """Why `POST /organizations` would refuse `body`, or []."""
    if not isinstance(body, dict):
        return ["the body must be an object"]
    found = [f"unknown field {k}" for k in body if k not in ORGANIZATION_FIELDS]
    for field, value in body.items():
        if field not in ORGANIZATION_FIELDS:
            continue
        types, nullable = ORGANIZATION_FIELDS[field]
        if value is None:
            if not nullable:
                found.append(f"{field} cannot be null")
        elif not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            found.append(f"{field} has the wrong type")
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        found.append("name is required")
    for field in ("membership_start", "membership_end"):
        if isinstance(body.get(field), str):
            try:
                datetime.strptime(body[field], "%Y-%m-%d")
            except ValueError:
                found.append(f"{field} must be YYYY-MM-DD")
    for field in ("membership_duration", "membership_fee_paid", "membership_fee_unpaid"):
        if isinstance(body.get(field), int) and body[field] < 0:
            found.append(f"{field} cannot be negative")
    if "parent" in body and isinstance(body["parent"], str) and not re.fullmatch(UUID, body["parent"]):
        found.append("parent must be an organization id")
    if not all(isinstance(t, str) and t.strip() for t in body.get("titles", [])):
        found.append("titles must be non-empty strings")
    return found


def check_members_events(problems):
    found_routes = set()
    for path in sorted(MEMBERS.glob("*.json")):
        where = str(path.relative_to(ROOT))
        need = lambda condition, what: problems.need(condition, where, what)  # noqa: E731
        event = json.loads(path.read_bytes())
        body = check_api_event(problems, where, event)
        method = event.get("requestContext", {}).get("http", {}).get("method")
        route = next((kind for (m, pattern), kind in MEMBERS_ROUTES.items()
                      if m == method and re.fullmatch(pattern, event.get("rawPath", ""))), None)
        if not need(route, f"{method} {event.get('rawPath')} is not a members route"):
            continue
        found_routes.add(route)
        need(event.get("headers", {}).get("authorization") == f"Bearer {SAMPLE_SESSION_TOKEN}",
             "every sample carries the sample session's bearer token")
        if route == "create-organization":
            if need(body is not None, "a creation needs a body"):
                need(not organization_problems(body), "; ".join(organization_problems(body)))
        elif method == "GET":
            need(body is None, "a GET has no body")
        if route == "people":
            parameters = event.get("queryStringParameters", {})
            need(set(parameters) <= {"search[email]", "organization", "page", "limit"},
                 f"unknown /people parameters {sorted(parameters)}")
    missing = {"people", "create-organization", "person-memberships"} - found_routes
    problems.need(not missing, str(MEMBERS.relative_to(ROOT)), f"no sample for {sorted(missing)}")


def check_console_events(problems):
    found_routes = set()
    cookie = f"{CONSOLE_SESSION_COOKIE}={SAMPLE_STAFF_SESSION_TOKEN}"
    for path in sorted(CONSOLE.glob("*.json")):
        where = str(path.relative_to(ROOT))
        need = lambda condition, what: problems.need(condition, where, what)  # noqa: E731
        event = json.loads(path.read_bytes())
        method = event.get("requestContext", {}).get("http", {}).get("method")
        fields = check_api_event(problems, where, event, FORM)
        route = next((kind for (m, pattern), kind in CONSOLE_ROUTES.items()
                      if m == method and re.fullmatch(pattern, event.get("rawPath", ""))), None)
        if not need(route, f"{method} {event.get('rawPath')} is not a console route"):
            continue
        found_routes.add(route)
        headers = event.get("headers", {})
        need("cookie" not in headers, "function URLs pass cookies in `cookies`, not in a header")
        cookies = event.get("cookies", [])
        need(isinstance(cookies, list) and all(isinstance(c, str) and "=" in c for c in cookies),
             "cookies must be a list of name=value")
        if route in {"login-page", "style"}:
            need(not cookies, "the login page is opened without a session")
        elif route != "login":
            need(cookies == [cookie], "every signed-in sample carries the sample staff session cookie")
        if method == "GET":
            need(fields is None, "a GET has no body")
            if route == "search":
                need(str(event.get("queryStringParameters", {}).get("q", "")).strip(), "a search needs ?q=")
            continue
        if not need(fields is not None, "a console POST is a form"):
            continue
        need(headers.get("origin") == f"https://{headers.get('host')}", "a form is posted from the console's own origin")
        need(headers.get("sec-fetch-site") == "same-origin", "a browser marks its own forms same-origin")
        if route == "login":
            continue
        need(hmac.compare_digest(fields.get("csrf", ""), console_csrf(SAMPLE_STAFF_SESSION_TOKEN)),
             "csrf must be the sample session's token under the demo CSRF key")
        if route == "action":
            action = event["rawPath"].rsplit("/", 1)[-1]
            expected = CONSOLE_ACTION_FIELDS[action] | {"csrf"}
            need(set(fields) == expected, f"the {action} form has exactly {sorted(expected)}")
            if action == "expiry":
                try:
                    datetime.strptime(fields.get("expiry_date", ""), "%Y-%m-%d")
                except ValueError:
                    need(False, "expiry_date must be YYYY-MM-DD")
    missing = {"login-page", "search", "action", "dead-letters", "replay-all"} - found_routes
    problems.need(not missing, str(CONSOLE.relative_to(ROOT)), f"no sample for {sorted(missing)}")


def rollover_problems(payload):
    """Why the membership-rollover function would refuse `payload`, or []."""
    if payload is None:
        return []
    if not isinstance(payload, dict):
        return ["the payload must be an object (or null)"]
    found = [f"unknown field {k}" for k in payload if k not in ROLLOVER_FIELDS]
    if "date" in payload:
        try:
            datetime.strptime(str(payload["date"]), "%Y-%m-%d")
        except ValueError:
            found.append("date must be YYYY-MM-DD")
        if not isinstance(payload["date"], str):
            found.append("date must be a string")
    if "dry_run" in payload and not isinstance(payload["dry_run"], bool):
        found.append("dry_run must be a boolean")
    return found


def reconcile_problems(payload):
    """Why the network-reconcile function would refuse `payload`, or []."""
    if not isinstance(payload, dict):
        return ["the payload must be an object"]
    if "Records" in payload:
        found = []
        for record in payload["Records"]:
            try:
                page = json.loads(record.get("body", ""))
            except ValueError:
                found.append("a page's body is not JSON")
                continue
            if set(page) != {"run", "kind", "version"}:
                found.append("a page is {run, kind, version}")
            elif page["kind"] not in RUN_KINDS or not isinstance(page["version"], int):
                found.append("a page's kind or version")
        return found
    if "detail-type" in payload:
        fields, request = RECONCILE_DETAIL_FIELDS, dict(payload.get("detail") or {})
        kinds = {"Backfill requested": "backfill", "Reconcile requested": "reconcile"}
        if payload["detail-type"] not in kinds:
            return [f"unknown detail-type {payload['detail-type']}"]
        request["start"] = kinds[payload["detail-type"]]
    else:
        fields, request = RECONCILE_REQUEST_FIELDS, payload
    found = [f"unknown field {k}" for k in request if k not in fields | {"start"}]
    if request.get("start") not in RUN_KINDS:
        found.append("start must be backfill or reconcile")
    if not isinstance(request.get("dry_run", False), bool):
        found.append("dry_run must be a boolean")
    if request.get("start") == "backfill" and request.get("dry_run"):
        found.append("a backfill has no dry run")
    return found


def check_reconcile_events(problems):
    paths = sorted(RECONCILE.glob("*.json"))
    problems.need(paths, str(RECONCILE.relative_to(ROOT)), "no sample")
    for path in paths:
        found = reconcile_problems(json.loads(path.read_bytes()))
        problems.need(not found, str(path.relative_to(ROOT)), "; ".join(found))


def check_rollover_events(problems):
    paths = sorted(ROLLOVER.glob("*.json"))
    problems.need(paths, str(ROLLOVER.relative_to(ROOT)), "no sample")
    for path in paths:
        found = rollover_problems(json.loads(path.read_bytes()))
        problems.need(not found, str(path.relative_to(ROOT)), "; ".join(found))


def check():
    problems = Problems()
    check_named_paths(problems)
    check_json_files(problems)
    if not problems:
        check_webhook_events(problems)
        check_worker_events(problems)
        for folder in API_FOLDERS:
            if folder not in (REGISTRATION, MEMBERS, CONSOLE):
                for path in sorted(folder.glob("*.json")):
                    check_api_event(problems, str(path.relative_to(ROOT)), json.loads(path.read_bytes()))
        check_registration_events(problems)
        check_members_events(problems)
        check_console_events(problems)
        check_rollover_events(problems)
        check_reconcile_events(problems)
    for problem in problems:
        print(f"events: {problem}", file=sys.stderr)
    count = len(list(EVENTS.rglob("*.json")))
    print(f"events: {count} files, {len(problems)} problem(s)")
    return 1 if problems else 0


def main(argv):
    if argv[1:] == ["build"]:
        build_webhook_events()
        build_worker_events()
        build_registration_events()
        build_members_events()
        build_rollover_events()
        build_reconcile_events()
        build_console_events()
        return check()
    if argv[1:] == ["check"]:
        return check()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
