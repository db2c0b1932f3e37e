#!/usr/bin/env bash
# Packages and deploys infra/template.yaml with the AWS SAM CLI (1.170 or later).
#   infra/deploy.sh --stack-name patron-hub [other `sam deploy` options]
#   infra/deploy.sh --guided                 # first deploy: SAM asks, saves samconfig.toml
# Artifacts go to SAM's managed bucket (--resolve-s3), or to the bucket named
# by PATRON_HUB_ARTIFACT_BUCKET.
#
# Why a script: each institution is a nested stack whose template is
# infra/institution.yaml, inside the parent's Fn::ForEach over the
# InstitutionCodes parameter. `sam package --language-extensions` uploads the
# functions' code, but leaves a TemplateURL inside a loop over a parameter as
# the local file name, which CloudFormation refuses. So this packages the
# nested template first (uploading the worker's code), uploads it, and puts
# its S3 URL in the packaged parent before deploying.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/../.aws-sam/patron-hub"
mkdir -p "$out"
if [ -n "${PATRON_HUB_ARTIFACT_BUCKET:-}" ]; then
    bucket_options=(--s3-bucket "$PATRON_HUB_ARTIFACT_BUCKET")
else
    bucket_options=(--resolve-s3)
fi

# 1. The nested template, with the worker's code uploaded.
sam package --template-file "$here/institution.yaml" "${bucket_options[@]}" \
    --output-template-file "$out/institution.yaml"
code=$(sed -n 's/^ *CodeUri: s3:\/\/\([^/]*\)\/.*$/\1/p' "$out/institution.yaml" | head -n 1)
[ -n "$code" ] || { echo "deploy.sh: no uploaded CodeUri in the packaged institution.yaml" >&2; exit 1; }
bucket="$code"
key="patron-hub/institution-$(sha256sum "$out/institution.yaml" | cut -c1-32).yaml"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region)}}"
aws s3 cp --only-show-errors "$out/institution.yaml" "s3://$bucket/$key"
url="https://s3.$region.amazonaws.com/$bucket/$key"

# 2. The parent, its functions' code uploaded, the nested template's URL set.
sam package --language-extensions --template-file "$here/template.yaml" "${bucket_options[@]}" \
    --output-template-file "$out/template.yaml"
python3 - "$out/template.yaml" "$url" <<'EOF'
import pathlib, sys
path, url = pathlib.Path(sys.argv[1]), sys.argv[2]
text = path.read_text(encoding="utf-8")
local = "TemplateURL: institution.yaml\n"
if text.count(local) != 1:
    sys.exit(f"deploy.sh: expected one local '{local.strip()}' in the packaged template")
path.write_text(text.replace(local, f"TemplateURL: {url}\n"), encoding="utf-8")
EOF

# 3. Deploy. CAPABILITY_AUTO_EXPAND: the transforms (LanguageExtensions, SAM,
# and SAM again in every nested stack); CAPABILITY_IAM: the roles, the nested
# stacks' included.
# The answers of --guided are kept in the repository's samconfig.toml.
sam deploy --language-extensions --template-file "$out/template.yaml" "${bucket_options[@]}" \
    --config-file "$(cd "$here/.." && pwd)/samconfig.toml" \
    --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND "$@"
