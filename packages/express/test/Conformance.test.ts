import { identifyFace } from "@identify-face/express"
import { TestServer } from "@identify-face/testing"
import { runConformanceSuite } from "@identify-face/testing/Conformance"
import express from "express"

runConformanceSuite({
  name: "Express, mounted at /api beside the app's own routes",
  start: async (options) => {
    const api = identifyFace({ layer: TestServer.layer(options) })
    const app = express()
    app.get("/api/hello", (_req, res) => void res.send("hello"))
    app.use("/api", api)
    const server = await TestServer.listen(app)
    return { baseUrl: `${server.url}/api`, close: () => server.close().then(api.close) }
  }
})
