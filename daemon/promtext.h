/*
 * promtext.h - the Prometheus text exposition of haystack's counters.
 * Every family is written whole (HELP, TYPE, samples) before the next one,
 * as the format requires.
 */
#ifndef HS_PROMTEXT_H
#define HS_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "collector.h"
#include "publisher.h"
#include "textbuf.h"

/* The HELP and TYPE lines that open a family ("counter" or "gauge"). */
void hs_prom_header(hs_textbuf *o, const char *name, const char *type,
                    const char *help);

/* One sample with one label; the label value is escaped. */
void hs_prom_labelled(hs_textbuf *o, const char *name, const char *label,
                      const char *value, uint64_t n);

/* One unlabelled sample with its HELP and TYPE ("counter" or "gauge"). */
void hs_prom_value(hs_textbuf *o, const char *name, const char *type,
                   const char *help, double value);

/* Collector-wide and per-exporter decode counters of n collectors (one
 * per worker), summed. */
void hs_prom_collector(hs_textbuf *o, hs_collector *const *c, size_t n);

/* The Redis publisher's counters. */
void hs_prom_publisher(hs_textbuf *o, const hs_publisher_stats *st);

#endif
