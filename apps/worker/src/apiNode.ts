/**
 * A plain API node on `node:http` over the same Redis as the workers: it accepts and answers, the
 * workers analyse. For trying the distributed setup and for its tests; a host app mounts
 * `Distributed.layerApi` in its own server (the Express or Hono adapter) the same way.
 *
 * Environment:
 * - `IDENTIFY_FACE_API_KEYS`: the bearer keys, comma-separated (required)
 * - `IDENTIFY_FACE_REDIS_URL` (default `redis://127.0.0.1:6379`), `IDENTIFY_FACE_REDIS_PREFIX`
 * - `HOST` (default `127.0.0.1`), `PORT` (default 8080; 0 picks a free one)
 * - `IDENTIFY_FACE_PUBLIC_URL`: the origin screenshot URLs start with (default: the request's)
 * - `IDENTIFY_FACE_ALLOW_CALLBACK_HOSTS`: `host:port`s a `callback_url` may name although local
 *   (tests on loopback only)
 *
 * The workers deliver `callback_url` webhooks, cancels' included: this node needs no webhook secret.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as Distributed from "@identify-face/bullmq/Distributed"
import * as Authenticator from "@identify-face/core/Authenticator"
import { serve } from "@identify-face/core/NodeHttp"
import * as Server from "@identify-face/core/Server"
import * as Layer from "effect/Layer"
import * as Settings from "./settings.js"

const env = process.env
const apiKeys = (env.IDENTIFY_FACE_API_KEYS ?? "").split(",").map((key) => key.trim()).filter((key) => key !== "")
if (apiKeys.length === 0) throw new Error("identify-face: IDENTIFY_FACE_API_KEYS must name at least one bearer key")
const host = env.HOST || "127.0.0.1"
const port = Settings.integer(env, "PORT", 8080, 0)

const api = Server.layerOver({ config: { publicUrl: env.IDENTIFY_FACE_PUBLIC_URL || undefined } }).pipe(
  Layer.provide(Distributed.layerApi({ ...Settings.redis(env), allowCallbackHost: Settings.allowCallbackHost(env) })),
  Layer.provide(Authenticator.layerKeys(apiKeys))
)

const handler = await Server.makeWebHandlerReady(api)
const server = createServer((incoming, outgoing) => {
  const url = new URL(incoming.url ?? "/", `http://${incoming.headers.host ?? host}`)
  serve(incoming, outgoing, url.href, handler.handle).catch(() => outgoing.destroy())
})
server.listen(port, host, () => {
  const { port: listening } = server.address() as AddressInfo
  console.log(`identify-face API node: listening on http://${host}:${listening}`)
})

const stop = () => {
  server.closeAllConnections()
  server.close(() => void handler.dispose())
}
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
