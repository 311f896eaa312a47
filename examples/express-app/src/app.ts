/**
 * An Express app with its own routes and the identify-face API mounted under `/api`.
 */
import type { HttpApiServices } from "@identify-face/core/HttpApi"
import { identifyFace } from "@identify-face/express"
import type { Layer } from "effect"
import express from "express"

/** The app over the API's services: `NodeServer.layer(...)` in production, `TestServer.layer(...)` in tests. */
export const makeApp = (services: Layer.Layer<HttpApiServices>) => {
  const api = identifyFace({ layer: services })
  const app = express()
  // Before any body parser: the API streams request bodies itself.
  app.use("/api", api)
  app.use(express.json())
  app.get("/status", (_request, response) => void response.json({ service: "clip-studio", faces: "/api/model/v1/generation" }))
  return { app, close: api.close }
}
