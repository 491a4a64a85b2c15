"""The sandbox's Cloudflare: the API v4 subset of a global load balancer (zones, DNS records,
load balancer monitors, pools and load balancers), no data plane."""
