/*
 * exporter.c - one exporter session: template table, observation domains,
 * and the decode loop.
 *
 * Order of work for a message: find the domain state (capped, because
 * libfixbuf grows a hash table per domain it sees), scan the message
 * (ipfix_scan.c validates it and reports templates, which we keep in our own
 * table for lifetime, caps and change detection, with a wire plan for each
 * fixed-length one), account sequence numbers, then decode the records. A
 * message with templates, or with records of a variable-length template,
 * goes to libfixbuf, which transcodes each record into the internal
 * template its exporter template was classified for. Every other message,
 * a steady export's data, is decoded by the plans alone (wireplan.c) into
 * the same packed records; libfixbuf never sees it.
 */
#include "exporter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipfix_scan.h"
#include "wire.h"

/* A hostile exporter must not grow the shared information model forever:
 * templates that would add more unknown elements than this are refused. */
#define HS_MAX_ALIEN_ELEMENTS 4096
/* No IPFIX message holds more records than bytes. */
#define HS_MAX_RECORDS_PER_MSG HS_MAX_MSG

/* libfixbuf frees a template's info with the template (replaced, withdrawn,
 * expired); read_record needs to know whether that happened under it. */
static void tmpl_info_free(void *tmpl_ctx, void *app_ctx)
{
    hs_exporter *e = app_ctx;
    e->tmpl_events++;
    free(tmpl_ctx);
}

/* Internal template IDs: three fixed ones made with the session, then one
 * per distinct layout an exporter's templates need. */
#define HS_TID_IGNORE 0xF001
#define HS_TID_FLOW_ALL 0xF002
#define HS_TID_OPTIONS_ALL 0xF003
#define HS_TID_LAYOUT_BASE 0xF100

/* The internal template for info's layout: shared by every exporter
 * template with that layout, or the widest one once an exporter has used
 * HS_MAX_LAYOUTS (so hostile template churn cannot grow the session). */
static uint16_t internal_tid(hs_exporter *e, hs_tmpl_info *info)
{
    if (info->kind == HS_REC_IGNORE)
        return HS_TID_IGNORE;
    for (uint32_t i = 0; i < e->n_layouts; i++)
        if (e->layouts[i].layout == info->layout)
            return e->layouts[i].tid;
    uint16_t tid = (uint16_t)(HS_TID_LAYOUT_BASE + e->n_layouts);
    if (e->n_layouts < HS_MAX_LAYOUTS &&
        hs_fbrec_add_internal(e->session, info, tid) == 0) {
        e->layouts[e->n_layouts++] = (hs_layout_tid){info->layout, tid};
        return tid;
    }
    hs_fbrec_widen(info);
    return info->kind == HS_REC_FLOW ? HS_TID_FLOW_ALL : HS_TID_OPTIONS_ALL;
}

/* libfixbuf callback: a template was accepted; remember what it carries. */
static void on_new_template(fbSession_t *session, uint16_t tid,
                            fbTemplate_t *tmpl, void *app_ctx,
                            void **tmpl_ctx, fbTemplateCtxFree_fn *free_fn)
{
    (void)session, (void)tid;
    ((hs_exporter *)app_ctx)->tmpl_events++;
    hs_tmpl_info *info = malloc(sizeof(*info));
    if (info) {
        hs_fbrec_classify(tmpl, info);
        info->int_tid = internal_tid(app_ctx, info);
    }
    *tmpl_ctx = info;
    *free_fn = tmpl_info_free;
}

static int add_fixed_internal(fbSession_t *session)
{
    hs_tmpl_info ignore = {.kind = HS_REC_IGNORE, .layout = HS_BIT(HS_F_PROTO)};
    hs_tmpl_info flows = {.kind = HS_REC_FLOW}, options = {.kind = HS_REC_OPTIONS};
    hs_fbrec_widen(&flows);
    hs_fbrec_widen(&options);
    if (hs_fbrec_add_internal(session, &ignore, HS_TID_IGNORE) < 0 ||
        hs_fbrec_add_internal(session, &flows, HS_TID_FLOW_ALL) < 0 ||
        hs_fbrec_add_internal(session, &options, HS_TID_OPTIONS_ALL) < 0)
        return -ENOMEM;
    return 0;
}

hs_exporter *hs_exporter_new(hs_decode_env *env, const hs_ip *ip,
                             uint16_t port, uint32_t id)
{
    hs_exporter *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->ip = *ip;
    e->port = port;
    e->id = id;
    e->env = env;
    e->session = fbSessionAlloc(env->model);
    if (add_fixed_internal(e->session) < 0) {
        fbSessionFree(e->session);
        free(e);
        return NULL;
    }
    fbSessionAddNewTemplateCallback(e->session, on_new_template, e);
    e->fbuf = fBufAllocForCollection(e->session, NULL);
    fBufSetAutomaticMode(e->fbuf, FALSE);
    return e;
}

void hs_exporter_free(hs_exporter *e)
{
    if (!e)
        return;
    fBufFree(e->fbuf); /* frees the session and its templates */
    free(e->tmpls);
    free(e->domains);
    free(e);
}

/* ---- observation domains ---------------------------------------------- */

/* An override for this very domain beats one for the whole exporter. */
static uint32_t override_for(const hs_exporter *e, uint32_t domain)
{
    const hs_collector_conf *conf = e->env->conf;
    uint32_t rate = 0;
    for (size_t i = 0; i < conf->n_overrides; i++) {
        const hs_sampling_override *o = &conf->overrides[i];
        if (memcmp(&o->exporter, &e->ip, sizeof(e->ip)) != 0)
            continue;
        if (!o->any_domain && o->domain == domain)
            return o->rate;
        if (o->any_domain)
            rate = o->rate;
    }
    return rate;
}

void hs_exporter_apply_conf(hs_exporter *e)
{
    for (uint32_t i = 0; i < e->n_domains; i++)
        e->domains[i].override = override_for(e, e->domains[i].domain);
}

static hs_domain_state *domain_get(hs_exporter *e, uint32_t domain)
{
    for (uint32_t i = 0; i < e->n_domains; i++)
        if (e->domains[i].domain == domain)
            return &e->domains[i];
    if (e->n_domains == e->env->conf->max_domains)
        return NULL;
    if (e->n_domains == e->cap_domains) {
        uint32_t cap = e->cap_domains ? e->cap_domains * 2 : 2;
        hs_domain_state *d = realloc(e->domains, cap * sizeof(*d));
        if (!d)
            return NULL;
        e->domains = d;
        e->cap_domains = cap;
    }
    hs_domain_state *ds = &e->domains[e->n_domains++];
    memset(ds, 0, sizeof(*ds));
    ds->domain = domain;
    ds->override = override_for(e, domain);
    return ds;
}

/* ---- template table ---------------------------------------------------- */

static int tmpl_find(const hs_exporter *e, uint32_t domain, uint16_t tid)
{
    for (uint32_t i = 0; i < e->n_tmpls; i++)
        if (e->tmpls[i].tid == tid && e->tmpls[i].domain == domain)
            return (int)i;
    return -1;
}

/* Removes entry i from our table and from libfixbuf's session. */
static void tmpl_remove(hs_exporter *e, uint32_t i)
{
    GError *err = NULL;
    fbSessionSetDomain(e->session, e->tmpls[i].domain);
    if (!fbSessionRemoveTemplate(e->session, FALSE, e->tmpls[i].tid, &err))
        g_clear_error(&err); /* libfixbuf had refused it: nothing to undo */
    e->tmpls[i] = e->tmpls[--e->n_tmpls];
}

/* At the cap a new template is refused, not swapped for an old one: a
 * flood of templates must not push out the ones in use. */
static hs_tmpl_entry *tmpl_add(hs_exporter *e)
{
    if (e->n_tmpls >= e->env->conf->max_templates)
        return NULL;
    if (e->n_tmpls == e->cap_tmpls) {
        uint32_t cap = e->cap_tmpls ? e->cap_tmpls * 2 : 4;
        hs_tmpl_entry *t = realloc(e->tmpls, cap * sizeof(*t));
        if (!t)
            return NULL;
        e->tmpls = t;
        e->cap_tmpls = cap;
    }
    return &e->tmpls[e->n_tmpls++];
}

void hs_exporter_expire(hs_exporter *e, uint64_t now_ms, uint64_t timeout_ms)
{
    for (uint32_t i = 0; i < e->n_tmpls;) {
        if (e->tmpls[i].seen_ms + timeout_ms <= now_ms) {
            tmpl_remove(e, i);
            e->st.templates_expired++;
        } else {
            i++;
        }
    }
}

/* ---- scan callbacks ---------------------------------------------------- */

static uint32_t layout_hash(const uint8_t *rec, size_t len, int is_options)
{
    uint32_t h = 2166136261u ^ (uint32_t)is_options;
    for (size_t i = 2; i < len; i++) /* everything but the template ID */
        h = (h ^ rec[i]) * 16777619u;
    return h;
}

/* Would this template add elements the information model does not know,
 * while the model already holds too many such elements? */
static int adds_too_many_elements(hs_exporter *e, const uint8_t *rec,
                                  size_t len, int is_options)
{
    fbInfoModel_t *m = e->env->model;
    if (fbInfoModelCountElements(m) < e->env->model_base + HS_MAX_ALIEN_ELEMENTS)
        return 0;
    for (size_t off = is_options ? 6 : 4; off + 4 <= len; off += 4) {
        uint16_t num = hs_rd16(rec + off);
        uint32_t pen = 0;
        if (num & HS_ENTERPRISE_BIT) {
            off += 4;
            pen = hs_rd32(rec + off);
        }
        if (!fbInfoModelGetElementByID(m, num & 0x7fff, pen))
            return 1;
    }
    return 0;
}

/* Whether a field of flen bytes can carry element ie. RFC 7011 6.2 lets
 * numbers be sent shorter than their type (a 4-byte octetDeltaCount) and
 * nothing else; libfixbuf only warns about other lengths, then sizes
 * records by one length and copies them by another, reading past the
 * message (found by fuzz_datagram: a 257-byte flowEndReason, a 16-byte
 * field of an unknown element first seen with 258). */
static int field_fits(const fbInfoElement_t *ie, uint16_t flen)
{
    if (flen == ie->len || flen == FB_IE_VARLEN || ie->len == FB_IE_VARLEN)
        return 1;
    if (ie->type >= FB_UINT_8 && ie->type <= FB_INT_64)
        return flen < ie->len;
    return ie->type == FB_FLOAT_64 && flen == 4;
}

static int has_misfit_field(hs_exporter *e, const uint8_t *rec, size_t len,
                            int is_options)
{
    for (size_t off = is_options ? 6 : 4; off + 4 <= len; off += 4) {
        uint16_t num = hs_rd16(rec + off), flen = hs_rd16(rec + off + 2);
        uint32_t pen = 0;
        if (num & HS_ENTERPRISE_BIT) {
            off += 4;
            pen = hs_rd32(rec + off);
        }
        const fbInfoElement_t *ie =
            fbInfoModelGetElementByID(e->env->model, num & 0x7fff, pen);
        if (ie && !field_fits(ie, flen))
            return 1;
    }
    return 0;
}

/* A variable-length field takes at least its one length byte. */
static uint32_t min_record_len(const uint8_t *rec, size_t len, int is_options)
{
    uint32_t n = 0;
    for (size_t off = is_options ? 6 : 4; off + 4 <= len; off += 4) {
        uint16_t flen = hs_rd16(rec + off + 2);
        n += flen == FB_IE_VARLEN ? 1 : flen;
        if (hs_rd16(rec + off) & HS_ENTERPRISE_BIT)
            off += 4;
    }
    return n;
}

/* A new template, or a refresh (the same or another layout) of a known
 * one: the entry, its plan included, is rebuilt from the record each time
 * (the layout hash only tells a change apart for the counter). A template
 * without a plan (a variable-length field) leaves its records to
 * libfixbuf. */
static int on_template(void *ctx, uint32_t domain, uint16_t tid,
                       const uint8_t *rec, size_t len, int is_options)
{
    hs_exporter *e = ctx;
    if (has_misfit_field(e, rec, len, is_options))
        return HS_SCAN_INVALID;
    uint32_t layout = layout_hash(rec, len, is_options);
    e->msg_templates = 1;
    int i = tmpl_find(e, domain, tid);
    hs_tmpl_entry *t;
    if (i >= 0) {
        t = &e->tmpls[i];
        if (t->layout != layout)
            e->st.templates_changed++;
    } else {
        if (adds_too_many_elements(e, rec, len, is_options) || !(t = tmpl_add(e)))
            return HS_SCAN_REFUSE;
        t->domain = domain;
        t->tid = tid;
    }
    t->is_options = (uint8_t)is_options;
    t->layout = layout;
    t->min_len = min_record_len(rec, len, is_options);
    t->seen_ms = e->now_ms;
    hs_wireplan_build(rec, len, is_options, &t->plan);
    return HS_SCAN_KEEP;
}

static void on_withdraw(void *ctx, uint32_t domain, uint16_t tid)
{
    hs_exporter *e = ctx;
    e->msg_templates = 1;
    int all = tid == HS_IPFIX_SET_TEMPLATE || tid == HS_IPFIX_SET_OPTIONS;
    for (uint32_t i = 0; i < e->n_tmpls;) {
        const hs_tmpl_entry *t = &e->tmpls[i];
        int hit = t->domain == domain &&
                  (all ? t->is_options == (tid == HS_IPFIX_SET_OPTIONS)
                       : t->tid == tid);
        if (hit) {
            tmpl_remove(e, i);
            e->st.templates_withdrawn++;
        } else {
            i++;
        }
    }
}

/* A data set too short for one record is stripped: libfixbuf, given two
 * such sets in a row, reads a whole record from the second one past the
 * end of the message (found by fuzz_datagram). */
static int on_data_set(void *ctx, uint32_t domain, uint16_t tid,
                       size_t body_len)
{
    hs_exporter *e = ctx;
    int i = tmpl_find(e, domain, tid);
    if (i < 0) {
        e->st.unknown_template_sets++;
        e->msg_unknown = 1;
        return 0;
    }
    const hs_tmpl_entry *t = &e->tmpls[i];
    if (body_len < t->min_len)
        return 1;
    if (t->plan.rec_len == 0)
        e->msg_unplanned = 1;
    return 0;
}

static const hs_scan_ops scan_ops = {on_template, on_withdraw, on_data_set};

/* ---- sequence numbers ---------------------------------------------------- */

static void account_sequence(hs_exporter *e, hs_domain_state *ds, uint32_t seq)
{
    if (ds->seq_known && seq != ds->next_seq) {
        uint32_t gap = seq - ds->next_seq;
        e->st.sequence_gaps++;
        if (gap < 0x80000000u) /* ahead: lost; behind: reordered or restart */
            e->st.sequence_lost += gap;
    }
}

/* libfixbuf warns on every sequence mismatch it sees; we count gaps
 * ourselves (v9 counts packets, which libfixbuf would take for records), so
 * we hand it the number it expects. */
static void set_fb_sequence(hs_domain_state *ds, uint8_t *msg)
{
    if (ds->fb_seq_known)
        hs_wr32(msg + 8, ds->fb_seq);
}

/* After a message: the number the exporter should send next. Once a
 * message was only partly read, IPFIX's count of records is unknown. */
static void advance_sequence(hs_exporter *e, hs_domain_state *ds, uint32_t seq,
                             uint32_t records, int is_v9, int failed)
{
    ds->next_seq = seq + (is_v9 ? 1 : records);
    ds->seq_known = is_v9 || (!failed && !e->msg_unknown);
}

/* After a message libfixbuf read: it advanced its expectation by the
 * records it read, but only when it reached the end of the message.
 * Messages it never sees leave its expectation as it was. */
static void advance_fb_sequence(hs_domain_state *ds, uint32_t fb_seq_sent,
                                uint32_t records, int eom, int failed)
{
    ds->fb_seq = fb_seq_sent + (eom ? records : 0);
    ds->fb_seq_known = (uint8_t)!failed;
}

/* ---- records ------------------------------------------------------------ */

typedef struct msg_ctx {
    hs_exporter *e;
    hs_domain_state *ds;
    hs_msg_clock clock;
    size_t n_batch;
    int flows;
} msg_ctx;

static void flush_batch(msg_ctx *m)
{
    if (m->n_batch) {
        m->e->env->sink.fn(m->e->env->sink.ctx, m->e->env->batch, m->n_batch);
        m->n_batch = 0;
    }
}

static uint32_t effective_sampling(const msg_ctx *m, uint32_t own)
{
    if (m->ds->override)
        return m->ds->override;
    if (own)
        return own;
    if (m->ds->sampling)
        return m->ds->sampling;
    return m->e->env->conf->default_sampling;
}

static void emit_flow(msg_ctx *m, const uint8_t *rec, const hs_tmpl_info *info)
{
    hs_flow *f = &m->e->env->batch[m->n_batch++];
    hs_fbrec_to_flow(rec, info, &m->clock, f);
    f->sampling = effective_sampling(m, hs_fbrec_sampling_rate(rec, info));
    f->exporter_id = m->e->id;
    f->obs_domain = m->ds->domain;
    m->flows++;
    if (m->n_batch == m->e->env->batch_cap)
        flush_batch(m);
}

static void apply_options(msg_ctx *m, const uint8_t *rec,
                          const hs_tmpl_info *info)
{
    uint32_t rate = hs_fbrec_sampling_rate(rec, info);
    uint64_t init_ms = hs_fbrec_init_ms(rec, info);
    if (rate)
        m->ds->sampling = rate;
    if (init_ms) {
        m->ds->init_ms = m->clock.init_ms = init_ms;
        m->ds->has_init = m->clock.has_init = 1;
    }
}

/* ---- the planned path: haystack's own decoder ------------------------- */

/* Decodes the records of one data set of template t; returns how many. */
static uint32_t decode_set(msg_ctx *m, const hs_tmpl_entry *t,
                           const uint8_t *body, size_t len)
{
    const hs_wireplan *plan = &t->plan;
    uint32_t n = (uint32_t)(len / plan->rec_len); /* a partial one is padding */
    if (plan->info.kind == HS_REC_IGNORE) {
        m->e->st.ignored_records += n;
        return n;
    }
    _Alignas(8) uint8_t rec[HS_FBREC_MAX];
    for (uint32_t i = 0; i < n; i++, body += plan->rec_len) {
        hs_wireplan_unpack(plan, body, rec);
        if (plan->info.kind == HS_REC_FLOW) {
            emit_flow(m, rec, &plan->info);
        } else {
            apply_options(m, rec, &plan->info);
            m->e->st.options_records++;
        }
    }
    return n;
}

/* Decodes a message without templates whose data sets all have plans.
 * The scan has validated every set length and stripped the sets that
 * cannot hold a record; sets of unknown templates it counted. Returns the
 * records read. */
static uint32_t decode_planned(msg_ctx *m, const uint8_t *msg, size_t len)
{
    uint32_t records = 0;
    size_t set_len;
    for (size_t off = HS_IPFIX_HDR_LEN; len - off >= HS_SET_HDR_LEN;
         off += set_len) {
        uint16_t id = hs_rd16(msg + off);
        set_len = hs_rd16(msg + off + 2);
        int i = id >= HS_MIN_DATA_SET ? tmpl_find(m->e, m->ds->domain, id) : -1;
        if (i >= 0)
            records += decode_set(m, &m->e->tmpls[i], msg + off + HS_SET_HDR_LEN,
                                  set_len - HS_SET_HDR_LEN);
    }
    return records;
}

/* ---- the libfixbuf path ------------------------------------------------- */

/* Reads one record of the template libfixbuf reports next. Returns 1 when a
 * record was read, 0 at the end of the message, -1 on a libfixbuf error. */
static int read_record(msg_ctx *m)
{
    hs_exporter *e = m->e;
    GError *err = NULL;
    uint16_t ext_tid;
    fbTemplate_t *t = fBufNextCollectionTemplate(e->fbuf, &ext_tid, &err);
    if (!t) {
        int eom = g_error_matches(err, FB_ERROR_DOMAIN, FB_ERROR_EOM);
        g_clear_error(&err);
        return eom ? 0 : -1;
    }
    const hs_tmpl_info *info = fbTemplateGetContext(t);
    hs_rec_kind kind = info ? info->kind : HS_REC_IGNORE;
    _Alignas(8) uint8_t rec[HS_FBREC_MAX];
    size_t len = sizeof(rec);
    uint32_t events = e->tmpl_events;
    if (!fBufSetInternalTemplate(e->fbuf, info ? info->int_tid : HS_TID_IGNORE,
                                 &err) ||
        !fBufNext(e->fbuf, rec, &len, &err)) {
        g_clear_error(&err);
        return -1;
    }
    /* fBufNext skips a data set too short for one record by itself and
     * reads from the next one, past any template set in between: the record
     * may then be of another template than t, or t (and info) may have been
     * replaced and freed. Such a record cannot be trusted, nor the rest of
     * the message (found by fuzz_datagrams). */
    uint16_t read_tid;
    if (e->tmpl_events != events ||
        !fBufGetCollectionTemplate(e->fbuf, &read_tid) || read_tid != ext_tid)
        return -1;
    if (kind == HS_REC_FLOW) {
        emit_flow(m, rec, info);
    } else if (kind == HS_REC_OPTIONS) {
        apply_options(m, rec, info);
        e->st.options_records++;
    } else {
        e->st.ignored_records++;
    }
    return 1;
}

static int drop(hs_exporter *e, hs_drop reason)
{
    e->st.drops[reason]++;
    e->st.decode_errors++;
    return -(int)reason;
}

/* Has libfixbuf read the message: its templates, then record by record.
 * Returns 0 when it read to the end, 1 when it stopped early (an error, or
 * the cap), -1 when it refused the message; *records says how many it
 * read. */
static int decode_fixbuf(msg_ctx *m, uint8_t *msg, size_t len,
                         uint32_t *records)
{
    hs_exporter *e = m->e;
    set_fb_sequence(m->ds, msg);
    uint32_t fb_seq_sent = hs_rd32(msg + 8);
    GError *err = NULL;
    fBufSetBuffer(e->fbuf, msg, len);
    if (!fBufNextMessage(e->fbuf, &err)) {
        g_clear_error(&err);
        return -1;
    }
    int rc = 1;
    *records = 0;
    while (*records < HS_MAX_RECORDS_PER_MSG && (rc = read_record(m)) > 0)
        (*records)++;
    advance_fb_sequence(m->ds, fb_seq_sent, *records, rc == 0, rc != 0);
    return rc != 0;
}

/* Messages with templates (or withdrawals) and those with records of a
 * template that has no plan go through libfixbuf, which must see every
 * template; the others, nearly all of a steady export, never enter it. */
int hs_exporter_decode(hs_exporter *e, uint8_t *msg, size_t len,
                       const hs_msg_clock *clock, const uint32_t *v9_seq,
                       uint64_t now_ms)
{
    e->now_ms = now_ms;
    e->msg_unknown = e->msg_templates = e->msg_unplanned = 0;
    if (len < HS_IPFIX_HDR_LEN)
        return drop(e, HS_DROP_TRUNCATED);
    hs_domain_state *ds = domain_get(e, hs_rd32(msg + 12));
    if (!ds)
        return drop(e, HS_DROP_DOMAIN_LIMIT);
    hs_scan_result sr;
    int rc = hs_ipfix_scan(msg, &len, &scan_ops, e, &sr);
    e->st.bad_templates += sr.bad_templates;
    e->st.templates_refused += sr.refused;
    if (rc < 0)
        return drop(e, (hs_drop)-rc);

    uint32_t seq = v9_seq ? *v9_seq : sr.sequence;
    account_sequence(e, ds, seq);
    msg_ctx m = {e, ds, {(uint64_t)sr.export_time * 1000, ds->init_ms, 0,
                         ds->has_init, 0}, 0, 0};
    if (clock) {
        m.clock.sys_uptime_ms = clock->sys_uptime_ms;
        m.clock.has_uptime = clock->has_uptime;
    }
    uint32_t records;
    int failed = 0;
    if (e->msg_templates || e->msg_unplanned) {
        if ((failed = decode_fixbuf(&m, msg, len, &records)) < 0)
            return drop(e, HS_DROP_LIBFIXBUF);
    } else {
        records = decode_planned(&m, msg, len);
    }
    flush_batch(&m);
    advance_sequence(e, ds, seq, records, v9_seq != NULL, failed);
    e->st.records += (uint64_t)m.flows;
    if (failed) {
        e->st.drops[HS_DROP_LIBFIXBUF]++;
        e->st.decode_errors++;
    }
    return m.flows;
}
