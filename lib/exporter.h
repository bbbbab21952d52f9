/*
 * exporter.h - one exporter session (library-internal; see collector.h).
 *
 * An exporter is one source address and port. It owns a libfixbuf session
 * and fBuf (templates of the same ID from two exporters must never meet),
 * the table of its templates with their last refresh (libfixbuf has no
 * template lifetime in this mode), and per observation domain the sampling
 * rate it announced and the sequence numbers seen.
 */
#ifndef HS_EXPORTER_H
#define HS_EXPORTER_H

#include <fixbuf/public.h>
#include <stdint.h>

#include "collector.h"
#include "fbrecord.h"
#include "wireplan.h"

/* What every exporter session shares with its collector. */
typedef struct hs_decode_env {
    fbInfoModel_t *model;
    uint32_t model_base;            /* elements before any exporter spoke */
    const hs_collector_conf *conf;
    hs_flow_sink sink;
    hs_flow *batch;                 /* scratch for one sink call */
    size_t batch_cap;
} hs_decode_env;

typedef struct hs_tmpl_entry {
    uint32_t domain;
    uint16_t tid;
    uint8_t is_options;
    uint32_t layout;                /* hash of the field specifiers */
    uint32_t min_len;               /* bytes of its shortest record */
    uint64_t seen_ms;
    hs_wireplan plan;               /* plan.rec_len 0: variable length */
} hs_tmpl_entry;

typedef struct hs_domain_state {
    uint32_t domain;
    uint32_t sampling;              /* announced; 0 = none yet */
    uint32_t override;              /* from the config; 0 = none */
    uint32_t next_seq;              /* what the exporter should send next */
    uint32_t fb_seq;                /* what libfixbuf expects next */
    uint8_t seq_known, fb_seq_known;
    uint8_t has_init;
    uint64_t init_ms;               /* announced exporter boot time */
} hs_domain_state;

/* Internal templates by layout: exporters use few distinct layouts. */
#define HS_MAX_LAYOUTS 32
typedef struct hs_layout_tid {
    uint32_t layout;
    uint16_t tid;
} hs_layout_tid;

typedef struct hs_exporter {
    hs_ip ip;
    uint16_t port;
    uint32_t id;
    fbSession_t *session;
    fBuf_t *fbuf;
    hs_decode_env *env;
    hs_tmpl_entry *tmpls;
    uint32_t n_tmpls, cap_tmpls;
    hs_domain_state *domains;
    uint32_t n_domains, cap_domains;
    hs_layout_tid layouts[HS_MAX_LAYOUTS];
    uint32_t n_layouts;
    uint64_t last_seen_ms;
    uint64_t now_ms;                /* arrival time of the current message */
    int msg_unknown;                /* current message had unknown sets */
    uint32_t tmpl_events;           /* templates libfixbuf added or freed */
    int msg_templates;              /* ... template or withdrawal records */
    int msg_unplanned;              /* ... sets of templates without a plan */
    hs_exporter_stats st;
    struct hs_exporter *lru_prev, *lru_next, *hash_next;
} hs_exporter;

hs_exporter *hs_exporter_new(hs_decode_env *env, const hs_ip *ip,
                             uint16_t port, uint32_t id);
void hs_exporter_free(hs_exporter *e);

/* Decodes one IPFIX message (a rewritten v9 one when v9 is non-NULL).
 * Returns flow records decoded or -HS_DROP_* (counted). */
int hs_exporter_decode(hs_exporter *e, uint8_t *msg, size_t len,
                       const hs_msg_clock *clock, const uint32_t *v9_seq,
                       uint64_t now_ms);

/* Drops templates not refreshed since now_ms - timeout_ms. */
void hs_exporter_expire(hs_exporter *e, uint64_t now_ms, uint64_t timeout_ms);

/* Recomputes the configured sampling overrides of every domain. */
void hs_exporter_apply_conf(hs_exporter *e);

#endif
