#!/usr/bin/python3
"""sigfile.py - writes a synthetic signature file (docs/signatures.md) for
the receive benchmarks, the same set bench_engine.c builds in memory.

    bench/sigfile.py PREFIXES OUT

Domains of 50 consecutive /30s each (tcp 443) from 11.0.0.0 up, so 1 M
prefixes fill 11.0.0.0/10 and a flow to a random address in it hits one
domain; a product signature per 10 domains (rule: 3 of them) and a
manufacturer per 10 products (rule: 2 domains), so every domain is in two
signatures and a hit evaluates two rules. 1 M prefixes: 20 000 domains,
2 200 signatures, about 60 MB of JSON.
"""

import sys

BASE = 11 << 24
PREFIXES_PER_DOMAIN = 50
DOMAINS_PER_PRODUCT = 10
PRODUCTS_PER_MAKER = 10


def dotted(a):
    return "%d.%d.%d.%d" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255)


def domain(d):
    first = BASE + d * PREFIXES_PER_DOMAIN * 4
    eps = ",".join('{"prefix":"%s/30","ports":[443],"proto":"tcp"}' % dotted(first + 4 * k)
                   for k in range(PREFIXES_PER_DOMAIN))
    return '{"name":"d%d.example","endpoints":[%s]}' % (d, eps)


def signature(sid, level, parent, first, count, min_domains):
    names = ",".join('"d%d.example"' % d for d in range(first, first + count))
    parent = ',"parent":"%s"' % parent if parent else ""
    return ('{"id":"%s","level":"%s"%s,"domains":[%s],"rule":{"min_domains":%d}}'
            % (sid, level, parent, names, min_domains))


def write(prefixes, out):
    n_domains = prefixes // PREFIXES_PER_DOMAIN
    n_products = n_domains // DOMAINS_PER_PRODUCT
    per_maker = DOMAINS_PER_PRODUCT * PRODUCTS_PER_MAKER
    out.write('{"version":1,"domains":[\n')
    out.write(",\n".join(domain(d) for d in range(n_domains)))
    out.write('],"signatures":[\n')
    sigs = [signature("p%d" % p, "product", "m%d" % (p // PRODUCTS_PER_MAKER),
                      p * DOMAINS_PER_PRODUCT, DOMAINS_PER_PRODUCT, 3)
            for p in range(n_products)]
    sigs += [signature("m%d" % m, "manufacturer", None, m * per_maker, per_maker, 2)
             for m in range(n_products // PRODUCTS_PER_MAKER)]
    out.write(",\n".join(sigs))
    out.write("]}\n")


def main():
    if len(sys.argv) != 3 or not sys.argv[1].isdigit():
        sys.exit("usage: sigfile.py PREFIXES OUT")
    prefixes = int(sys.argv[1])
    if not PREFIXES_PER_DOMAIN * DOMAINS_PER_PRODUCT * PRODUCTS_PER_MAKER <= prefixes <= 4000000:
        sys.exit("sigfile.py: PREFIXES must be 5000 to 4000000")
    with open(sys.argv[2], "w", encoding="ascii") as out:
        write(prefixes, out)


if __name__ == "__main__":
    main()
