/*
 * Build information: Luxima's version and the versions of every library
 * linked into the binary, as one JSON object (for `GET /version`,
 * `luxima version` and the build_info metric).
 */
#include <stdio.h>

#include <cJSON.h>
#include <civetweb.h>
#include <lua.h>
#include <mbedtls/version.h>
#include <sodium.h>
#include <sqlite3.h>

#include "version.h"

#ifndef LUXIMA_VERSION
#define LUXIMA_VERSION "0.0.0"
#endif

const char *
lx_version(void)
{
	return (LUXIMA_VERSION);
}

void
lx_build_info(struct lx_buf *out)
{
	char mbed[32];

	mbedtls_version_get_string(mbed);
	lx_buf_addf(out,
	    "{\"name\":\"luxima\",\"version\":\"%s\",\"built\":\"%s %s\","
	    "\"compiler\":\"%s\",\"libraries\":{\"sqlite\":\"%s\","
	    "\"sqlcipher\":\"%s\",\"civetweb\":\"%s\",\"libsodium\":\"%s\","
	    "\"mbedtls\":\"%s\",\"lua\":\"%s\",\"cjson\":\"%s\"}}",
	    LUXIMA_VERSION, __DATE__, __TIME__, __VERSION__,
	    sqlite3_libversion(), LX_SQLCIPHER_VERSION, mg_version(),
	    sodium_version_string(), mbed,
	    LUA_VERSION_MAJOR "." LUA_VERSION_MINOR "." LUA_VERSION_RELEASE,
	    cJSON_Version());
}
