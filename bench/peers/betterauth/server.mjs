// The peer stack bench/auth.sh and bench/tenants.sh measure Luxima against:
// Node + Hono + Better-Auth (email and password, and the organization plugin
// with its defaults: organizations, members, invitations, no teams) on
// PostgreSQL through a pg Pool, one Node process, as deployed. The tables
// are bench/peers/betterauth/schema.sql. Configuration comes from the
// environment:
//
//   PORT            listen port on 127.0.0.1 (required)
//   DATABASE_URL    postgres://user@127.0.0.1:PORT/db (required)
//   PG_POOL         pg Pool size (default 10, pg's own default)
//   BETTER_AUTH_SECRET  session-signing secret (required in production)
//   RATE_LIMIT      "off" disables Better-Auth's built-in rate limiter, which
//                   is on in production and allows 3 sign-ins per 10 s per
//                   address (100 requests per 10 s for other routes); a
//                   throughput benchmark needs it off.
//
// Run with NODE_ENV=production from a folder whose node_modules holds the
// packages pinned in package.json beside this file.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { betterAuth } from "better-auth";
import { organization } from "better-auth/plugins";
import pg from "pg";

const port = Number(process.env.PORT);
if (!port || !process.env.DATABASE_URL) {
	console.error("server.mjs: PORT and DATABASE_URL are required");
	process.exit(2);
}
const pool = new pg.Pool({
	connectionString: process.env.DATABASE_URL,
	max: Number(process.env.PG_POOL || 10),
});
const baseURL = `http://127.0.0.1:${port}`;

const auth = betterAuth({
	baseURL,
	secret: process.env.BETTER_AUTH_SECRET,
	database: pool,
	emailAndPassword: { enabled: true },
	rateLimit: { enabled: process.env.RATE_LIMIT !== "off" },
	telemetry: { enabled: false },
	trustedOrigins: [baseURL],
	plugins: [organization()],
});

const app = new Hono();
app.get("/", (c) => c.text("ok"));
app.on(["GET", "POST"], "/api/auth/*", (c) => auth.handler(c.req.raw));

const server = serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, (info) => {
	console.log(`betterauth peer on http://127.0.0.1:${info.port} (node ${process.version}, pool ${pool.options.max})`);
});

const stop = () => {
	server.close();
	pool.end().finally(() => process.exit(0));
	setTimeout(() => process.exit(0), 2000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
