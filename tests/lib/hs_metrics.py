"""Reading haystackd's Prometheus endpoint ([metrics] listen) in tests."""

import urllib.request


def scrape(port, host="127.0.0.1"):
    """Every sample as {'name{labels}': value} (HELP/TYPE lines skipped)."""
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as r:
        samples = {}
        for line in r.read().decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        return samples


def total(samples, family):
    """The sum of a family's samples over all label values."""
    return sum(v for k, v in samples.items() if k == family or k.startswith(family + "{"))
