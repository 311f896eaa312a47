import { identifyFace } from "@identify-face/hono"
import { TestServer } from "@identify-face/testing"
import { runConformanceSuite } from "@identify-face/testing/Conformance"
import { Hono } from "hono"
import { listen } from "./helpers.js"

runConformanceSuite({
  name: "Hono on @hono/node-server, routed at /v1 beside the app's own routes",
  start: async (options) => {
    const api = identifyFace({ layer: TestServer.layer(options) })
    const app = new Hono()
    app.get("/v1/hello", (c) => c.text("hello"))
    app.route("/v1", api)
    const server = await listen(app)
    return { baseUrl: `${server.url}/v1`, close: () => server.close().then(api.close) }
  }
})
