#!/usr/bin/env python3
"""Asserts the queue and permission rules of infra/template.yaml on the deployed shape.

cfn-lint checks that the template is valid; this checks that it says what the
design needs (reliability targets 16 and 17): it expands the template with
cfn-lint's own LanguageExtensions + SAM transforms, once per allowed
WorkerTimeoutSeconds and once with codes holding '_' and '-' (and another
network zone), drops the resources whose Condition is false as CloudFormation
would, then checks every SQS event source mapping, queue, dead-letter queue,
alarm, role and function, that the network zone is one of InstitutionCodes
with its own job queue and worker, that the webhook may enqueue to exactly the
member institutions' job queues (not the zone's), that the registration API
may reach exactly the members' job queues and API keys and the event bus it
needs, that the members API reaches only the table, that the staff console
reaches exactly every job queue and API key (network zone included) and the
generated CSRF key it needs, and that the membership rollover runs once a day
from its own schedule, with its own roles, retries and a watched dead-letter
queue.

    python3 infra/check_template.py [infra/template.yaml]   # exit 1 on any problem
"""

import copy
import json
import pathlib
import sys

from cfnlint.decode import decode
from cfnlint.template import Template
from cfnlint.template.transforms.transform import Transform

TEMPLATE = pathlib.Path(__file__).resolve().parent / "template.yaml"
# The payload the daily schedule sends must be the sample of a scheduled run.
SCHEDULED_SAMPLE = TEMPLATE.parent.parent / "events" / "membership-rollover" / "scheduled.json"
TRANSFORMS = ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]
SQS_DEFAULT_RETENTION = 345600
WEBHOOK_ENV = {
    "PATRON_HUB_TABLE", "PATRON_HUB_NETWORK_ZONE", "PATRON_HUB_INSTITUTIONS",
    "PATRON_HUB_QUEUE_PREFIX", "PATRON_HUB_WEBHOOK_SECRET_ARN",
    "PATRON_HUB_DISTRIBUTED_JOB_CATEGORIES", "PATRON_HUB_DISTRIBUTE_DELETIONS",
    "REGISTRATION_SETTINGS", "RUST_LOG",
}
WORKER_ENV = {
    "PATRON_HUB_INSTITUTION", "PATRON_HUB_TABLE", "PATRON_HUB_NETWORK_ZONE",
    "PATRON_HUB_QUEUE_PREFIX", "ALMA_API_BASE_URL", "ALMA_CALLS_PER_SECOND",
    "PATRON_HUB_WORKER_CONCURRENCY", "ALMA_API_KEY_SECRET_ARN",
    "PATRON_HUB_LINK_METHOD", "PATRON_HUB_MAX_ATTEMPTS", "REGISTRATION_SETTINGS", "RUST_LOG",
}
REGISTRATION_ENV = {
    "PATRON_HUB_TABLE", "PATRON_HUB_PUBLIC_BASE_URL", "PATRON_HUB_MAIL_FROM",
    "PATRON_HUB_NETWORK_ZONE", "PATRON_HUB_INSTITUTIONS", "PATRON_HUB_QUEUE_PREFIX",
    "ALMA_API_BASE_URL", "ALMA_API_KEY_SECRET_PREFIX",
    "EVENT_BUS_NAME", "CLIENT_KEYS", "REGISTRATION_SETTINGS", "RUST_LOG",
}
MEMBERS_ENV = {"PATRON_HUB_TABLE", "PATRON_HUB_PUBLIC_BASE_URL", "PATRON_HUB_MAIL_FROM", "RUST_LOG"}
ROLLOVER_ENV = {"PATRON_HUB_TABLE", "STAGING_RETENTION_DAYS", "RUST_LOG"}
CONSOLE_ENV = {
    "PATRON_HUB_TABLE", "PATRON_HUB_PUBLIC_BASE_URL", "PATRON_HUB_MAIL_FROM",
    "PATRON_HUB_NETWORK_ZONE", "PATRON_HUB_INSTITUTIONS", "PATRON_HUB_QUEUE_PREFIX",
    "ALMA_API_BASE_URL", "ALMA_API_KEY_SECRET_PREFIX", "CONSOLE_CSRF_KEY_SECRET_ARN", "RUST_LOG",
}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
# The table actions each of them needs, exactly (transactions need the actions
# of their items: puts and deletes; shared/store-aws uses no condition check).
MEMBERS_TABLE = {
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
    "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
}
ROLLOVER_TABLE = MEMBERS_TABLE - {"dynamodb:UpdateItem"}
# The console reads no accounts in batches (it searches patrons in Alma).
CONSOLE_TABLE = MEMBERS_TABLE - {"dynamodb:BatchGetItem"}
# Everything but the table the members API's role may use (no SES, queue or secret).
MEMBERS_ACTIONS = LOG_ACTIONS
# ... and the rollover's: its failed invocations go to its dead-letter queue.
ROLLOVER_ACTIONS = LOG_ACTIONS | {"sqs:SendMessage"}
# ... and the console's: it sends jobs (actions, replayed dead letters) and
# reads secrets; it receives no message (dead letters are kept in the table).
CONSOLE_ACTIONS = LOG_ACTIONS | {"sqs:SendMessage", "sqs:GetQueueUrl", "secretsmanager:GetSecretValue"}
# The characters of a hexadecimal CSRF key.
HEX_DIGITS = set("0123456789abcdef")
# The services the registration API's role may use at all (no SES, no SQS receive).
REGISTRATION_ACTIONS = {
    "logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage", "sqs:GetQueueUrl",
    "secretsmanager:GetSecretValue", "events:PutEvents",
}


class Checker:
    def __init__(self, path, raw):
        self.path = path
        self.raw = raw
        self.problems = []

    def need(self, condition, what):
        if not condition:
            self.problems.append(what)
        return condition

    # ------------------------------------------------------------ expansion

    def expand(self, **defaults):
        """The template as CloudFormation would deploy it, with these parameter
        values: transformed, without the resources whose Condition is false."""
        raw = copy.deepcopy(self.raw)
        for name, value in defaults.items():
            raw["Parameters"][name]["Default"] = value
        cfn = Template(str(self.path), raw, ["eu-west-1"])
        try:
            matches = [str(m) for m in Transform().transform(cfn)]
        except Exception as error:  # pylint: disable=broad-exception-caught
            matches = [repr(error)]
        if not self.need(not matches, f"transform failed with {defaults}: {matches}"):
            return raw, None
        template = cfn.template
        conditions = template.get("Conditions", {})
        resources = template["Resources"]
        for name in [k for k, r in resources.items() if "Condition" in r]:
            try:
                deployed = self.holds(raw, conditions, {"Condition": resources[name]["Condition"]})
            except (KeyError, TypeError, ValueError) as error:
                self.need(False, f"{name}: cannot evaluate its Condition with {defaults}: {error!r}")
                continue
            if not deployed:
                del resources[name]
        return raw, template

    def holds(self, raw, conditions, condition):
        """Whether a condition of the expanded template is true with the
        parameters' defaults; ValueError when it cannot be told here."""
        if isinstance(condition, dict) and len(condition) == 1:
            (function, argument), = condition.items()
            if function == "Condition" and isinstance(argument, str):
                return self.holds(raw, conditions, conditions[argument])
            if function == "Fn::Not":
                return not self.holds(raw, conditions, argument[0])
            if function == "Fn::And":
                return all(self.holds(raw, conditions, c) for c in argument)
            if function == "Fn::Or":
                return any(self.holds(raw, conditions, c) for c in argument)
            if function == "Fn::Equals":
                left, right = (self.text(raw, a) for a in argument)
                return left == right
        raise ValueError(f"unsupported condition {condition}")

    @staticmethod
    def text(raw, item):
        """A literal or a Ref to a parameter (its default), as text; ValueError otherwise."""
        if isinstance(item, (str, int, float)) and not isinstance(item, bool):
            return str(item)
        if isinstance(item, dict) and set(item) == {"Ref"} and item["Ref"] in raw["Parameters"]:
            return str(raw["Parameters"][item["Ref"]].get("Default"))
        raise ValueError(f"cannot resolve {item}")

    def value(self, raw, item):
        """Resolves numbers, Ref to parameters and Fn::FindInMap; None otherwise."""
        if isinstance(item, (int, float)):
            return item
        if isinstance(item, str):
            try:
                return float(item)
            except ValueError:
                return item
        if isinstance(item, dict) and len(item) == 1:
            (function, argument), = item.items()
            if function == "Ref" and argument in raw["Parameters"]:
                return self.value(raw, str(raw["Parameters"][argument].get("Default")))
            if function == "Fn::FindInMap":
                name, first, second = (self.value(raw, a) for a in argument[:3])
                first = str(int(first)) if isinstance(first, float) else first
                return self.value(raw, raw["Mappings"][name][first][second])
        return None

    @staticmethod
    def target(item):
        """The logical id named by {"Ref": id} or {"Fn::GetAtt": [id, attribute]}."""
        if isinstance(item, dict):
            if "Ref" in item:
                return item["Ref"]
            if "Fn::GetAtt" in item:
                att = item["Fn::GetAtt"]
                return att[0] if isinstance(att, list) else att.split(".")[0]
        return None

    # --------------------------------------------------------------- checks

    def check_source(self):
        self.need(self.raw.get("Transform") == TRANSFORMS, f"Transform must be exactly {TRANSFORMS}")
        rows = self.raw.get("Mappings", {}).get("WorkerTimeouts", {})
        allowed = self.raw["Parameters"]["WorkerTimeoutSeconds"].get("AllowedValues", [])
        self.need({str(v) for v in allowed} == set(rows), "WorkerTimeoutSeconds values must be the WorkerTimeouts rows")
        for timeout, row in rows.items():
            self.need(row.get("VisibilityTimeout") == 6 * int(timeout),
                      f"WorkerTimeouts[{timeout}] must be 6 x {timeout}")
        attempts = self.raw["Parameters"]["WorkerMaxAttempts"]
        self.need(attempts.get("MaxValue", 99) < 8, "WorkerMaxAttempts must stay below maxReceiveCount")
        concurrency = self.raw["Parameters"]["WorkerMaxConcurrency"]
        self.need(concurrency.get("MinValue", 0) >= 2, "MaximumConcurrency cannot be below 2")
        # Client key hashes come from a NoEcho parameter, never from the template.
        keys = self.raw["Resources"].get("RegistrationApiFunction", {}).get("Properties", {})
        keys = keys.get("Environment", {}).get("Variables", {}).get("CLIENT_KEYS")
        parameter = self.raw["Parameters"].get(keys.get("Ref") if isinstance(keys, dict) else None, {})
        self.need(parameter.get("NoEcho") is True, "CLIENT_KEYS must be a Ref to a NoEcho parameter")
        # The webhook, the workers and the registration API read patrons with
        # the same registration settings (the external id type).
        settings = list(self.values_of(self.raw["Resources"], "REGISTRATION_SETTINGS"))
        self.need(len(settings) >= 3 and all(s == settings[0] and "Ref" in s for s in settings),
                  f"REGISTRATION_SETTINGS must be one parameter wherever it is set: {settings}")
        # The network zone has its own job queue and worker (the staff console's
        # actions on the zone's records), so it is one of InstitutionCodes:
        # by default, and for any deploy (a rule CloudFormation checks).
        codes = str(self.raw["Parameters"]["InstitutionCodes"].get("Default", "")).split(",")
        zone = self.raw["Parameters"]["NetworkZoneCode"].get("Default")
        self.need(zone in codes, f"NetworkZoneCode's default {zone} must be in InstitutionCodes' default {codes}")
        contains = {"Fn::Contains": [{"Ref": "InstitutionCodes"}, {"Ref": "NetworkZoneCode"}]}
        asserts = [a.get("Assert") for rule in self.raw.get("Rules", {}).values() if isinstance(rule, dict)
                   and "Condition" not in rule for a in rule.get("Assertions", [])]
        self.need(contains in asserts, "a Rules assertion must require InstitutionCodes to contain NetworkZoneCode")
        # AWS: stack creation fails when Condition is the first key of a
        # resource inside Fn::ForEach (cfn-lint does not see it).
        for loop in [v for k, v in self.raw["Resources"].items() if k.startswith("Fn::ForEach::")]:
            for name, resource in loop[2].items():
                self.need(not isinstance(resource, dict) or next(iter(resource), None) != "Condition",
                          f"{name}: Condition must not be the first key of a resource in Fn::ForEach")

    def check_schedule_source(self):
        """The schedule is read in the ScheduleExpressionTimezone parameter
        (default Europe/Paris), once a day, and sends the scheduled sample."""
        schedules = [r.get("Properties", {}) for r in self.raw["Resources"].values()
                     if isinstance(r, dict) and r.get("Type") == "AWS::Scheduler::Schedule"]
        if not self.need(len(schedules) == 1, f"one AWS::Scheduler::Schedule expected, got {len(schedules)}"):
            return
        schedule = schedules[0]
        zone = self.raw["Parameters"].get("ScheduleExpressionTimezone", {})
        self.need(schedule.get("ScheduleExpressionTimezone") == {"Ref": "ScheduleExpressionTimezone"}
                  and zone.get("Default") == "Europe/Paris",
                  "the schedule's time zone must be the ScheduleExpressionTimezone parameter (default Europe/Paris)")
        expression = schedule.get("ScheduleExpression")
        if isinstance(expression, dict) and "Ref" in expression:
            expression = self.raw["Parameters"].get(expression["Ref"], {}).get("Default")
        fields = str(expression).removeprefix("cron(").removesuffix(")").split()
        self.need(str(expression).startswith("cron(") and len(fields) == 6
                  and all(f in {"*", "?"} for f in fields[2:5]) and fields[0].isdigit() and fields[1].isdigit(),
                  f"the rollover must run once a day at a fixed time: {expression}")
        target = schedule.get("Target", {})
        try:
            sample = json.loads(SCHEDULED_SAMPLE.read_text(encoding="utf-8"))
            sent = json.loads(target.get("Input", ""))
        except (OSError, ValueError) as error:
            self.need(False, f"schedule Input and {SCHEDULED_SAMPLE.name} must be JSON: {error}")
            return
        self.need(sent == sample, f"the schedule's Input must be events/membership-rollover/{SCHEDULED_SAMPLE.name}")

    @staticmethod
    def values_of(node, name):
        """Every value of the key `name` anywhere under `node`."""
        if isinstance(node, dict):
            for key, value in node.items():
                if key == name:
                    yield value
                yield from Checker.values_of(value, name)
        elif isinstance(node, list):
            for value in node:
                yield from Checker.values_of(value, name)

    def check_expanded(self, raw, template, codes):
        resources = template["Resources"]
        of_type = lambda kind: {k: v for k, v in resources.items() if v["Type"] == kind}  # noqa: E731
        mappings = of_type("AWS::Lambda::EventSourceMapping")
        queues = of_type("AWS::SQS::Queue")
        alarms = of_type("AWS::CloudWatch::Alarm").values()
        functions = of_type("AWS::Lambda::Function")
        self.need(len(mappings) == len(codes), f"one worker mapping per institution, got {len(mappings)}")
        consumed = set()
        for name, mapping in mappings.items():
            props = mapping["Properties"]
            queue_id = self.target(props.get("EventSourceArn"))
            function = functions.get(self.target(props.get("FunctionName")), {}).get("Properties", {})
            queue = queues.get(queue_id, {}).get("Properties")
            if not self.need(queue is not None and function, f"{name}: must read a queue of this stack"):
                continue
            consumed.add(queue_id)
            self.need("ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                      f"{name}: ReportBatchItemFailures must be on")
            maximum = self.value(raw, props.get("ScalingConfig", {}).get("MaximumConcurrency"))
            self.need(maximum is not None and maximum >= 2, f"{name}: ScalingConfig.MaximumConcurrency must be set")
            visibility = self.value(raw, queue.get("VisibilityTimeout"))
            timeout = self.value(raw, function.get("Timeout"))
            self.need(None not in (visibility, timeout) and visibility >= 6 * timeout,
                      f"{queue_id}: visibility {visibility} must be >= 6 x worker timeout {timeout}")
            env = set(function.get("Environment", {}).get("Variables", {}))
            self.need(env == WORKER_ENV, f"{name}: worker env differs: {sorted(env ^ WORKER_ENV)}")
            log_group = self.target(function.get("LoggingConfig", {}).get("LogGroup"))
            self.need(self.counts_dead_letters(resources, log_group),
                      f"{name}: needs an alarm counting its dead_lettered log lines")
            redrive = queue.get("RedrivePolicy", {})
            dlq_id = self.target(redrive.get("deadLetterTargetArn"))
            dlq = queues.get(dlq_id, {}).get("Properties")
            if not self.need(dlq is not None, f"{queue_id}: needs a dead-letter queue of this stack"):
                continue
            self.need(self.value(raw, redrive.get("maxReceiveCount")) >= 5, f"{queue_id}: maxReceiveCount >= 5")
            retention = lambda q: self.value(raw, q.get("MessageRetentionPeriod", SQS_DEFAULT_RETENTION))  # noqa: E731
            self.need(retention(dlq) > retention(queue), f"{dlq_id}: must keep messages longer than {queue_id}")
            self.need(any(self.watches(alarm["Properties"], dlq_id) for alarm in alarms),
                      f"{dlq_id}: needs an alarm on ApproximateNumberOfMessagesVisible > 0")
            for q_id, q in ((queue_id, queue), (dlq_id, dlq)):
                self.need(q.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in q, f"{q_id}: SSE")
            consumed.add(dlq_id)
        consumed |= self.check_rollover(raw, resources, functions, queues, alarms)
        self.need(consumed == set(queues), f"queues without worker or role: {sorted(set(queues) - consumed)}")
        webhook = functions.get("AlmaWebhookFunction", {}).get("Properties", {})
        env = set(webhook.get("Environment", {}).get("Variables", {}))
        self.need(env == WEBHOOK_ENV, f"AlmaWebhookFunction env differs: {sorted(env ^ WEBHOOK_ENV)}")
        self.need(webhook.get("Timeout") == 5, "AlmaWebhookFunction must answer within Alma's 5 s")
        job_queues = {self.target(m["Properties"].get("EventSourceArn")) for m in mappings.values()}
        zone = raw["Parameters"]["NetworkZoneCode"]["Default"]
        members = self.check_institutions(functions, mappings, codes, zone)
        self.check_webhook_queues(resources, webhook, members)
        self.check_registration(resources, functions, members, [c for c in codes if c != zone])
        self.check_members(resources, functions)
        self.check_console(raw, resources, functions, job_queues)
        self.check_policies(resources)

    def check_institutions(self, functions, mappings, codes, zone):
        """One worker per code of InstitutionCodes (PATRON_HUB_INSTITUTION), the
        network zone's included, each reading its own job queue with its own
        API key. Returns {job queue: API key} of the member institutions."""
        served = {}
        for mapping in mappings.values():
            props = mapping["Properties"]
            variables = functions.get(self.target(props.get("FunctionName")), {}).get("Properties", {})
            variables = variables.get("Environment", {}).get("Variables", {})
            code = variables.get("PATRON_HUB_INSTITUTION")
            key = self.target(variables.get("ALMA_API_KEY_SECRET_ARN"))
            self.need(isinstance(code, str) and code not in served,
                      f"one worker per institution, PATRON_HUB_INSTITUTION a code: {code}")
            served[str(code)] = (self.target(props.get("EventSourceArn")), key)
        self.need(set(served) == set(codes), f"workers serve {sorted(served)}, InstitutionCodes is {codes}")
        self.need(zone in served, f"the network zone {zone} needs a job queue and a worker")
        keys = [key for _, key in served.values()]
        self.need(len(set(keys)) == len(keys), f"each worker needs its own API key secret: {keys}")
        return dict(v for c, v in served.items() if c != zone)

    def check_webhook_queues(self, resources, webhook, members):
        """The webhook enqueues to the member institutions' job queues only,
        never to the network zone's (no SQS action on any other queue)."""
        role = self.target(webhook.get("Role"))
        if not self.need(role in resources, "AlmaWebhookFunction needs its own role"):
            return
        sqs = {a: t for a, t in self.granted(resources, role).items() if a.startswith("sqs:")}
        self.need(set(sqs) == {"sqs:SendMessage", "sqs:GetQueueUrl"} and all(t == set(members) for t in sqs.values()),
                  f"{role}: SQS actions must cover exactly the members' job queues {sorted(members)}: {sqs}")

    def check_registration(self, resources, functions, members, member_codes):
        """The registration API enqueues to every member institution's job
        queue, reads every member's API key (found by name from
        ALMA_API_KEY_SECRET_PREFIX) and publishes on the stack's bus: those,
        and nothing more (not the network zone's queue or key)."""
        function = functions.get("RegistrationApiFunction", {}).get("Properties", {})
        variables = function.get("Environment", {}).get("Variables", {})
        self.need(set(variables) == REGISTRATION_ENV,
                  f"RegistrationApiFunction env differs: {sorted(set(variables) ^ REGISTRATION_ENV)}")
        role = self.target(function.get("Role"))
        if not self.need(role in resources, "RegistrationApiFunction needs its own role"):
            return
        granted = {}
        for effect, actions, targets in self.statements(resources, role):
            self.need(effect == "Allow", f"{role}: unexpected {effect} statement")
            for action in actions:
                granted.setdefault(action, set()).update(targets)
        extra = {a for a in granted if not a.startswith("dynamodb:")} - REGISTRATION_ACTIONS
        self.need(not extra, f"{role}: grants more than registration needs: {sorted(extra)}")
        for action in ("sqs:SendMessage", "sqs:GetQueueUrl"):
            self.need(granted.get(action) == set(members),
                      f"{role}: {action} must cover exactly the members' job queues {sorted(members)}")
        buses = {k for k, v in resources.items() if v["Type"] == "AWS::Events::EventBus"}
        bus = self.target(variables.get("EVENT_BUS_NAME"))
        self.need(bus in buses and granted.get("events:PutEvents") == {bus},
                  f"{role}: events:PutEvents only on the bus EVENT_BUS_NAME names")
        member_keys = set(members.values())
        self.need(granted.get("secretsmanager:GetSecretValue") == member_keys,
                  f"{role}: may read exactly the member workers' API key secrets {sorted(map(str, member_keys))}")
        prefix = self.sub_text(variables.get("ALMA_API_KEY_SECRET_PREFIX"))
        named = {self.sub_text(resources[s]["Properties"].get("Name")) for s in member_keys if s in resources}
        self.need(prefix is not None and named == {prefix + code for code in member_codes},
                  f"API key secrets must be named ALMA_API_KEY_SECRET_PREFIX + code: {sorted(map(str, named))}")

    def granted(self, resources, role):
        """action -> target ids a role allows (every statement must Allow)."""
        granted = {}
        for effect, actions, targets in self.statements(resources, role):
            self.need(effect == "Allow", f"{role}: unexpected {effect} statement")
            for action in actions:
                granted.setdefault(action, set()).update(targets)
        return granted

    def check_table_role(self, resources, name, function, env, table_actions, others):
        """A function with exactly `env`, its own role allowed exactly
        `table_actions` on the table (and its indexes) only, plus the
        non-DynamoDB actions `others`; its grants."""
        variables = function.get("Environment", {}).get("Variables", {})
        self.need(set(variables) == env, f"{name} env differs: {sorted(set(variables) ^ env)}")
        role = self.target(function.get("Role"))
        if not self.need(role in resources, f"{name} needs its own role"):
            return {}
        users = [f for f, r in resources.items()
                 if r["Type"] == "AWS::Lambda::Function" and self.target(r["Properties"].get("Role")) == role]
        self.need(users == [name], f"{role} must serve {name} alone, not {users}")
        granted = self.granted(resources, role)
        extra = {a for a in granted if not a.startswith("dynamodb:")} - others
        self.need(not extra, f"{role}: grants more than {name} needs: {sorted(extra)}")
        table = {k for k, v in resources.items() if v["Type"] == "AWS::DynamoDB::Table"}
        for action, targets in granted.items():
            if action.startswith("dynamodb:"):
                named = {t for t in targets if t in resources}
                self.need(named == table, f"{role}: {action} must reach the table only, not {sorted(named)}")
        on_table = {a for a in granted if a.startswith("dynamodb:")}
        self.need(on_table == table_actions,
                  f"{role}: table actions differ from what {name} needs: {sorted(on_table ^ table_actions)}")
        return granted

    def check_members(self, resources, functions):
        """The members API: public function URL, the table and its logs, nothing else."""
        name = "MembersApiFunction"
        function = functions.get(name, {}).get("Properties", {})
        if not self.need(function, f"{name} is missing"):
            return
        self.check_table_role(resources, name, function, MEMBERS_ENV, MEMBERS_TABLE, MEMBERS_ACTIONS)
        self.need(any(r["Type"] == "AWS::Lambda::Url" and self.target(r["Properties"].get("TargetFunctionArn")) == name
                      for r in resources.values()), f"{name} needs a function URL like the accounts API")

    def check_console(self, raw, resources, functions, job_queues):
        """The staff console: a public function URL; it sends to every job
        queue (the network zone's included) and receives from none; it reads
        every worker's API key (the zone's worker's among them, named
        ALMA_API_KEY_SECRET_PREFIX + zone) and the CSRF key, which the stack
        generates as 64 hexadecimal digits; the table without Scan."""
        name = "AdminConsoleFunction"
        function = functions.get(name, {}).get("Properties", {})
        if not self.need(function, f"{name} is missing"):
            return
        granted = self.check_table_role(resources, name, function, CONSOLE_ENV, CONSOLE_TABLE, CONSOLE_ACTIONS)
        self.need(any(r["Type"] == "AWS::Lambda::Url" and self.target(r["Properties"].get("TargetFunctionArn")) == name
                      for r in resources.values()), f"{name} needs a function URL like the accounts API")
        self.need(granted.get("sqs:SendMessage") == job_queues,
                  f"{name}'s role: sqs:SendMessage must cover exactly the job queues {sorted(job_queues)}")
        variables = function.get("Environment", {}).get("Variables", {})
        csrf = self.target(variables.get("CONSOLE_CSRF_KEY_SECRET_ARN"))
        secrets = {k for k, v in resources.items() if v["Type"] == "AWS::SecretsManager::Secret"}
        if self.need(csrf in secrets, "CONSOLE_CSRF_KEY_SECRET_ARN must name a secret of this stack"):
            self.check_hex_key(csrf, resources[csrf]["Properties"])
        prefix = self.sub_text(variables.get("ALMA_API_KEY_SECRET_PREFIX"))
        zone = raw["Parameters"]["NetworkZoneCode"]["Default"]
        named = {k: self.sub_text(resources[k]["Properties"].get("Name")) for k in secrets}
        zone_keys = {k for k, n in named.items() if prefix is not None and n == f"{prefix}{zone}"}
        worker_keys = {
            self.target(f["Properties"].get("Environment", {}).get("Variables", {}).get("ALMA_API_KEY_SECRET_ARN"))
            for f in functions.values()
        } - {None}
        self.need(len(zone_keys) == 1 and zone_keys <= worker_keys,
                  f"the network zone's API key must be one secret, ALMA_API_KEY_SECRET_PREFIX + {zone}, "
                  f"read by the zone's worker: {sorted(zone_keys)}")
        self.need(granted.get("secretsmanager:GetSecretValue") == worker_keys | {csrf},
                  f"{name}'s role may read exactly the workers' API keys (the network zone's included) and the CSRF key")
        others = [f for f, r in resources.items() if f != name and r["Type"] == "AWS::Lambda::Function"
                  and csrf in {t for _, _, targets in self.statements(resources, self.target(r["Properties"].get("Role")))
                               for t in targets}]
        self.need(not others, f"only {name} may read the CSRF key, not {others}")

    def check_hex_key(self, name, secret):
        """A secret CloudFormation generates as exactly 64 hexadecimal digits."""
        spec = secret.get("GenerateSecretString")
        if not self.need(isinstance(spec, dict) and "SecretString" not in secret,
                         f"{name}: must be generated by CloudFormation, never written in the template"):
            return
        alphabet = set()
        if not spec.get("ExcludeLowercase"):
            alphabet |= set("abcdefghijklmnopqrstuvwxyz")
        if not spec.get("ExcludeUppercase"):
            alphabet |= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        if not spec.get("ExcludeNumbers"):
            alphabet |= set("0123456789")
        if not spec.get("ExcludePunctuation"):
            alphabet |= set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
        if spec.get("IncludeSpace"):
            alphabet.add(" ")
        alphabet -= set(spec.get("ExcludeCharacters", ""))
        self.need(alphabet == HEX_DIGITS, f"{name}: generated characters must be exactly 0-9a-f, not {sorted(alphabet)}")
        self.need(spec.get("PasswordLength") == 64, f"{name}: must be 64 hexadecimal digits (32 bytes)")
        self.need("SecretStringTemplate" not in spec, f"{name}: must be the bare key, not a JSON document")

    def check_rollover(self, raw, resources, functions, queues, alarms):
        """The membership rollover: no URL, invoked once a day by its schedule
        (flexible window off, retries, dead-letter queue) whose role may only
        invoke it and dead-letter; the function's own failures land in the
        same watched queue. Returns the queue ids it accounts for."""
        name = "MembershipRolloverFunction"
        function = functions.get(name, {}).get("Properties", {})
        if not self.need(function, f"{name} is missing"):
            return set()
        granted = self.check_table_role(resources, name, function, ROLLOVER_ENV, ROLLOVER_TABLE, ROLLOVER_ACTIONS)
        self.need(not any(r["Type"] == "AWS::Lambda::Url" and self.target(r["Properties"].get("TargetFunctionArn")) == name
                          for r in resources.values()), f"{name} must not be reachable by URL")
        schedules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule"]
        if not self.need(len(schedules) == 1, "one schedule expected"):
            return set()
        schedule = schedules[0]
        target = schedule.get("Target", {})
        self.need(self.target(target.get("Arn")) == name, f"the schedule must invoke {name}")
        self.need(schedule.get("FlexibleTimeWindow", {}).get("Mode") == "OFF", "the schedule's flexible window must be OFF")
        self.need(schedule.get("State", "ENABLED") == "ENABLED", "the schedule must be enabled")
        retry = target.get("RetryPolicy", {})
        self.need((self.value(raw, retry.get("MaximumRetryAttempts")) or 0) >= 1
                  and self.value(raw, retry.get("MaximumEventAgeInSeconds")) is not None,
                  "the schedule needs a retry policy")
        dlq = self.target(target.get("DeadLetterConfig", {}).get("Arn"))
        queue = queues.get(dlq, {}).get("Properties")
        if not self.need(queue is not None, "the schedule needs a dead-letter queue of this stack"):
            return set()
        self.need(queue.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue, f"{dlq}: SSE")
        self.need(any(self.watches(alarm["Properties"], dlq) for alarm in alarms),
                  f"{dlq}: needs an alarm on ApproximateNumberOfMessagesVisible > 0")
        configs = [r["Properties"] for r in resources.values()
                   if r["Type"] == "AWS::Lambda::EventInvokeConfig" and self.target(r["Properties"].get("FunctionName")) == name]
        self.need(len(configs) == 1
                  and self.target(configs[0].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")) == dlq
                  and self.value(raw, configs[0].get("MaximumRetryAttempts")) is not None,
                  f"{name}: failed invocations must be retried, then sent to {dlq}")
        self.need(granted.get("sqs:SendMessage") == {dlq}, f"{name}'s role may send to {dlq} only")
        role = self.target(target.get("RoleArn"))
        if self.need(role in resources and role != self.target(function.get("Role")),
                     "the schedule needs its own role"):
            trust = resources[role]["Properties"].get("AssumeRolePolicyDocument", {}).get("Statement", [])
            principals = [s.get("Principal", {}).get("Service") for s in trust]
            self.need(principals == ["scheduler.amazonaws.com"], f"{role} must be assumed by the scheduler only")
            self.need(self.granted(resources, role) == {"lambda:InvokeFunction": {name}, "sqs:SendMessage": {dlq}},
                      f"{role} may only invoke {name} and dead-letter to {dlq}")
        return {dlq}

    def statements(self, resources, role):
        """(effect, actions, target ids) of every statement of a role's inline
        policies and of the RolePolicy resources attached to it."""
        documents = [p["PolicyDocument"] for p in resources[role]["Properties"].get("Policies", [])]
        documents += [
            r["Properties"]["PolicyDocument"]
            for r in resources.values()
            if r["Type"] == "AWS::IAM::RolePolicy" and self.target(r["Properties"].get("RoleName")) == role
        ]
        for document in documents:
            for statement in document.get("Statement", []):
                actions = statement.get("Action", [])
                targets = statement.get("Resource", [])
                actions = actions if isinstance(actions, list) else [actions]
                targets = targets if isinstance(targets, list) else [targets]
                yield statement.get("Effect"), actions, {self.target(r) or str(r) for r in targets}

    @staticmethod
    def sub_text(item):
        """The text of a plain string or of a one-argument Fn::Sub."""
        if isinstance(item, dict) and isinstance(item.get("Fn::Sub"), str):
            return item["Fn::Sub"]
        return item if isinstance(item, str) else None

    @staticmethod
    def counts_dead_letters(resources, log_group):
        """Whether a metric filter counts the worker's dead_lettered lines and an alarm watches it."""
        metrics = [
            (t.get("MetricNamespace"), t.get("MetricName"))
            for r in resources.values()
            if r["Type"] == "AWS::Logs::MetricFilter"
            and Checker.target(r["Properties"].get("LogGroupName")) == log_group
            and '$.fields.outcome = "dead_lettered"' in r["Properties"].get("FilterPattern", "")
            for t in r["Properties"].get("MetricTransformations", [])
        ]
        return any(
            (a["Properties"].get("Namespace"), a["Properties"].get("MetricName")) in metrics
            and a["Properties"].get("ComparisonOperator") == "GreaterThanThreshold"
            and a["Properties"].get("Threshold") == 0
            for a in resources.values()
            if a["Type"] == "AWS::CloudWatch::Alarm"
        )

    @staticmethod
    def watches(alarm, dlq_id):
        dimensions = alarm.get("Dimensions", [])
        return (
            alarm.get("Namespace") == "AWS/SQS"
            and alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and alarm.get("ComparisonOperator") == "GreaterThanThreshold"
            and alarm.get("Threshold") == 0
            and any(Checker.target(d.get("Value")) == dlq_id for d in dimensions)
        )

    def check_policies(self, resources):
        """No Scan, no wildcard action, no '*' resource, in any role of the stack."""
        documents = []
        for name, resource in resources.items():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::IAM::Role":
                self.need(not props.get("ManagedPolicyArns"), f"{name}: managed policies grant too much")
                documents += [(name, p["PolicyDocument"]) for p in props.get("Policies", [])]
            elif resource["Type"] == "AWS::IAM::RolePolicy":
                documents.append((name, props["PolicyDocument"]))
        for name, document in documents:
            for statement in document.get("Statement", []):
                actions = statement.get("Action", [])
                actions = actions if isinstance(actions, list) else [actions]
                targets = statement.get("Resource", [])
                targets = targets if isinstance(targets, list) else [targets]
                self.need("dynamodb:Scan" not in actions, f"{name}: grants dynamodb:Scan")
                self.need(not any("*" in a for a in actions), f"{name}: wildcard action {actions}")
                self.need("*" not in targets, f"{name}: Resource '*'")


def main(argv):
    path = pathlib.Path(argv[1]) if len(argv) > 1 else TEMPLATE
    raw, matches = decode(str(path))
    if matches or raw is None:
        print(f"check_template: cannot read {path}: {matches}", file=sys.stderr)
        return 1
    checker = Checker(path, raw)
    checker.check_source()
    checker.check_schedule_source()
    runs = [{"WorkerTimeoutSeconds": str(t)} for t in raw["Parameters"]["WorkerTimeoutSeconds"]["AllowedValues"]]
    # Codes holding '_' and '-', and another network zone (not listed first).
    runs.append({"InstitutionCodes": "33PUDB_UB,IEP-BDX,33PUDB_NETWORK,INP", "NetworkZoneCode": "33PUDB_NETWORK"})
    for run in runs:
        expanded_raw, template = checker.expand(**run)
        if template is None:
            continue
        codes = expanded_raw["Parameters"]["InstitutionCodes"]["Default"].split(",")
        checker.check_expanded(expanded_raw, template, codes)
    for problem in dict.fromkeys(checker.problems):
        print(f"check_template: {problem}", file=sys.stderr)
    print(f"check_template: {len(runs)} expansions, {len(set(checker.problems))} problem(s)")
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
