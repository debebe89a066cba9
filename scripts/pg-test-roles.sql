-- The PostgreSQL roles the protocol tests log in as, one per authentication method.
-- scripts/services.sh runs this as the superuser `app` on its throw-away server:
--   psql -v pw=PASSWORD -f scripts/pg-test-roles.sql
-- To run the same tests against a server of your own, run it there too and add the matching
-- pg_hba.conf lines (see README.md, "Running the tests against your own services").
\set ON_ERROR_STOP on

-- Their method comes from pg_hba.conf; the stored verifier is SCRAM unless said otherwise.
CREATE ROLE trust_user LOGIN PASSWORD :'pw';
CREATE ROLE password_user LOGIN PASSWORD :'pw';
CREATE ROLE scram_user LOGIN PASSWORD :'pw';
CREATE ROLE ssl_user LOGIN PASSWORD :'pw';

-- An md5 hba line with a SCRAM verifier would silently upgrade to SCRAM: store md5 for this one.
SET password_encryption = 'md5';
CREATE ROLE md5_user LOGIN PASSWORD :'pw';
RESET password_encryption;

-- PostgreSQL 15 no longer lets everyone create in schema public; let the test roles make their own
-- schemas so each test can work in its own namespace.
GRANT CREATE ON DATABASE postgres TO trust_user, password_user, scram_user, ssl_user, md5_user;
