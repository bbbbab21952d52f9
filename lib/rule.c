/* rule.c - signature rule resolution and evaluation (see rule.h). */
#include "rule.h"

void hs_rule_resolve(const hs_rule *defaults, const hs_rule *own,
                     hs_rule_eff *out)
{
    hs_rule r = hs_rule_merge(own, defaults);
    /* A rule needing no domain would flag every subscriber ever seen. */
    out->min_domains = r.min_domains < 1 ? 1 : r.min_domains;
    out->min_fraction = r.min_fraction;
    out->min_hits = r.min_hits < 1 ? 1 : r.min_hits;
    out->window_ms = r.window_ms;
    out->nb = HS_WINDOW_BUCKETS;
}

void hs_rule_set_width(hs_rule_eff *r, uint64_t width_ms)
{
    uint64_t nb = (r->window_ms + width_ms - 1) / width_ms;
    r->nb = nb < 1 ? 1 : nb > HS_WINDOW_BUCKETS ? HS_WINDOW_BUCKETS
                                                : (uint32_t)nb;
}

static bool sig_has_domain(const hs_signature *sig, uint32_t domain)
{
    size_t lo = 0, hi = sig->n_domains;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sig->domains[mid] < domain)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < sig->n_domains && sig->domains[lo] == domain;
}

static bool required_seen(const hs_signature *sig, const hs_rule_eff *r,
                          const hs_evidence *ev, size_t n, uint32_t clock,
                          uint32_t at)
{
    for (uint32_t i = 0; i < sig->n_required; i++) {
        const hs_evidence *e = hs_evidence_find(ev, n, sig->required[i]);
        if (!e || hs_evidence_count(e, clock, at, r->nb) < r->min_hits)
            return false;
    }
    return true;
}

void hs_rule_eval(const hs_signature *sig, const hs_rule_eff *r,
                  const hs_evidence *ev, size_t n, uint32_t clock,
                  uint32_t at, hs_verdict *v, uint32_t *seen)
{
    *v = (hs_verdict){0};
    /* The subscriber's entries are few; the signature's domains may be
     * many: walk the entries and look each up in the signature. */
    for (size_t i = 0; i < n; i++) {
        if (!sig_has_domain(sig, ev[i].domain))
            continue;
        uint32_t hits = hs_evidence_count(&ev[i], clock, at, r->nb);
        v->hits += hits;
        if (v->first_s == 0 || ev[i].first_s < v->first_s)
            v->first_s = ev[i].first_s;
        if (ev[i].last_s > v->last_s)
            v->last_s = ev[i].last_s;
        if (hits < r->min_hits)
            continue;
        if (seen)
            seen[v->domains_seen] = ev[i].domain;
        v->domains_seen++;
    }
    v->holds = sig->n_domains > 0 && v->domains_seen >= r->min_domains &&
               (double)v->domains_seen / sig->n_domains >= r->min_fraction &&
               required_seen(sig, r, ev, n, clock, at);
}
