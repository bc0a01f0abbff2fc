-- Runs once, when the postgres service initialises its volume (docker-entrypoint-initdb.d):
-- the database the example's sql components load into (WAREHOUSE_URL of the workers).
CREATE DATABASE warehouse OWNER baton;
