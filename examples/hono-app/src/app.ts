/**
 * A Hono app with its own routes and the identify-face API routed under `/api`.
 */
import type { HttpApiServices } from "@identify-face/core/HttpApi"
import { identifyFace } from "@identify-face/hono"
import type { Layer } from "effect"
import { Hono } from "hono"

/** The app over the API's services: `NodeServer.layer(...)` in production, `TestServer.layer(...)` in tests. */
export const makeApp = (services: Layer.Layer<HttpApiServices>) => {
  const api = identifyFace({ layer: services })
  const app = new Hono()
  app.route("/api", api)
  app.get("/status", (c) => c.json({ service: "clip-studio", faces: "/api/model/v1/generation" }))
  return { app, close: api.close }
}
