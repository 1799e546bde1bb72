/*
 * The one table of modules. The server registers every module's routes and
 * runs every init in this order; `luxima openapi routes` lists them. A new
 * module adds one line here and nothing else in the core.
 */
#include <stddef.h>

#include "auth.h"
#include "billing.h"
#include "core.h"
#include "functions.h"
#include "mail.h"
#include "plugins.h"
#include "tenants.h"
#include "webhooks.h"

const struct lx_module *const lx_modules[] = {
	&lx_core_module,
	&auth_module,
	&gotrue_module, /* after auth: uses its keys and settings */
	&mail_module,
	&tenants_module,
	&webhooks_module, /* after tenants: tenant-context routes */
	&billing_module,
	&functions_module, /* after billing: quotas and the meter */
	&plugins_module, /* after functions: its sandbox pool */
	NULL,
};
