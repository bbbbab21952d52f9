/*
 * redis_uv.h - runs a hiredis asynchronous context on a libuv loop.
 *
 * hiredis 0.14 (Debian 12) ships an adapter for this,
 * <hiredis/adapters/libuv.h>, but it ignores the error status of libuv's
 * poll callback: libuv reports a socket error (a refused connect, a
 * connection reset by a dying server) that way and stops polling, and the
 * context then waits forever instead of failing. This adapter hands such an
 * error to hiredis as a read, which makes hiredis fetch the socket error and
 * fail the connect or the connection through its usual callbacks.
 */
#ifndef HS_REDIS_UV_H
#define HS_REDIS_UV_H

#include <hiredis/async.h>
#include <uv.h>

/* Returns 0, -EEXIST when ac is attached already, -ENOMEM, or libuv's
 * error when the socket cannot be watched. hiredis undoes it when it frees
 * ac. */
int hs_redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop);

#endif
