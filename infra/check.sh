#!/usr/bin/env bash
# Checks the AWS template and the sample Lambda events; exits non-zero on any failure.
#   1. cfn-lint 1.x on infra/template.yaml (errors and warnings both fail);
#   2. infra/check_template.py: queue, alarm, schedule and permission rules on the
#      expanded template;
#   3. infra/events.py check: every events/**/*.json parses, webhook signatures verify
#      (bad-* ones must not), SQS bodies deserialize as the domain's Job, HTTP API
#      samples are function URL requests, registration, members and console ones hit
#      their routes with valid bodies (console forms with the sample session's CSRF
#      token), rollover payloads are requests the function accepts.
# Called by ./scripts/test. Installs cfn-lint with pip when missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"

# cfn-lint is used as a library too, so it must live in this interpreter.
if ! "$python" -c 'import cfnlint' 2>/dev/null; then
    echo "infra/check.sh: installing cfn-lint" >&2
    "$python" -m pip install --quiet 'cfn-lint>=1,<2'
fi
"$python" -c 'import cfnlint.version, sys; sys.exit(cfnlint.version.__version__.split(".")[0] != "1")' \
    || { echo "infra/check.sh: cfn-lint 1.x is required" >&2; exit 1; }

status=0
echo "infra/check.sh: cfn-lint"
"$python" -c 'import sys; from cfnlint.runner import main; sys.argv[0] = "cfn-lint"; sys.exit(main())' \
    -- "$here/template.yaml" || status=1
"$python" "$here/check_template.py" "$here/template.yaml" || status=1
"$python" "$here/events.py" check || status=1

if [ "$status" -ne 0 ]; then
    echo "infra/check.sh: FAILED" >&2
else
    echo "infra/check.sh: ok"
fi
exit "$status"
