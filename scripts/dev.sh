#!/usr/bin/env bash
# Serves the Worker on http://127.0.0.1:8787 with local KV (under .wrangler/state).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export EDGE_SESSION_SETUP_DONE=1
admin=$(sed -n 's/^ADMIN_KEY="\(.*\)"$/\1/p' .dev.vars)
cat <<MSG

edge-session runs at http://127.0.0.1:8787 (local KV). The admin key is in .dev.vars:
  ADMIN_KEY=$admin
Create a session:
  curl -s -X POST http://127.0.0.1:8787/auth/admin/sessions \\
    -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \\
    -d '{"userId":"alice"}'

MSG
exec npx wrangler dev --ip 127.0.0.1 --port 8787 "$@"
