import { identifyFace as expressIdentifyFace } from "@identify-face/express"
import { identifyFace } from "@identify-face/hono"
import { TestServer } from "@identify-face/testing"
import { runParityTest, startTestServer } from "@identify-face/testing/Conformance"
import express from "express"
import { Hono } from "hono"
import { describe } from "vitest"
import { listen } from "./helpers.js"

describe("every implementation answers alike", () => {
  runParityTest({
    "the double's server": startTestServer,
    "Express at /api": async (options) => {
      const api = expressIdentifyFace({ layer: TestServer.layer(options) })
      const server = await TestServer.listen(express().use("/api", api))
      return { baseUrl: `${server.url}/api`, close: () => server.close().then(api.close) }
    },
    "Hono at /v1": async (options) => {
      const api = identifyFace({ layer: TestServer.layer(options) })
      const server = await listen(new Hono().route("/v1", api))
      return { baseUrl: `${server.url}/v1`, close: () => server.close().then(api.close) }
    }
  })
})
