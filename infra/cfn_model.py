"""The deployed shape of a CloudFormation/SAM template, worked out offline.

infra/check_template.py asserts the design's rules on what CloudFormation
would create, not on the template's text. cfn-lint's transforms are internals
that change between its minor versions (1.58 no longer runs the SAM
translator at all), so this module does the little that patron-hub's
templates need, itself, with PyYAML only:

- reads YAML with CloudFormation's short forms (!Ref, !Sub, !GetAtt ...);
- expands Fn::ForEach (AWS::LanguageExtensions) with the parameters' values;
- turns AWS::Serverless::Function into the resources the SAM transform makes
  of it (the function, its URL and the URL's permissions, its SQS event
  source mappings, its EventBridge rules and their permissions, its
  EventInvokeConfig), Globals merged; any other SAM feature is reported as
  not modelled, never silently skipped;
- drops resources whose Condition is false;
- flattens nested stacks (AWS::CloudFormation::Stack with a local
  TemplateURL) into "<Parent>.<Child>" logical ids, with the parameters the
  parent passes;
- resolves every intrinsic function to a concrete value, with sample pseudo
  parameters (account 123456789012, eu-west-1) and generated physical names
  the way CloudFormation makes them, so that an ARN or URL can be traced back
  to the logical id it names (`Deployment.target`) and IAM resource patterns
  can be matched against the names the stack really creates
  (`Deployment.matching`).
"""

import copy
import json
import pathlib
import re

import yaml

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"
SAM = "AWS::Serverless-2016-10-31"
LANGUAGE_EXTENSIONS = "AWS::LanguageExtensions"
# What Secrets Manager appends to a secret's name in its ARN.
SECRET_SUFFIX = "-AbCdEf"
NO_VALUE = object()


class ModelError(Exception):
    """The template uses something this model cannot work out."""


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms read as their long forms."""


def _short_form(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _short_form)


_LOADED = {}


def load(path):
    """A template file as plain data (YAML or JSON); read once, a fresh copy
    each time."""
    key = pathlib.Path(path).resolve()
    if key not in _LOADED:
        with open(key, encoding="utf-8") as stream:
            _LOADED[key] = yaml.load(stream, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    return copy.deepcopy(_LOADED[key])


def transforms(template):
    """The template's Transform section as a list."""
    declared = template.get("Transform", [])
    return declared if isinstance(declared, list) else [declared]


def parameter_values(template, overrides=None):
    """Each parameter's value: its default unless overridden (lists for
    CommaDelimitedList parameters, text otherwise)."""
    values = {}
    for name, spec in template.get("Parameters", {}).items():
        value = (overrides or {}).get(name, spec.get("Default"))
        if value is None:
            continue
        if spec.get("Type") == "CommaDelimitedList":
            value = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
        else:
            value = str(value).lower() if isinstance(value, bool) else str(value)
        values[name] = value
    return values


# ------------------------------------------------------------- Fn::ForEach


def expand_loops(node, values, problems):
    """Fn::ForEach expanded as AWS::LanguageExtensions does, with the
    parameter `values`; colliding generated keys are reported."""
    if isinstance(node, list):
        return [expand_loops(item, values, problems) for item in node]
    if not isinstance(node, dict):
        return node
    expanded = {}
    for key, value in node.items():
        if not key.startswith("Fn::ForEach::"):
            _put(expanded, key, expand_loops(value, values, problems), problems)
            continue
        identifier, collection, fragment = value
        if isinstance(collection, dict) and set(collection) == {"Ref"}:
            collection = values.get(collection["Ref"])
        if not isinstance(collection, list):
            raise ModelError(f"{key}: collection must be a list or a Ref to a CommaDelimitedList parameter")
        for item in collection:
            body = expand_loops(_substitute(fragment, identifier, str(item)), values, problems)
            for generated, content in body.items():
                _put(expanded, generated, content, problems)
    return expanded


def _put(target, key, value, problems):
    if key in target:
        problems.append(f"two entries are named {key} (codes must stay distinct once '_' and '-' are removed)")
    target[key] = value


def _substitute(node, identifier, item):
    """One ForEach iteration: ${Id} and &{Id} in keys and Fn::Sub texts (&
    keeps letters and digits only), and Ref: Id."""
    plain, alnum = "${" + identifier + "}", "&{" + identifier + "}"
    squeezed = re.sub(r"[^A-Za-z0-9]", "", item)

    def text(value):
        return value.replace(plain, item).replace(alnum, squeezed)

    if isinstance(node, list):
        return [_substitute(v, identifier, item) for v in node]
    if not isinstance(node, dict):
        return node
    if node == {"Ref": identifier}:
        return item
    if set(node) == {"Fn::Sub"}:
        sub = node["Fn::Sub"]
        if isinstance(sub, str):
            return {"Fn::Sub": text(sub)}
        return {"Fn::Sub": [text(sub[0]), _substitute(sub[1], identifier, item)]}
    return {text(k): _substitute(v, identifier, item) for k, v in node.items()}


# -------------------------------------------------------------------- SAM

# Properties of AWS::Serverless::Function that the SAM transform keeps on
# the AWS::Lambda::Function as they are.
_FUNCTION_PROPERTIES = {
    "Description", "MemorySize", "Timeout", "Role", "Environment", "LoggingConfig",
    "Runtime", "Handler", "Architectures", "FunctionName",
}


def expand_sam(template, problems):
    """AWS::Serverless::Function resources replaced by what the SAM transform
    makes of them (only the features patron-hub uses; others are reported)."""
    if SAM not in transforms(template):
        return
    defaults = template.pop("Globals", {}).get("Function", {})
    resources = template.get("Resources", {})
    for name in [n for n, r in resources.items() if r.get("Type", "").startswith("AWS::Serverless::")]:
        resource = resources.pop(name)
        if resource["Type"] != "AWS::Serverless::Function":
            problems.append(f"{name}: {resource['Type']} is not modelled by infra/cfn_model.py")
            continue
        properties = _merge(copy.deepcopy(defaults), resource.get("Properties", {}))
        attributes = {k: v for k, v in resource.items() if k in ("Condition", "DependsOn")}
        unknown = set(properties) - _FUNCTION_PROPERTIES - {"CodeUri", "Events", "FunctionUrlConfig", "EventInvokeConfig"}
        if unknown:
            problems.append(f"{name}: SAM properties {sorted(unknown)} are not modelled by infra/cfn_model.py")
        function = {k: v for k, v in properties.items() if k in _FUNCTION_PROPERTIES}
        function["Code"] = {"S3Bucket": "artifacts", "S3Key": str(properties.get("CodeUri"))}
        resources[name] = {**attributes, "Type": "AWS::Lambda::Function", "Properties": function}
        url = properties.get("FunctionUrlConfig")
        if url is not None:
            resources[f"{name}Url"] = {
                **attributes,
                "Type": "AWS::Lambda::Url",
                "Properties": {**url, "TargetFunctionArn": {"Ref": name}},
            }
            if url.get("AuthType") == "NONE":
                for suffix, action in (("UrlPublicPermissions", "lambda:InvokeFunctionUrl"),
                                       ("URLInvokeAllowPublicAccess", "lambda:InvokeFunction")):
                    resources[f"{name}{suffix}"] = {
                        **attributes,
                        "Type": "AWS::Lambda::Permission",
                        "Properties": {"Action": action, "FunctionName": {"Ref": name}, "Principal": "*"},
                    }
        for event, spec in properties.get("Events", {}).items():
            if spec.get("Type") == "EventBridgeRule":
                _expand_rule(resources, name, event, spec.get("Properties", {}), attributes)
                continue
            if spec.get("Type") != "SQS":
                problems.append(f"{name}.{event}: event type {spec.get('Type')} is not modelled by infra/cfn_model.py")
                continue
            mapping = dict(spec.get("Properties", {}))
            mapping["EventSourceArn"] = mapping.pop("Queue", None)
            mapping["FunctionName"] = {"Ref": name}
            resources[f"{name}{event}"] = {**attributes, "Type": "AWS::Lambda::EventSourceMapping", "Properties": mapping}
        invoke = properties.get("EventInvokeConfig")
        if invoke is not None:
            resources[f"{name}EventInvokeConfig"] = {
                **attributes,
                "Type": "AWS::Lambda::EventInvokeConfig",
                "Properties": {**invoke, "FunctionName": {"Ref": name}, "Qualifier": "$LATEST"},
            }


def _expand_rule(resources, name, event, spec, attributes):
    """An EventBridgeRule event: a rule on the bus targeting the function
    (with the event's retry policy and dead-letter queue), and the
    permission EventBridge invokes it with."""
    rule_target = {"Arn": {"Fn::GetAtt": [name, "Arn"]}, "Id": f"{name}{event}LambdaTarget"}
    for key in ("RetryPolicy", "DeadLetterConfig", "Input", "InputPath"):
        if key in spec:
            rule_target[key] = spec[key]
    rule = {"EventPattern": spec.get("Pattern", {}), "Targets": [rule_target]}
    if "EventBusName" in spec:
        rule["EventBusName"] = spec["EventBusName"]
    resources[f"{name}{event}"] = {**attributes, "Type": "AWS::Events::Rule", "Properties": rule}
    resources[f"{name}{event}Permission"] = {
        **attributes,
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": name},
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [f"{name}{event}", "Arn"]},
        },
    }


def _merge(defaults, local):
    """SAM's Globals rule: maps merge (local wins), lists concatenate, any
    other local value replaces the global one."""
    if isinstance(defaults, dict) and isinstance(local, dict) and not _intrinsic(defaults) and not _intrinsic(local):
        merged = dict(defaults)
        for key, value in local.items():
            merged[key] = _merge(merged[key], value) if key in merged else value
        return merged
    if isinstance(defaults, list) and isinstance(local, list):
        return defaults + local
    return local


def _intrinsic(node):
    """Whether `node` is one intrinsic function ({"Ref": ...}, {"Fn::...": ...})."""
    if not isinstance(node, dict) or len(node) != 1:
        return False
    key = next(iter(node))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


# ------------------------------------------------------------- deployment

# Resource type -> (property holding its physical name, what Ref returns,
# its ARN), the last two as formats of {name}, {region}, {account}.
_KINDS = {
    "AWS::SQS::Queue": ("QueueName", "https://sqs.{region}.{suffix}/{account}/{name}",
                        "arn:{partition}:sqs:{region}:{account}:{name}"),
    "AWS::SecretsManager::Secret": ("Name", "arn:{partition}:secretsmanager:{region}:{account}:secret:{name}" + SECRET_SUFFIX,
                                    "arn:{partition}:secretsmanager:{region}:{account}:secret:{name}" + SECRET_SUFFIX),
    "AWS::DynamoDB::Table": ("TableName", "{name}", "arn:{partition}:dynamodb:{region}:{account}:table/{name}"),
    "AWS::Logs::LogGroup": ("LogGroupName", "{name}", "arn:{partition}:logs:{region}:{account}:log-group:{name}:*"),
    "AWS::Events::EventBus": ("Name", "{name}", "arn:{partition}:events:{region}:{account}:event-bus/{name}"),
    "AWS::IAM::Role": ("RoleName", "{name}", "arn:{partition}:iam::{account}:role/{name}"),
    "AWS::Lambda::Function": ("FunctionName", "{name}", "arn:{partition}:lambda:{region}:{account}:function:{name}"),
    "AWS::Scheduler::Schedule": ("Name", "{name}", "arn:{partition}:scheduler:{region}:{account}:schedule/default/{name}"),
    "AWS::CloudWatch::Alarm": ("AlarmName", "{name}", "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}"),
}


class Deployment:
    """Every resource of a stack and of its nested stacks, as deployed with
    the given parameter values: logical ids ("Child.Resource" inside a nested
    stack), types and concrete properties."""

    def __init__(self, path, overrides=None, stack_name="patron-hub"):
        self.problems = []
        self.resources = {}
        self.stacks = {}  # logical id prefix ("" for the parent) -> _Stack
        self._index = {}  # concrete Ref value or ARN -> logical id
        self.parent = _Stack(self, pathlib.Path(path), parameter_values(load(path), overrides), stack_name, "")
        self.parameters = self.parent.values
        self.parent.deploy()

    def target(self, value):
        """The logical id whose Ref value or ARN `value` is, or None."""
        return self._index.get(value) if isinstance(value, str) else None

    def matching(self, pattern, kinds=None):
        """The logical ids whose ARN matches the IAM resource pattern (`*` any
        characters, `?` one), of the given types if any."""
        expression = re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))
        return {
            name for name, resource in self.resources.items()
            if (kinds is None or resource["Type"] in kinds) and resource.get("Arn")
            and expression.fullmatch(resource["Arn"])
        }

    def counts(self, prefix=""):
        """(resources, outputs, parameters, processed template size in bytes)
        of one stack (the parent's by default), after its transforms."""
        return self.stacks[prefix].counts()


class _Stack:
    """One template (the parent, or one nested stack) being deployed."""

    def __init__(self, deployment, path, values, stack_name, prefix):
        self.deployment = deployment
        self.path = path
        self.values = values
        self.stack_name = stack_name
        self.prefix = prefix
        self.raw = load(path)
        problems = deployment.problems
        self.template = load(path)
        for section in ("Conditions", "Resources", "Outputs"):
            if section in self.template:
                self.template[section] = expand_loops(self.template[section], values, problems)
        expand_sam(self.template, problems)
        self.resources = self.template.get("Resources", {})
        self._refs = {}
        deployment.stacks[prefix] = self

    def counts(self):
        size = len(json.dumps(self.template, separators=(",", ":")))
        return len(self.resources), len(self.template.get("Outputs", {})), len(self.raw.get("Parameters", {})), size

    def deploy(self):
        deployment = self.deployment
        for name in list(self.resources):
            condition = self.resources[name].get("Condition")
            if condition is not None and not self.condition(condition):
                del self.resources[name]
        for name in self.resources:
            for value in (self.ref(name), self.arn(name)):
                if value is not None:
                    deployment._index.setdefault(value, self.prefix + name)
        for name, resource in self.resources.items():
            try:
                properties = self.value(resource.get("Properties", {}))
            except ModelError as error:
                deployment.problems.append(f"{self.prefix}{name}: {error}")
                properties = {}
            deployment.resources[self.prefix + name] = {
                "Type": resource["Type"], "Properties": properties, "Arn": self.arn(name),
            }
            if resource["Type"] == "AWS::CloudFormation::Stack":
                self.nest(name, properties)

    def nest(self, name, properties):
        """A nested stack with a local TemplateURL, deployed with the
        parameters the parent passes (which must be exactly the child's)."""
        url = properties.get("TemplateURL", "")
        if not isinstance(url, str) or url.startswith("https://"):
            self.deployment.problems.append(f"{self.prefix}{name}: TemplateURL must be a local file to be checked")
            return
        child_path = self.path.parent / url
        passed = {k: str(v) for k, v in properties.get("Parameters", {}).items()}
        child_raw = load(child_path)
        declared = child_raw.get("Parameters", {})
        missing = [p for p, spec in declared.items() if p not in passed and "Default" not in spec]
        extra = [p for p in passed if p not in declared]
        if missing or extra:
            self.deployment.problems.append(
                f"{self.prefix}{name}: parameters missing {missing}, unknown {extra} for {child_path.name}")
        values = parameter_values(child_raw, passed)
        child = _Stack(self.deployment, child_path, values, f"{self.stack_name}-{name}-NESTED",
                       f"{self.prefix}{name}.")
        child.deploy()

    # ------------------------------------------------------------ values

    def condition(self, name):
        return bool(self.value(self.template.get("Conditions", {})[name]))

    def physical_name(self, name):
        resource = self.resources[name]
        kind = _KINDS.get(resource["Type"])
        declared = resource.get("Properties", {}).get(kind[0]) if kind else None
        if declared is not None:
            return str(self.value(declared))
        return f"{self.stack_name}-{name}-GENERATED"

    def _format(self, text, name):
        return text.format(name=name, region=REGION, account=ACCOUNT, partition=PARTITION, suffix=URL_SUFFIX)

    def ref(self, name):
        if name not in self._refs:
            self._refs[name] = None  # cycle guard
            kind = _KINDS.get(self.resources[name]["Type"])
            physical = self.physical_name(name)
            self._refs[name] = self._format(kind[1], physical) if kind else f"{self.stack_name}-{name}"
        return self._refs[name]

    def arn(self, name):
        kind = _KINDS.get(self.resources[name]["Type"])
        return self._format(kind[2], self.physical_name(name)) if kind else None

    def attribute(self, name, attribute):
        if name not in self.resources:
            raise ModelError(f"GetAtt of unknown resource {name}")
        kind = self.resources[name]["Type"]
        if attribute == "Arn" and self.arn(name):
            return self.arn(name)
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return self.physical_name(name)
        if kind == "AWS::SQS::Queue" and attribute == "QueueUrl":
            return self.ref(name)
        return f"{self.stack_name}-{name}.{attribute}"

    def value(self, node):
        """`node` with every intrinsic function resolved; NO_VALUE for AWS::NoValue."""
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (function, argument), = node.items()
            if function == "Ref":
                return self.reference(self.text(argument))
            if function == "Condition":
                return self.condition(argument)
            if function.startswith("Fn::"):
                return self.function(function, argument)
        resolved = {k: self.value(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def text(self, node):
        value = self.value(node)
        if not isinstance(value, str):
            raise ModelError(f"expected text, got {value!r}")
        return value

    def reference(self, name):
        pseudo = {
            "AWS::StackName": self.stack_name, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION, "AWS::URLSuffix": URL_SUFFIX, "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.values:
            return self.values[name]
        if name in self.resources:
            return self.ref(name)
        raise ModelError(f"Ref to unknown {name}")

    def function(self, function, argument):
        if function == "Fn::GetAtt":
            name, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.attribute(self.text(name), self.text(attribute))
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return re.sub(r"\$\{([^}!]+)\}", lambda m: self.substitution(m.group(1), variables), text)
        if function == "Fn::Join":
            separator, items = argument
            return separator.join(str(v) for v in self.value(items))
        if function == "Fn::If":
            condition, yes, no = argument
            return self.value(yes if self.condition(condition) else no)
        if function == "Fn::FindInMap":
            name, first, second = (self.text(a) if not isinstance(a, (int, float)) else str(a) for a in argument[:3])
            return self.value(self.template["Mappings"][name][first][second])
        if function == "Fn::Equals":
            left, right = (self.value(a) for a in argument)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not self.value(argument[0])
        if function == "Fn::And":
            return all(self.value(a) for a in argument)
        if function == "Fn::Or":
            return any(self.value(a) for a in argument)
        raise ModelError(f"{function} is not modelled by infra/cfn_model.py")

    def substitution(self, variable, variables):
        if variable in variables:
            return str(self.value(variables[variable]))
        if "." in variable and not variable.startswith("AWS::"):
            name, attribute = variable.split(".", 1)
            return str(self.attribute(name, attribute))
        value = self.reference(variable)
        if isinstance(value, list):
            raise ModelError(f"${{{variable}}} is a list")
        return str(value)
