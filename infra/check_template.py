#!/usr/bin/env python3
"""Asserts the queue and permission rules of infra/template.yaml on the deployed shape.

cfn-lint checks that the templates are valid; this checks that they say what
the design needs (reliability targets 16 and 17). infra/cfn_model.py works
out what CloudFormation would create (ForEach expanded, SAM functions turned
into Lambda resources, false conditions dropped, each institution's nested
stack (infra/institution.yaml) flattened in, every name and ARN resolved),
once per allowed WorkerTimeoutSeconds and once with codes holding '_' and '-'
(and another network zone). On that it checks every SQS event source mapping,
queue, dead-letter queue, alarm, role and function: that the network zone is
one of InstitutionCodes with its own job queue and worker, that the webhook may
enqueue to exactly the member institutions' job queues (not the zone's, not a
dead-letter queue), that the registration API may reach exactly the members'
job queues and API keys and the event bus it needs, that the members API
reaches only the table, that the staff console reaches exactly every job queue
and API key (network zone included) and the generated CSRF key it needs, that
the membership rollover runs once a day from its own schedule, with its own
roles, retries and a watched dead-letter queue, that each function's queue
URL prefix builds the URL of every queue it uses, that each function's
environment fits Lambda's 4 KB, and that the parent stays within
CloudFormation's quotas. IAM resource patterns are matched against the names
the stack creates, with Deny statements taken off.

    python3 infra/check_template.py [infra/template.yaml]   # exit 1 on any problem
    python3 infra/check_template.py widen DIR COUNT         # DIR/template.yaml with COUNT institutions
"""

import json
import pathlib
import re
import shutil
import sys

import cfn_model

# The worker's bound on waits for a busy patron lane (WorkerSettings::max_waits).
WORKER_MAX_WAITS = 100

TEMPLATE = pathlib.Path(__file__).resolve().parent / "template.yaml"
# The payload the daily schedule sends must be the sample of a scheduled run.
SCHEDULED_SAMPLE = TEMPLATE.parent.parent / "events" / "membership-rollover" / "scheduled.json"
# ... and the nightly reconcile's, the reconcile's sample.
RECONCILE_SAMPLE = TEMPLATE.parent.parent / "events" / "network-reconcile" / "scheduled-reconcile.json"
# The schedules of the stack: function -> (the sample its Input must be, what it does).
SCHEDULES = {
    "MembershipRolloverFunction": (SCHEDULED_SAMPLE, "the rollover"),
    "NetworkReconcileFunction": (RECONCILE_SAMPLE, "the reconcile"),
}
# The events on the stack's bus that begin a run of the network reconcile.
RUN_REQUESTS = {"Backfill requested", "Reconcile requested"}
TRANSFORMS = [cfn_model.LANGUAGE_EXTENSIONS, cfn_model.SAM]
SQS_DEFAULT_RETENTION = 345600
# CloudFormation's quotas for one stack (the processed template, after transforms).
MAX_RESOURCES, MAX_OUTPUTS, MAX_PARAMETERS, MAX_TEMPLATE_BYTES = 500, 200, 200, 1_000_000
# Lambda: all environment variables of a function together (keys and values).
MAX_ENVIRONMENT_BYTES = 4096
# The namespace of the functions' EMF metrics (patron_hub_lambda::emf::NAMESPACE).
EMF_NAMESPACE = "PatronHub"

QUEUE_ENV = {"PATRON_HUB_QUEUE_URL_PREFIX"}
WEBHOOK_ENV = QUEUE_ENV | {
    "PATRON_HUB_TABLE", "PATRON_HUB_NETWORK_ZONE", "PATRON_HUB_INSTITUTIONS",
    "PATRON_HUB_WEBHOOK_SECRET_ARN", "PATRON_HUB_DISTRIBUTED_JOB_CATEGORIES",
    "PATRON_HUB_DISTRIBUTE_DELETIONS", "REGISTRATION_SETTINGS", "RUST_LOG",
}
WORKER_ENV = QUEUE_ENV | {
    "PATRON_HUB_INSTITUTION", "PATRON_HUB_TABLE", "PATRON_HUB_NETWORK_ZONE",
    "ALMA_API_BASE_URL", "ALMA_CALLS_PER_SECOND", "PATRON_HUB_WORKER_CONCURRENCY",
    "ALMA_API_KEY_SECRET_ARN", "PATRON_HUB_LINK_METHOD", "PATRON_HUB_MAX_ATTEMPTS",
    "REGISTRATION_SETTINGS", "RUST_LOG",
}
REGISTRATION_ENV = QUEUE_ENV | {
    "PATRON_HUB_TABLE", "PATRON_HUB_PUBLIC_BASE_URL", "PATRON_HUB_MAIL_FROM",
    "PATRON_HUB_NETWORK_ZONE", "PATRON_HUB_INSTITUTIONS",
    "ALMA_API_BASE_URL", "ALMA_API_KEY_SECRET_PREFIX",
    "EVENT_BUS_NAME", "CLIENT_KEYS", "REGISTRATION_SETTINGS", "RUST_LOG",
}
RECONCILE_ENV = QUEUE_ENV | {
    "PATRON_HUB_TABLE", "PATRON_HUB_NETWORK_ZONE", "PATRON_HUB_INSTITUTIONS",
    "PATRON_HUB_DISTRIBUTED_JOB_CATEGORIES", "ALMA_API_BASE_URL", "ALMA_CALLS_PER_SECOND",
    "ALMA_API_KEY_SECRET_PREFIX", "RECONCILE_PAGES_QUEUE_URL", "REGISTRATION_SETTINGS", "RUST_LOG",
}
MEMBERS_ENV = {"PATRON_HUB_TABLE", "PATRON_HUB_PUBLIC_BASE_URL", "PATRON_HUB_MAIL_FROM", "RUST_LOG"}
ROLLOVER_ENV = {"PATRON_HUB_TABLE", "STAGING_RETENTION_DAYS", "RUST_LOG"}
CONSOLE_ENV = QUEUE_ENV | {
    "PATRON_HUB_TABLE", "PATRON_HUB_PUBLIC_BASE_URL", "PATRON_HUB_MAIL_FROM",
    "PATRON_HUB_NETWORK_ZONE", "PATRON_HUB_INSTITUTIONS",
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
# A worker reads its institution's rows; it never deletes in batches.
WORKER_TABLE = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
# ... and besides the table: its own job queue (the event source mapping's
# receive, delete, attributes; its own retry-later visibility change) and its API key.
WORKER_ACTIONS = LOG_ACTIONS | {
    "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
    "secretsmanager:GetSecretValue",
}
# Everything but the table the members API's role may use (no SES, queue or secret).
MEMBERS_ACTIONS = LOG_ACTIONS
# ... and the rollover's: its failed invocations go to its dead-letter queue.
ROLLOVER_ACTIONS = LOG_ACTIONS | {"sqs:SendMessage"}
# ... and the console's: it sends jobs (actions, replayed dead letters) and
# reads secrets; it receives no message (dead letters are kept in the table).
CONSOLE_ACTIONS = LOG_ACTIONS | {"sqs:SendMessage", "secretsmanager:GetSecretValue"}
# The network reconcile's: runs and the registry in the table (batch writes of
# versions and differences; no batch read), repairs sent to the members' job
# queues, its own queue of pages moved (send, receive, delete, retry-later
# visibility, the event source mapping's attributes), every API key.
RECONCILE_TABLE = CONSOLE_TABLE
RECONCILE_ACTIONS = WORKER_ACTIONS | {"sqs:SendMessage"}
# The characters of a hexadecimal CSRF key.
HEX_DIGITS = set("0123456789abcdef")
# The services the registration API's role may use at all (no SES, no SQS receive).
REGISTRATION_ACTIONS = {
    "logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage",
    "secretsmanager:GetSecretValue", "events:PutEvents",
}


class Checker:
    def __init__(self, path):
        self.path = path
        self.raw = cfn_model.load(path)
        self.child_path = path.parent / "institution.yaml"
        self.child = cfn_model.load(self.child_path)
        self.problems = []
        self.figures = []

    def need(self, condition, what):
        if not condition:
            self.problems.append(what)
        return condition

    @staticmethod
    def value(item):
        """A number when the (resolved) value is one, else the value itself."""
        if isinstance(item, bool):
            return item
        try:
            return float(item)
        except (TypeError, ValueError):
            return item

    # ------------------------------------------------------- the sources

    def check_source(self):
        self.need(cfn_model.transforms(self.raw) == TRANSFORMS, f"Transform must be exactly {TRANSFORMS}")
        self.need(cfn_model.transforms(self.child) == [cfn_model.SAM],
                  f"{self.child_path.name}: Transform must be exactly {cfn_model.SAM}")
        rows = self.child.get("Mappings", {}).get("WorkerTimeouts", {})
        for template in (self.raw, self.child):
            allowed = template["Parameters"]["WorkerTimeoutSeconds"].get("AllowedValues", [])
            self.need({str(v) for v in allowed} == set(rows),
                      "WorkerTimeoutSeconds values must be the WorkerTimeouts rows, in both templates")
            # A receive is a try or a wait: the worker gives up by itself after
            # WorkerMaxAttempts tries plus its waits (WorkerSettings::max_waits,
            # 100), so SQS's redrive must only see what it could never settle.
            attempts = template["Parameters"]["WorkerMaxAttempts"].get("MaxValue", 10**6)
            redrive = self.child["Resources"]["JobQueue"]["Properties"]["RedrivePolicy"]
            self.need(attempts + WORKER_MAX_WAITS < redrive["maxReceiveCount"],
                      "WorkerMaxAttempts + the worker's waits must stay below maxReceiveCount")
            concurrency = template["Parameters"]["WorkerMaxConcurrency"]
            self.need(concurrency.get("MinValue", 0) >= 2, "MaximumConcurrency cannot be below 2")
        for timeout, row in rows.items():
            self.need(row.get("VisibilityTimeout") == 6 * int(timeout),
                      f"WorkerTimeouts[{timeout}] must be 6 x {timeout}")
        # Client key hashes come from a NoEcho parameter, never from the template.
        keys = self.raw["Resources"].get("RegistrationApiFunction", {}).get("Properties", {})
        keys = keys.get("Environment", {}).get("Variables", {}).get("CLIENT_KEYS")
        parameter = self.raw["Parameters"].get(keys.get("Ref") if isinstance(keys, dict) else None, {})
        self.need(parameter.get("NoEcho") is True, "CLIENT_KEYS must be a Ref to a NoEcho parameter")
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
        # A nested stack's own name is generated: every name in it must
        # start with the parent's (NamePrefix), or the parent's name
        # patterns would miss it.
        self.need("AWS::StackName" not in json.dumps(self.child.get("Resources", {})),
                  f"{self.child_path.name}: names must use NamePrefix, not the nested stack's AWS::StackName")

    def check_schedule_source(self):
        """Each schedule is read in the ScheduleExpressionTimezone parameter
        (default Europe/Paris), once a day, and sends its function's sample."""
        schedules = [r.get("Properties", {}) for r in self.raw["Resources"].values()
                     if isinstance(r, dict) and r.get("Type") == "AWS::Scheduler::Schedule"]
        targets = [s.get("Target", {}).get("Arn", {}).get("Fn::GetAtt", [None])[0] for s in schedules]
        if not self.need(sorted(targets) == sorted(SCHEDULES),
                         f"one AWS::Scheduler::Schedule per scheduled function {sorted(SCHEDULES)}, got {targets}"):
            return
        zone = self.raw["Parameters"].get("ScheduleExpressionTimezone", {})
        for function, schedule in zip(targets, schedules):
            sample_path, what = SCHEDULES[function]
            self.need(schedule.get("ScheduleExpressionTimezone") == {"Ref": "ScheduleExpressionTimezone"}
                      and zone.get("Default") == "Europe/Paris",
                      f"{what}'s time zone must be the ScheduleExpressionTimezone parameter (default Europe/Paris)")
            expression = schedule.get("ScheduleExpression")
            if isinstance(expression, dict) and "Ref" in expression:
                expression = self.raw["Parameters"].get(expression["Ref"], {}).get("Default")
            fields = str(expression).removeprefix("cron(").removesuffix(")").split()
            self.need(str(expression).startswith("cron(") and len(fields) == 6
                      and all(f in {"*", "?"} for f in fields[2:5]) and fields[0].isdigit() and fields[1].isdigit(),
                      f"{what} must run once a day at a fixed time: {expression}")
            target = schedule.get("Target", {})
            try:
                sample = json.loads(sample_path.read_text(encoding="utf-8"))
                sent = json.loads(target.get("Input", ""))
            except (OSError, ValueError) as error:
                self.need(False, f"{what}'s schedule Input and {sample_path.name} must be JSON: {error}")
                continue
            where = sample_path.relative_to(TEMPLATE.parent.parent)
            self.need(sent == sample, f"{what}'s schedule Input must be {where}")

    # ------------------------------------------------- the deployed shape

    def check_deployment(self, overrides):
        try:
            deployment = cfn_model.Deployment(self.path, overrides)
        except (cfn_model.ModelError, KeyError, TypeError, ValueError) as error:
            self.need(False, f"cannot work out the deployment with {overrides}: {error!r}")
            return
        for problem in deployment.problems:
            self.need(False, f"with {overrides}: {problem}")
        self.deployment = deployment
        self.check_quotas(deployment, report="InstitutionCodes" not in overrides)
        self.check_expanded(deployment.parameters, deployment.resources, report="InstitutionCodes" not in overrides)

    def check_quotas(self, deployment, report):
        """The parent and each nested stack within CloudFormation's quotas."""
        for prefix, stack in deployment.stacks.items():
            resources, outputs, parameters, size = stack.counts()
            where = prefix.rstrip(".") or "the parent stack"
            self.need(resources <= MAX_RESOURCES, f"{where}: {resources} resources (at most {MAX_RESOURCES})")
            self.need(outputs <= MAX_OUTPUTS, f"{where}: {outputs} outputs (at most {MAX_OUTPUTS})")
            self.need(parameters <= MAX_PARAMETERS, f"{where}: {parameters} parameters (at most {MAX_PARAMETERS})")
            self.need(size <= MAX_TEMPLATE_BYTES, f"{where}: processed template of {size} bytes (at most 1 MB)")
        if not report:
            return
        resources, outputs, parameters, size = deployment.counts()
        codes = len(deployment.parameters["InstitutionCodes"])
        child = next((s for p, s in deployment.stacks.items() if p), None)
        nested = f"; one nested stack: {child.counts()[0]} resources" if child else ""
        self.figures.append(f"{codes} institutions: the parent stack has {resources} resources, {outputs} outputs, "
                            f"{parameters} parameters, {size} bytes processed{nested}")

    def functions_reading(self, resources, variable):
        """Lambda function id -> the value of `variable` in its environment."""
        return {
            name: r["Properties"].get("Environment", {}).get("Variables", {}).get(variable)
            for name, r in resources.items()
            if r["Type"] == "AWS::Lambda::Function"
            and variable in r["Properties"].get("Environment", {}).get("Variables", {})
        }

    def check_expanded(self, parameters, resources, report):
        codes = parameters["InstitutionCodes"]
        zone = parameters["NetworkZoneCode"]
        of_type = lambda kind: {k: v for k, v in resources.items() if v["Type"] == kind}  # noqa: E731
        mappings = of_type("AWS::Lambda::EventSourceMapping")
        queues = of_type("AWS::SQS::Queue")
        alarms = of_type("AWS::CloudWatch::Alarm").values()
        functions = of_type("AWS::Lambda::Function")
        target = self.deployment.target
        reconcile_mappings = {k: m for k, m in mappings.items()
                              if target(m["Properties"].get("FunctionName")) == "NetworkReconcileFunction"}
        mappings = {k: m for k, m in mappings.items() if k not in reconcile_mappings}
        self.need(len(mappings) == len(codes), f"one worker mapping per institution, got {len(mappings)}")
        consumed = set()
        for name, mapping in mappings.items():
            props = mapping["Properties"]
            queue_id = target(props.get("EventSourceArn"))
            function = functions.get(target(props.get("FunctionName")), {}).get("Properties", {})
            queue = queues.get(queue_id, {}).get("Properties")
            if not self.need(queue is not None and function, f"{name}: must read a queue of this stack"):
                continue
            consumed.add(queue_id)
            self.need("ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                      f"{name}: ReportBatchItemFailures must be on")
            maximum = self.value(props.get("ScalingConfig", {}).get("MaximumConcurrency"))
            self.need(isinstance(maximum, float) and maximum >= 2,
                      f"{name}: ScalingConfig.MaximumConcurrency must be set")
            visibility = self.value(queue.get("VisibilityTimeout"))
            timeout = self.value(function.get("Timeout"))
            self.need(isinstance(visibility, float) and isinstance(timeout, float) and visibility >= 6 * timeout,
                      f"{queue_id}: visibility {visibility} must be >= 6 x worker timeout {timeout}")
            log_group = target(function.get("LoggingConfig", {}).get("LogGroup"))
            self.need(self.counts_dead_letters(resources, log_group),
                      f"{name}: needs an alarm counting its dead_lettered log lines")
            redrive = queue.get("RedrivePolicy", {})
            dlq_id = target(redrive.get("deadLetterTargetArn"))
            dlq = queues.get(dlq_id, {}).get("Properties")
            if not self.need(dlq is not None, f"{queue_id}: needs a dead-letter queue of this stack"):
                continue
            self.need(self.value(redrive.get("maxReceiveCount")) >= 5, f"{queue_id}: maxReceiveCount >= 5")
            retention = lambda q: self.value(q.get("MessageRetentionPeriod", SQS_DEFAULT_RETENTION))  # noqa: E731
            self.need(retention(dlq) > retention(queue), f"{dlq_id}: must keep messages longer than {queue_id}")
            self.need(any(self.watches(alarm["Properties"], dlq) for alarm in alarms),
                      f"{dlq_id}: needs an alarm on ApproximateNumberOfMessagesVisible > 0")
            lag = self.value(parameters["JobLagAlarmSeconds"])
            self.need(any(self.watches_lag(alarm["Properties"], queue, lag) for alarm in alarms),
                      f"{queue_id}: needs an alarm on ApproximateAgeOfOldestMessage > JobLagAlarmSeconds ({lag})")
            code = function.get("Environment", {}).get("Variables", {}).get("PATRON_HUB_INSTITUTION")
            self.need(self.has_dashboard(resources, code, queue, dlq),
                      f"{queue_id}: needs a dashboard of {code}'s queue, dead letters, Alma answers and webhook latency")
            for q_id, q in ((queue_id, queue), (dlq_id, dlq)):
                self.need(q.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in q, f"{q_id}: SSE")
            consumed.add(dlq_id)
        consumed |= self.check_rollover(resources, functions, queues, alarms)
        webhook = functions.get("AlmaWebhookFunction", {}).get("Properties", {})
        env = set(webhook.get("Environment", {}).get("Variables", {}))
        self.need(env == WEBHOOK_ENV, f"AlmaWebhookFunction env differs: {sorted(env ^ WEBHOOK_ENV)}")
        self.need(webhook.get("Timeout") == 5, "AlmaWebhookFunction must answer within Alma's 5 s")
        job_queues = {target(m["Properties"].get("EventSourceArn")) for m in mappings.values()}
        served = self.check_institutions(functions, mappings, codes, zone)
        members = {queue: key for code, (queue, key) in served.items() if code != zone}
        self.check_webhook_queues(resources, webhook, members)
        self.check_registration(resources, functions, members, [c for c in codes if c != zone])
        self.check_members(resources, functions)
        self.check_console(parameters, resources, functions, job_queues)
        consumed |= self.check_reconcile(resources, functions, queues, alarms, reconcile_mappings, members)
        self.need(consumed == set(queues), f"queues without worker or role: {sorted(set(queues) - consumed)}")
        self.check_queue_urls(parameters, resources, functions, served)
        self.check_shared_settings(parameters, functions, mappings)
        self.check_environment_sizes(functions, report)
        self.check_policies(resources)

    def check_institutions(self, functions, mappings, codes, zone):
        """One worker per code of InstitutionCodes (PATRON_HUB_INSTITUTION), the
        network zone's included, each reading its own job queue with its own
        API key. Returns {code: (job queue, API key)}."""
        target = self.deployment.target
        served = {}
        for mapping in mappings.values():
            props = mapping["Properties"]
            variables = functions.get(target(props.get("FunctionName")), {}).get("Properties", {})
            variables = variables.get("Environment", {}).get("Variables", {})
            code = variables.get("PATRON_HUB_INSTITUTION")
            key = target(variables.get("ALMA_API_KEY_SECRET_ARN"))
            self.need(isinstance(code, str) and code not in served,
                      f"one worker per institution, PATRON_HUB_INSTITUTION a code: {code}")
            queue = target(props.get("EventSourceArn"))
            served[str(code)] = (queue, key)
            worker = target(props.get("FunctionName"))
            granted = self.check_table_role(self.deployment.resources, worker, functions.get(worker, {}).get(
                "Properties", {}), WORKER_ENV, WORKER_TABLE, WORKER_ACTIONS)
            self.need(all(t == {queue} for a, t in granted.items() if a.startswith("sqs:"))
                      and granted.get("secretsmanager:GetSecretValue") == {key},
                      f"{worker}'s role may reach its own job queue {queue} and API key {key} only")
        self.need(set(served) == set(codes), f"workers serve {sorted(served)}, InstitutionCodes is {codes}")
        self.need(zone in served, f"the network zone {zone} needs a job queue and a worker")
        keys = [key for _, key in served.values()]
        self.need(None not in keys and len(set(keys)) == len(keys), f"each worker needs its own API key secret: {keys}")
        return served

    def check_webhook_queues(self, resources, webhook, members):
        """The webhook enqueues to the member institutions' job queues only,
        never to the network zone's (no SQS action on any other queue)."""
        role = self.deployment.target(webhook.get("Role"))
        if not self.need(role in resources, "AlmaWebhookFunction needs its own role"):
            return
        sqs = {a: t for a, t in self.granted(resources, role).items() if a.startswith("sqs:")}
        self.need(set(sqs) == {"sqs:SendMessage"} and all(t == set(members) for t in sqs.values()),
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
        role = self.deployment.target(function.get("Role"))
        if not self.need(role in resources, "RegistrationApiFunction needs its own role"):
            return
        granted = self.granted(resources, role)
        extra = {a for a in granted if not a.startswith("dynamodb:")} - REGISTRATION_ACTIONS
        self.need(not extra, f"{role}: grants more than registration needs: {sorted(extra)}")
        self.need(granted.get("sqs:SendMessage") == set(members),
                  f"{role}: sqs:SendMessage must cover exactly the members' job queues {sorted(members)}")
        buses = {k for k, v in resources.items() if v["Type"] == "AWS::Events::EventBus"}
        bus = self.deployment.target(variables.get("EVENT_BUS_NAME"))
        self.need(bus in buses and granted.get("events:PutEvents") == {bus},
                  f"{role}: events:PutEvents only on the bus EVENT_BUS_NAME names")
        member_keys = set(members.values())
        self.need(granted.get("secretsmanager:GetSecretValue") == member_keys,
                  f"{role}: may read exactly the member workers' API key secrets {sorted(map(str, member_keys))}")
        prefix = variables.get("ALMA_API_KEY_SECRET_PREFIX")
        named = {resources[s]["Properties"].get("Name") for s in member_keys if s in resources}
        self.need(isinstance(prefix, str) and named == {prefix + code for code in member_codes},
                  f"API key secrets must be named ALMA_API_KEY_SECRET_PREFIX + code: {sorted(map(str, named))}")

    def granted(self, resources, role):
        """action -> logical ids a role allows: what its Allow statements
        name or match, less what its Deny statements do."""
        allowed, denied = {}, {}
        for effect, actions, targets in self.statements(resources, role):
            self.need(effect in ("Allow", "Deny"), f"{role}: unexpected {effect} statement")
            for action in actions:
                (allowed if effect == "Allow" else denied).setdefault(action, set()).update(targets)
        return {action: targets - denied.get(action, set()) for action, targets in allowed.items()}

    def check_table_role(self, resources, name, function, env, table_actions, others):
        """A function with exactly `env`, its own role allowed exactly
        `table_actions` on the table (and its indexes) only, plus the
        non-DynamoDB actions `others`; its grants."""
        variables = function.get("Environment", {}).get("Variables", {})
        self.need(set(variables) == env, f"{name} env differs: {sorted(set(variables) ^ env)}")
        role = self.deployment.target(function.get("Role"))
        if not self.need(role in resources, f"{name} needs its own role"):
            return {}
        target = self.deployment.target
        users = [f for f, r in resources.items()
                 if r["Type"] == "AWS::Lambda::Function" and target(r["Properties"].get("Role")) == role]
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
        self.need(self.has_url(resources, name), f"{name} needs a function URL like the accounts API")

    def has_url(self, resources, name):
        return any(r["Type"] == "AWS::Lambda::Url"
                   and self.deployment.target(r["Properties"].get("TargetFunctionArn")) == name
                   for r in resources.values())

    def check_console(self, parameters, resources, functions, job_queues):
        """The staff console: a public function URL; it sends to every job
        queue (the network zone's included) and receives from none; it reads
        every worker's API key (the zone's worker's among them, named
        ALMA_API_KEY_SECRET_PREFIX + zone) and the CSRF key, which the stack
        generates as 64 hexadecimal digits; the table without Scan."""
        name = "AdminConsoleFunction"
        function = functions.get(name, {}).get("Properties", {})
        if not self.need(function, f"{name} is missing"):
            return
        target = self.deployment.target
        granted = self.check_table_role(resources, name, function, CONSOLE_ENV, CONSOLE_TABLE, CONSOLE_ACTIONS)
        self.need(self.has_url(resources, name), f"{name} needs a function URL like the accounts API")
        self.need(granted.get("sqs:SendMessage") == job_queues,
                  f"{name}'s role: sqs:SendMessage must cover exactly the job queues {sorted(job_queues)}")
        variables = function.get("Environment", {}).get("Variables", {})
        csrf = target(variables.get("CONSOLE_CSRF_KEY_SECRET_ARN"))
        secrets = {k for k, v in resources.items() if v["Type"] == "AWS::SecretsManager::Secret"}
        if self.need(csrf in secrets, "CONSOLE_CSRF_KEY_SECRET_ARN must name a secret of this stack"):
            self.check_hex_key(csrf, resources[csrf]["Properties"])
        prefix = variables.get("ALMA_API_KEY_SECRET_PREFIX")
        zone = parameters["NetworkZoneCode"]
        zone_keys = {k for k in secrets if isinstance(prefix, str)
                     and resources[k]["Properties"].get("Name") == f"{prefix}{zone}"}
        worker_keys = self.worker_keys(functions)
        self.need(len(zone_keys) == 1 and zone_keys <= worker_keys,
                  f"the network zone's API key must be one secret, ALMA_API_KEY_SECRET_PREFIX + {zone}, "
                  f"read by the zone's worker: {sorted(zone_keys)}")
        self.need(granted.get("secretsmanager:GetSecretValue") == worker_keys | {csrf},
                  f"{name}'s role may read exactly the workers' API keys (the network zone's included) and the CSRF key")
        others = [f for f, r in resources.items() if f != name and r["Type"] == "AWS::Lambda::Function"
                  and csrf in self.granted(resources, target(r["Properties"].get("Role"))).get(
                      "secretsmanager:GetSecretValue", set())]
        self.need(not others, f"only {name} may read the CSRF key, not {others}")

    def check_queue_urls(self, parameters, resources, functions, served):
        """Queue URLs are built, not looked up: PATRON_HUB_QUEUE_URL_PREFIX +
        CODE is the URL of CODE's job queue for every institution a function
        queues for (PATRON_HUB_QUEUE_PREFIX, the local runs' look-up by name,
        is not set: no role may call GetQueueUrl)."""
        target = self.deployment.target
        zone = parameters["NetworkZoneCode"]
        for name, function in functions.items():
            variables = function["Properties"].get("Environment", {}).get("Variables", {})
            url_prefix = variables.get("PATRON_HUB_QUEUE_URL_PREFIX")
            self.need("PATRON_HUB_QUEUE_PREFIX" not in variables,
                      f"{name}: PATRON_HUB_QUEUE_PREFIX is for local runs only (URLs are built)")
            if url_prefix is None:
                continue
            if "PATRON_HUB_INSTITUTION" in variables:
                codes = [variables["PATRON_HUB_INSTITUTION"]]
            else:
                codes = [c for c in str(variables.get("PATRON_HUB_INSTITUTIONS", "")).split(",") if c]
                self.need(codes == parameters["InstitutionCodes"],
                          f"{name}: PATRON_HUB_INSTITUTIONS must be InstitutionCodes")
            for code in codes:
                queue = served.get(code, (None, None))[0]
                self.need(queue is not None and target(f"{url_prefix}{code}") == queue,
                          f"{name}: PATRON_HUB_QUEUE_URL_PREFIX + {code} must be the URL of {code}'s job queue")
            self.need(zone in codes or "PATRON_HUB_INSTITUTION" in variables, f"{name}: the network zone must be listed")

    def check_shared_settings(self, parameters, functions, mappings):
        """The webhook, the workers and the registration API read patrons with
        the same registration settings (the external id type): the parameter's."""
        readers = self.functions_reading({**functions}, "REGISTRATION_SETTINGS")
        workers = {self.deployment.target(m["Properties"].get("FunctionName")) for m in mappings.values()}
        needed = workers | {"AlmaWebhookFunction", "RegistrationApiFunction", "NetworkReconcileFunction"}
        self.need(needed <= set(readers), f"REGISTRATION_SETTINGS must be set for {sorted(needed - set(readers))}")
        wrong = sorted(n for n, v in readers.items() if v != parameters["RegistrationSettingsJson"])
        self.need(not wrong, f"REGISTRATION_SETTINGS must be RegistrationSettingsJson in {wrong}")

    def check_environment_sizes(self, functions, report):
        """Lambda refuses a function whose variables, keys and values
        together, exceed 4 KB: the largest is reported in the figures."""
        largest = (0, None)
        for name, function in functions.items():
            variables = function["Properties"].get("Environment", {}).get("Variables", {})
            size = sum(len(k.encode()) + len(str(v).encode()) for k, v in variables.items())
            self.need(size <= MAX_ENVIRONMENT_BYTES, f"{name}: environment of {size} bytes (Lambda allows 4 KB)")
            largest = max(largest, (size, name))
        if report:
            self.figures.append(f"largest function environment: {largest[1]}, {largest[0]} bytes of 4096")

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

    def check_rollover(self, resources, functions, queues, alarms):
        """The membership rollover: no URL, invoked once a day by its schedule
        (flexible window off, retries, dead-letter queue) whose role may only
        invoke it and dead-letter; the function's own failures land in the
        same watched queue. Returns the queue ids it accounts for."""
        name = "MembershipRolloverFunction"
        function = functions.get(name, {}).get("Properties", {})
        if not self.need(function, f"{name} is missing"):
            return set()
        target = self.deployment.target
        granted = self.check_table_role(resources, name, function, ROLLOVER_ENV, ROLLOVER_TABLE, ROLLOVER_ACTIONS)
        self.need(not self.has_url(resources, name), f"{name} must not be reachable by URL")
        dlq = self.check_schedule(resources, queues, alarms, name, function)
        if dlq is None:
            return set()
        self.need(granted.get("sqs:SendMessage") == {dlq}, f"{name}'s role may send to {dlq} only")
        return {dlq}

    def check_schedule(self, resources, queues, alarms, name, function):
        """`name` is invoked once a day by its own schedule (flexible window
        off, enabled by default, retries, a dead-letter queue of the stack
        with SSE and an alarm) whose role may only invoke it and
        dead-letter; its failed asynchronous invocations are retried, then
        land in the same queue. Returns the dead-letter queue's id."""
        target = self.deployment.target
        schedules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule"
                     and target(r["Properties"].get("Target", {}).get("Arn")) == name]
        if not self.need(len(schedules) == 1, f"one schedule of {name} expected"):
            return None
        schedule = schedules[0]
        schedule_target = schedule.get("Target", {})
        self.need(schedule.get("FlexibleTimeWindow", {}).get("Mode") == "OFF", f"{name}'s schedule's flexible window must be OFF")
        self.need(schedule.get("State", "ENABLED") == "ENABLED", f"{name}'s schedule must be enabled by default")
        retry = schedule_target.get("RetryPolicy", {})
        attempts = self.value(retry.get("MaximumRetryAttempts"))
        self.need(isinstance(attempts, float) and attempts >= 1
                  and isinstance(self.value(retry.get("MaximumEventAgeInSeconds")), float),
                  f"{name}'s schedule needs a retry policy")
        dlq = target(schedule_target.get("DeadLetterConfig", {}).get("Arn"))
        queue = queues.get(dlq, {}).get("Properties")
        if not self.need(queue is not None, f"{name}'s schedule needs a dead-letter queue of this stack"):
            return None
        self.need(queue.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue, f"{dlq}: SSE")
        self.need(any(self.watches(alarm["Properties"], queue) for alarm in alarms),
                  f"{dlq}: needs an alarm on ApproximateNumberOfMessagesVisible > 0")
        configs = [r["Properties"] for r in resources.values()
                   if r["Type"] == "AWS::Lambda::EventInvokeConfig" and target(r["Properties"].get("FunctionName")) == name]
        self.need(len(configs) == 1
                  and target(configs[0].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")) == dlq
                  and isinstance(self.value(configs[0].get("MaximumRetryAttempts")), float),
                  f"{name}: failed invocations must be retried, then sent to {dlq}")
        role = target(schedule_target.get("RoleArn"))
        if self.need(role in resources and role != target(function.get("Role")),
                     f"{name}'s schedule needs its own role"):
            trust = resources[role]["Properties"].get("AssumeRolePolicyDocument", {}).get("Statement", [])
            principals = [s.get("Principal", {}).get("Service") for s in trust]
            self.need(principals == ["scheduler.amazonaws.com"], f"{role} must be assumed by the scheduler only")
            self.need(self.granted(resources, role) == {"lambda:InvokeFunction": {name}, "sqs:SendMessage": {dlq}},
                      f"{role} may only invoke {name} and dead-letter to {dlq}")
        return dlq

    def check_reconcile(self, resources, functions, queues, alarms, mappings, members):
        """The network reconcile: no URL; begun by its nightly schedule and
        by the run-request events on the stack's bus (retried, then
        dead-lettered); its pages on its own queue, read one at a time with
        partial batch responses, a visibility of 6 x its timeout and the
        same watched dead-letter queue; repairs sent to the members' job
        queues only; every institution's API key (the zone's included).
        Returns the queue ids it accounts for."""
        name = "NetworkReconcileFunction"
        function = functions.get(name, {}).get("Properties", {})
        if not self.need(function, f"{name} is missing"):
            return set()
        target = self.deployment.target
        granted = self.check_table_role(resources, name, function, RECONCILE_ENV, RECONCILE_TABLE, RECONCILE_ACTIONS)
        self.need(not self.has_url(resources, name), f"{name} must not be reachable by URL")
        dlq = self.check_schedule(resources, queues, alarms, name, function)
        if not self.need(len(mappings) == 1, f"{name} reads one queue of pages, got {sorted(mappings)}") or dlq is None:
            return set()
        props = next(iter(mappings.values()))["Properties"]
        pages = target(props.get("EventSourceArn"))
        queue = queues.get(pages, {}).get("Properties", {})
        variables = function.get("Environment", {}).get("Variables", {})
        self.need(target(variables.get("RECONCILE_PAGES_QUEUE_URL")) == pages,
                  f"RECONCILE_PAGES_QUEUE_URL must be the queue {name} reads")
        self.need(self.value(props.get("BatchSize")) == 1, f"{name}: one page per invocation (BatchSize 1)")
        self.need("ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                  f"{name}: ReportBatchItemFailures must be on")
        visibility, timeout = self.value(queue.get("VisibilityTimeout")), self.value(function.get("Timeout"))
        self.need(isinstance(visibility, float) and isinstance(timeout, float) and visibility >= 6 * timeout,
                  f"{pages}: visibility {visibility} must be >= 6 x {name}'s timeout {timeout}")
        redrive = queue.get("RedrivePolicy", {})
        self.need(target(redrive.get("deadLetterTargetArn")) == dlq and self.value(redrive.get("maxReceiveCount")) >= 5,
                  f"{pages}: redrive to {dlq} after 5 receives or more")
        self.need(queue.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue, f"{pages}: SSE")
        rules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"
                 and any(target(t.get("Arn")) == name for t in r["Properties"].get("Targets", []))]
        bus = {k for k, v in resources.items() if v["Type"] == "AWS::Events::EventBus"}
        if self.need(len(rules) == 1, f"one rule on the bus begins {name}'s runs, got {len(rules)}"):
            rule = rules[0]
            self.need(target(rule.get("EventBusName")) in bus, f"{name}'s rule must be on the stack's bus")
            types = set(rule.get("EventPattern", {}).get("detail-type", []))
            self.need(types == RUN_REQUESTS, f"{name}'s rule must match exactly {sorted(RUN_REQUESTS)}: {sorted(types)}")
            dead_letters = [target(t.get("DeadLetterConfig", {}).get("Arn")) for t in rule.get("Targets", [])]
            self.need(dead_letters == [dlq], f"{name}'s rule must dead-letter to {dlq}")
        allowed = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"
                   and target(r["Properties"].get("FunctionName")) == name]
        self.need([p.get("Principal") for p in allowed] == ["events.amazonaws.com"],
                  f"only EventBridge may invoke {name} besides its schedule's role")
        expected = {
            "sqs:SendMessage": set(members) | {pages, dlq},
            "sqs:ReceiveMessage": {pages},
            "sqs:DeleteMessage": {pages},
            "sqs:ChangeMessageVisibility": {pages},
            "sqs:GetQueueAttributes": {pages},
            "secretsmanager:GetSecretValue": set(self.worker_keys(functions)),
        }
        for action, targets in expected.items():
            self.need(granted.get(action) == targets, f"{name}'s role: {action} must reach exactly {sorted(targets)}")
        return {pages, dlq}

    def worker_keys(self, functions):
        """The API key secret of every worker (every institution's, the zone's included)."""
        return {
            self.deployment.target(f["Properties"].get("Environment", {}).get("Variables", {}).get("ALMA_API_KEY_SECRET_ARN"))
            for f in functions.values()
        } - {None}

    def statements(self, resources, role):
        """(effect, actions, targets) of every statement of a role's inline
        policies and of the RolePolicy resources attached to it; targets are
        the logical ids each Resource names or matches (an ARN pattern), or
        the Resource itself when it names no resource of the stack."""
        documents = [p["PolicyDocument"] for p in resources[role]["Properties"].get("Policies", [])]
        documents += [
            r["Properties"]["PolicyDocument"]
            for r in resources.values()
            if r["Type"] == "AWS::IAM::RolePolicy" and self.deployment.target(r["Properties"].get("RoleName")) == role
        ]
        for document in documents:
            for statement in document.get("Statement", []):
                actions = statement.get("Action", [])
                entries = statement.get("Resource", [])
                actions = actions if isinstance(actions, list) else [actions]
                entries = entries if isinstance(entries, list) else [entries]
                targets = set()
                for entry in entries:
                    found = self.deployment.matching(entry) if isinstance(entry, str) and entry != "*" else set()
                    targets |= found or {str(entry)}
                yield statement.get("Effect"), actions, targets

    @staticmethod
    def counts_dead_letters(resources, log_group):
        """Whether a metric filter counts the worker's dead_lettered lines and an alarm watches it."""
        metrics = [
            (t.get("MetricNamespace"), t.get("MetricName"))
            for name, r in resources.items()
            if r["Type"] == "AWS::Logs::MetricFilter"
            and r["Properties"].get("LogGroupName") == resources.get(log_group, {}).get("Properties", {}).get("LogGroupName")
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
    def watches(alarm, queue):
        return (
            alarm.get("Namespace") == "AWS/SQS"
            and alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and alarm.get("ComparisonOperator") == "GreaterThanThreshold"
            and alarm.get("Threshold") == 0
            and any(d.get("Name") == "QueueName" and d.get("Value") == queue.get("QueueName")
                    for d in alarm.get("Dimensions", []))
        )

    @staticmethod
    def watches_lag(alarm, queue, threshold):
        """Whether `alarm` fires when `queue`'s oldest message is older than `threshold` seconds."""
        return (
            alarm.get("Namespace") == "AWS/SQS"
            and alarm.get("MetricName") == "ApproximateAgeOfOldestMessage"
            and alarm.get("ComparisonOperator") == "GreaterThanThreshold"
            and Checker.value(alarm.get("Threshold")) == threshold
            and any(d.get("Name") == "QueueName" and d.get("Value") == queue.get("QueueName")
                    for d in alarm.get("Dimensions", []))
        )

    @staticmethod
    def has_dashboard(resources, code, queue, dlq):
        """Whether a dashboard's body (valid JSON) charts `queue`'s depth and
        oldest message age, `dlq`, the EMF metrics of institution `code`
        (jobs, Alma 429s and errors) and the webhook's latency."""
        for resource in resources.values():
            if resource["Type"] != "AWS::CloudWatch::Dashboard":
                continue
            try:
                body = json.loads(resource["Properties"].get("DashboardBody", ""))
            except (TypeError, ValueError):
                continue
            rows = [row for widget in body.get("widgets", [])
                    for row in widget.get("properties", {}).get("metrics", [])]
            names = {tuple(str(v) for v in row if not isinstance(v, dict)) for row in rows}
            needed = {
                ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue.get("QueueName")),
                ("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queue.get("QueueName")),
                ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dlq.get("QueueName")),
                (EMF_NAMESPACE, "patron_hub_jobs_total", "institution", code, "outcome", "dead_lettered"),
                (EMF_NAMESPACE, "patron_hub_alma_calls_total", "institution", code, "status", "429"),
                (EMF_NAMESPACE, "patron_hub_alma_calls_total", "institution", code, "status", "503"),
            }
            latency = any(n[:2] == ("AWS/Lambda", "UrlRequestLatency") for n in names)
            if needed <= names and latency:
                return True
        return False

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


def widen(source, directory, count):
    """`source` with `count` institutions in InstitutionCodes' default (a
    network zone and count - 1 members, codes as long as real Alma ones),
    written to directory/template.yaml beside a copy of institution.yaml."""
    text = source.read_text(encoding="utf-8")
    zone = "01ALMA_NETWORK"
    codes = [zone] + [f"01ALMA_INST{i:03d}" for i in range(1, count)]
    widened, found = re.subn(r"(?m)^(  InstitutionCodes:\n(?:    .*\n)*?    Default: ).*$",
                             lambda m: m.group(1) + ",".join(codes), text, count=1)
    widened, zones = re.subn(r"(?m)^(  NetworkZoneCode:\n(?:    .*\n)*?    Default: ).*$",
                             lambda m: m.group(1) + zone, widened, count=1)
    if found != 1 or zones != 1:
        raise SystemExit("check_template: cannot find the defaults of InstitutionCodes and NetworkZoneCode")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / source.name).write_text(widened, encoding="utf-8")
    shutil.copy(source.parent / "institution.yaml", directory / "institution.yaml")
    return directory / source.name


def main(argv):
    if len(argv) == 4 and argv[1] == "widen":
        print(widen(TEMPLATE, pathlib.Path(argv[2]), int(argv[3])))
        return 0
    path = pathlib.Path(argv[1]) if len(argv) > 1 else TEMPLATE
    checker = Checker(path)
    checker.check_source()
    checker.check_schedule_source()
    runs = [{"WorkerTimeoutSeconds": str(t)} for t in checker.raw["Parameters"]["WorkerTimeoutSeconds"]["AllowedValues"]]
    # Codes holding '_' and '-', another network zone (not listed first),
    # settings and an alarm topic other than the defaults.
    runs.append({"InstitutionCodes": "33PUDB_UB,IEP-BDX,33PUDB_NETWORK,INP", "NetworkZoneCode": "33PUDB_NETWORK",
                 "RegistrationSettingsJson": '{"external_id_type":"OTHER_ID_3"}',
                 "AlarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:patron-hub-alarms"})
    for run in runs:
        checker.check_deployment(run)
    for problem in dict.fromkeys(checker.problems):
        print(f"check_template: {problem}", file=sys.stderr)
    for figure in dict.fromkeys(checker.figures):
        print(f"check_template: {figure}")
    print(f"check_template: {path.name}, {len(runs)} expansions, {len(set(checker.problems))} problem(s)")
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
