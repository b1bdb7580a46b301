"""The cluster's keys and certificates (its CA, the API server's and kubelets' serving
certificates, the client certificates, the service-account signing key) and the TLS
contexts built from them. Everything cryptographic is the `cryptography` package's or
OpenSSL's (through `ssl`); nothing here is hand-rolled."""
