#!/usr/bin/env bash
# Restore a backup made by backup.sh. The application is stopped during the restore (its
# containers, when the compose stack runs here) and started again afterwards.
#
# Usage: deploy/onprem/restore.sh FILE --yes
# Everything in the database is replaced by the backup: take a fresh backup first if unsure.
set -Eeuo pipefail

cd "$(dirname "$0")/../.."
file=${1:-}
[ -f "$file" ] || { sed -n '2,/^set -E/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
[ "${2:-}" = --yes ] || { echo "This replaces the whole database with $file. Add --yes to go on." >&2; exit 2; }

say() { printf '• %s\n' "$*"; }

if command -v docker >/dev/null && [ -f compose.yaml ] &&
  [ -n "$(docker compose ps -q --status running postgres 2>/dev/null)" ]; then
  mapfile -t app < <(docker compose config --services | grep -vxE 'postgres|proxy' || true)
  say "Stopping ${app[*]}"
  docker compose stop "${app[@]}"
  say "Restoring $file"
  docker compose exec -T postgres sh -c \
    'pg_restore -U "$POSTGRES_USER" -d "$POSTGRES_DB" --clean --if-exists --no-owner --single-transaction' <"$file"
  say "Starting the application again"
  docker compose up -d
else
  url=${DATABASE_URL:-$(grep -E '^[[:space:]]*DATABASE_URL=' .env 2>/dev/null | tail -n 1 | cut -d= -f2- || true)}
  [ -n "$url" ] || { echo "DATABASE_URL is not set (environment or .env)" >&2; exit 1; }
  say "Restoring $file into DATABASE_URL (stop the application first: systemctl stop its units)"
  pg_restore --dbname="${url/postgresql+asyncpg:/postgresql:}" --clean --if-exists --no-owner \
    --single-transaction "$file"
fi
say "Restored $file"
