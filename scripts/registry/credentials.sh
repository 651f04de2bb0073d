# Test-only credentials of the registry on 127.0.0.1:5001 (htpasswd in this directory holds their
# bcrypt hash; test/support/env.ts repeats them for the tests). Sourced by the scripts beside it.
REGISTRY_USER=dcloud
REGISTRY_PASSWORD=dcloud-test-secret
