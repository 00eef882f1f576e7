#!/usr/bin/env bash
# Back up PostgreSQL to .data/backups/ (custom format, restorable with restore.sh), check the
# archive is readable, and delete backups older than BACKUP_KEEP_DAYS (default 14).
# With the compose stack running, the dump is taken inside the postgres container; otherwise
# with the local pg_dump and DATABASE_URL (from the environment or .env), e.g. on systemd hosts.
#
# Usage: deploy/onprem/backup.sh [--dir DIR] [--keep-days N]
# Schedule it daily, e.g. in root's crontab:
#   15 2 * * * cd /srv/app && deploy/onprem/backup.sh >>.data/backups/backup.log 2>&1
set -Eeuo pipefail

cd "$(dirname "$0")/../.."
dir=${BACKUP_DIR:-.data/backups}
keep_days=${BACKUP_KEEP_DAYS:-14}

while (($#)); do
  case $1 in
    --dir) dir=${2:?--dir needs a path}; shift ;;
    --keep-days) keep_days=${2:?--keep-days needs a number}; shift ;;
    -h | --help) sed -n '2,/^set -E/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "Unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $keep_days =~ ^[0-9]+$ ]] || { echo "--keep-days must be a number of days" >&2; exit 2; }

say() { printf '• %s\n' "$*"; }

# DATABASE_URL for libpq: the environment first, then .env; without the SQLAlchemy driver part.
database_url() {
  local url=${DATABASE_URL:-}
  if [ -z "$url" ] && [ -f .env ]; then
    url=$(grep -E '^[[:space:]]*DATABASE_URL=' .env | tail -n 1 | cut -d= -f2- || true)
    url=${url%\"}; url=${url#\"}; url=${url%\'}; url=${url#\'}
  fi
  [ -n "$url" ] || { echo "DATABASE_URL is not set (environment or .env)" >&2; exit 1; }
  printf '%s' "${url/postgresql+asyncpg:/postgresql:}"
}

compose_postgres_running() {
  command -v docker >/dev/null && [ -f compose.yaml ] &&
    [ -n "$(docker compose ps -q --status running postgres 2>/dev/null)" ]
}

umask 077
mkdir -p "$dir"
file="$dir/postgres-$(date -u +%Y%m%dT%H%M%SZ).dump"

if compose_postgres_running; then
  say "Dumping the compose database into $file"
  docker compose exec -T postgres sh -c 'pg_dump -U "$POSTGRES_USER" -d "$POSTGRES_DB" -Fc' >"$file.partial"
  docker compose exec -T postgres pg_restore --list <"$file.partial" >/dev/null
else
  command -v pg_dump >/dev/null || { echo "pg_dump is not installed (apt-get install postgresql-client)" >&2; exit 1; }
  say "Dumping DATABASE_URL into $file"
  pg_dump --format=custom --dbname="$(database_url)" --file="$file.partial"
  pg_restore --list "$file.partial" >/dev/null
fi
mv "$file.partial" "$file"
say "Backup written: $file ($(du -h "$file" | cut -f1))"

find "$dir" -maxdepth 1 -name 'postgres-*.dump' -mtime "+$keep_days" -print -delete |
  sed 's/^/• Deleted old backup: /'
