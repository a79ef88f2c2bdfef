-- Runs once, when the PostgreSQL volume is new: the sessions' database beside MLflow's.
CREATE DATABASE sessions OWNER writer;
