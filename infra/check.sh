#!/usr/bin/env bash
# Checks the AWS templates and the sample Lambda events; exits non-zero on any failure.
#   1. cfn-lint (pinned in scripts/requirements.txt) on infra/template.yaml and
#      infra/institution.yaml, then on a copy of template.yaml whose
#      InstitutionCodes lists 100 institutions (errors and warnings both fail);
#   2. infra/check_template.py: queue, alarm, schedule, permission, queue URL,
#      environment size and quota rules on the deployed shape, for both;
#   3. infra/events.py check: every events/**/*.json parses, webhook signatures verify
#      (bad-* ones must not), SQS bodies deserialize as the domain's Job, HTTP API
#      samples are function URL requests, registration, members and console ones hit
#      their routes with valid bodies (console forms with the sample session's CSRF
#      token), rollover payloads are requests the function accepts, and every
#      events/ path the READMEs name exists.
# Called by ./scripts/test. Runs the tools of the project's virtual environment
# (scripts/python-env makes it when missing), whatever the system Python holds.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$("$here/../scripts/python-env")"
python="$venv/bin/python"
wide="$(mktemp -d)"
trap 'rm -rf "$wide"' EXIT

status=0
timed() {
    local label="$1" start
    shift
    start=${EPOCHREALTIME/./}
    "$@" || status=1
    local tenths=$(((${EPOCHREALTIME/./} - start) / 100000))
    echo "infra/check.sh: $label took $((tenths / 10)).$((tenths % 10)) s"
}

echo "infra/check.sh: $("$venv/bin/cfn-lint" --version)"
"$python" "$here/check_template.py" widen "$wide" 100 >/dev/null
timed "cfn-lint (4 institutions and the nested stack)" \
    "$venv/bin/cfn-lint" -- "$here/template.yaml" "$here/institution.yaml"
timed "cfn-lint (100 institutions)" "$venv/bin/cfn-lint" -- "$wide/template.yaml"
timed "check_template (4 institutions)" "$python" "$here/check_template.py" "$here/template.yaml"
timed "check_template (100 institutions)" "$python" "$here/check_template.py" "$wide/template.yaml"
"$python" "$here/events.py" check || status=1

if [ "$status" -ne 0 ]; then
    echo "infra/check.sh: FAILED" >&2
else
    echo "infra/check.sh: ok"
fi
exit "$status"
