/*
 * textbuf.h - a growing text buffer for building responses (metrics).
 */
#ifndef HS_TEXTBUF_H
#define HS_TEXTBUF_H

#include <stddef.h>

typedef struct hs_textbuf {
    char *data;
    size_t len, cap;
    int failed;             /* an allocation failed; data is truncated */
} hs_textbuf;

void hs_textbuf_printf(hs_textbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void hs_textbuf_free(hs_textbuf *b);

#endif
