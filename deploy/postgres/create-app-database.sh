#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume (/docker-entrypoint-initdb.d):
# creates the application's login role `shop`, which is not a superuser, and its database `orders`.
# Sourced or executed by the image's entrypoint, which exports POSTGRES_USER and POSTGRES_DB.
set -e

if [ -z "${SHOP_DB_PASSWORD:-}" ]; then
  echo "create-app-database: SHOP_DB_PASSWORD is empty: it is the password of the database user shop" >&2
  exit 1
fi

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set app_password="$SHOP_DB_PASSWORD" <<'SQL'
CREATE ROLE shop LOGIN PASSWORD :'app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE DATABASE orders OWNER shop;
REVOKE ALL ON DATABASE orders FROM PUBLIC;
SQL
