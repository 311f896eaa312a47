import { serve } from "@hono/node-server"
import type { Hono } from "hono"
import type { AddressInfo } from "node:net"

/** Serves `app` with @hono/node-server on 127.0.0.1 at a free port. */
export const listen = async (app: Hono) => {
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" })
  await new Promise((resolve) => server.once("listening", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
