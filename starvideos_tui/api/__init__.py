"""The API client: requests, the one parser of answers, proxies and TLS."""
